/**
 * @resnet/run-dir — the run directory's one home: its layout, every record as an io-ts codec
 * (config, metrics, latest, progress, evaluation, stop record, tensor manifest) with its writer
 * and validating reader, the lifecycle (create, claim, restart, open), where a run stands, checkpoints, and tensors
 * as named `Float32Array`s. Node `fs`, no tfjs: the report, the web app and the sweep read runs
 * without loading a tensor library; training converts its variables to and from these arrays.
 * @module
 */
export * from './codec.ts';
export * from './layout.ts';
export * from './errors.ts';
export * from './config.ts';
export * from './metrics.ts';
export * from './latest.ts';
export * from './tensors.ts';
export * from './checkpoint.ts';
export * from './lifecycle.ts';
export * from './progress.ts';
export * from './stop_record.ts';
export * from './standing.ts';
export * from './evaluation.ts';
export * from './bench.ts';
