/**
 * @resnet/files — writing files safely: one atomic, durable writer for files and folders, a
 * check that an output path can be written before work starts, and system errors (a full disk,
 * a read-only mount, a port in use) as typed values with one plain sentence each. Node `fs`
 * only, no tfjs: every app and lib that writes uses it.
 * @module
 */
export * from './atomic.ts';
export * from './write_steps.ts';
export * from './dir_lock.ts';
export * from './output_path.ts';
export * from './proc_stat.ts';
export * from './system_error.ts';
