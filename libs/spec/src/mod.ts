/**
 * @resnet/spec — layer specs as data and pure folds over them (shapes, the weight schema,
 * parameters, multiply-accumulates). No tfjs, no I/O.
 * @module
 */
export * from './layer.ts';
export * from './spec_error.ts';
export * from './output_size.ts';
export * from './trace.ts';
export * from './weights.ts';
export * from './params.ts';
