/**
 * @resnet/training — training a @resnet/tfjs model on Fashion-MNIST: the input pipeline,
 * learning-rate schedules, cross-entropy, SGD (momentum, Nesterov, weight decay), the
 * epoch loop with checkpoints and resume, and evaluation. Schedules and protocols are
 * @resnet/recipe's, the run directory's format @resnet/run-dir's.
 * @module
 */
export * from './pipeline.ts';
export * from './loss.ts';
export * from './sgd.ts';
export * from './tensor_file.ts';
export * from './checkpoint.ts';
export * from './loop.ts';
export * from './run.ts';
