/**
 * Parameter counting: a pure fold over a spec that needs no input shape, read off the
 * weight schema.
 */
import type { Layer } from './layer.ts';
import { weightSchema } from './weights.ts';

/** Trainable weights, and non-trainable state (batch-norm moving mean and variance). */
export interface ParamCount {
  readonly trainable: number;
  readonly nonTrainable: number;
}

/**
 * Counts a layer's parameters, torchvision style: `trainable` equals the sum of
 * `p.numel()` over `model.parameters()`; `nonTrainable` counts batch-norm running
 * statistics (PyTorch's buffers, without `num_batches_tracked`).
 * @example countParams(conv2d('c', { inChannels: 3, outChannels: 64, kernel: 7 })) // { trainable: 9408, nonTrainable: 0 }
 */
export function countParams(layer: Layer): ParamCount {
  return weightSchema(layer).reduce(
    (acc, w) => {
      const size = w.shape.reduce((a, b) => a * b, 1);
      return w.trainable ? { ...acc, trainable: acc.trainable + size } : { ...acc, nonTrainable: acc.nonTrainable + size };
    },
    { trainable: 0, nonTrainable: 0 },
  );
}
