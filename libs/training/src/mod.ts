/**
 * @resnet/training — training a @resnet/tfjs model on Fashion-MNIST: the input pipeline,
 * learning-rate schedules, cross-entropy, SGD (momentum, Nesterov, weight decay), the
 * epoch loop with checkpoints and resume, evaluation, and the run-directory format.
 * @module
 */
export * from './pipeline.ts';
export * from './schedule.ts';
export * from './protocol.ts';
export * from './loss.ts';
export * from './sgd.ts';
export * from './tensor_file.ts';
export * from './run_config.ts';
export * from './evaluation_file.ts';
export * from './run_dir.ts';
export * from './stop_record.ts';
export * from './progress_file.ts';
export * from './loop.ts';
export * from './run.ts';
