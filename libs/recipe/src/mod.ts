/**
 * @resnet/recipe — how a network is trained, as data: learning-rate schedules (and the rate at
 * any step), the named protocols (the seed report's and ours), the precision convolutions
 * compute in, and the spec a run's settings name. Pure: no tfjs, no I/O; training, the run
 * directory's records, the report and the web app share it.
 * @module
 */
export * from './schedule.ts';
export * from './protocol.ts';
export * from './precision.ts';
export * from './run_spec.ts';
