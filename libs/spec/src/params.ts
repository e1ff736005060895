/**
 * Parameter counting: a pure fold over a spec that needs no input shape.
 */
import { absurd } from 'fp-ts/function';
import { children, type Layer } from './layer.ts';

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
  const own = ownParams(layer);
  return children(layer).reduce((acc, child) => {
    const c = countParams(child);
    return { trainable: acc.trainable + c.trainable, nonTrainable: acc.nonTrainable + c.nonTrainable };
  }, own);
}

function ownParams(layer: Layer): ParamCount {
  switch (layer._tag) {
    case 'Conv2d':
      return { trainable: layer.kernel * layer.kernel * layer.inChannels * layer.outChannels + (layer.bias ? layer.outChannels : 0), nonTrainable: 0 };
    case 'BatchNorm':
      return { trainable: 2 * layer.channels, nonTrainable: 2 * layer.channels };
    case 'Dense':
      return { trainable: layer.inFeatures * layer.outFeatures + (layer.bias ? layer.outFeatures : 0), nonTrainable: 0 };
    case 'Relu':
    case 'MaxPool':
    case 'GlobalAvgPool':
    case 'Sequential':
    case 'Residual':
      return { trainable: 0, nonTrainable: 0 };
    default:
      return absurd(layer);
  }
}
