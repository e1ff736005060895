/**
 * The interpreter: lowers a spec to tfjs ops, one exhaustive switch over `_tag`.
 * Uses only `@tensorflow/tfjs` ops, so it runs on any registered backend
 * (tensorflow, onednn, wasm, cpu).
 */
import * as tf from '@tensorflow/tfjs';
import { childPath, type Layer } from '@resnet/spec';
import { weight, type Model } from './model.ts';

/** Training or inference, as PyTorch's `model.train()` / `model.eval()`. */
export interface Mode {
  /**
   * `true`: batch norm normalises with the batch's statistics and updates the
   * running statistics in place (`running = (1 − momentum)·running + momentum·batch`,
   * with the unbiased batch variance, as PyTorch does). `false`: it uses the running statistics.
   */
  readonly training: boolean;
}

/**
 * Runs the model on a batch `x` (NHWC, float32) and returns its output (logits).
 * Call inside `tf.tidy` (or an optimizer's `minimize`) so intermediates are freed.
 * @example
 * const logits = tf.tidy(() => forward(model, images, { training: false }));
 */
export function forward(model: Model, x: tf.Tensor, mode: Mode): tf.Tensor {
  return apply(model, model.spec, model.spec.name, x, mode);
}

function apply(model: Model, layer: Layer, path: string, x: tf.Tensor, mode: Mode): tf.Tensor {
  switch (layer._tag) {
    case 'Conv2d': {
      const y = tf.conv2d(x as tf.Tensor4D, weight(model.params, `${path}/weight`) as tf.Tensor4D, layer.stride, layer.padding);
      return layer.bias ? tf.add(y, weight(model.params, `${path}/bias`)) : y;
    }
    case 'BatchNorm':
      return batchNorm(model, layer.epsilon, layer.momentum, path, x, mode);
    case 'Relu':
      return tf.relu(x);
    case 'MaxPool':
      return tf.maxPool(x as tf.Tensor4D, layer.kernel, layer.stride, layer.padding);
    case 'GlobalAvgPool':
      return tf.mean(x, [1, 2]);
    case 'Dense': {
      const y = tf.matMul(x as tf.Tensor2D, weight(model.params, `${path}/weight`) as tf.Tensor2D);
      return layer.bias ? tf.add(y, weight(model.params, `${path}/bias`)) : y;
    }
    case 'Sequential':
      return layer.layers.reduce((h, child) => apply(model, child, childPath(path, child.name), h, mode), x);
    case 'Residual': {
      const main = layer.main.reduce((h, child) => apply(model, child, childPath(path, child.name), h, mode), x);
      const shortcut = layer.shortcut.reduce((h, child) => apply(model, child, childPath(path, child.name), h, mode), x);
      const sum = tf.add(main, shortcut);
      return layer.activation === 'relu' ? tf.relu(sum) : sum;
    }
    default:
      return absurd(layer);
  }
}

function batchNorm(model: Model, epsilon: number, momentum: number, path: string, x: tf.Tensor, mode: Mode): tf.Tensor {
  const gamma = weight(model.params, `${path}/weight`);
  const beta = weight(model.params, `${path}/bias`);
  const runningMean = weight(model.state, `${path}/running_mean`);
  const runningVar = weight(model.state, `${path}/running_var`);
  if (!mode.training) return tf.batchNorm(x, runningMean, runningVar, beta, gamma, epsilon);

  const axes = x.rank === 4 ? [0, 1, 2] : [0];
  const { mean, variance } = tf.moments(x, axes);
  const n = axes.reduce((k, a) => k * (x.shape[a] ?? 1), 1);
  tf.tidy(() => {
    const unbiased = tf.mul(variance, n > 1 ? n / (n - 1) : 1);
    runningMean.assign(tf.add(tf.mul(runningMean, 1 - momentum), tf.mul(mean, momentum)));
    runningVar.assign(tf.add(tf.mul(runningVar, 1 - momentum), tf.mul(unbiased, momentum)));
  });
  return tf.batchNorm(x, mean, variance, beta, gamma, epsilon);
}

function absurd(layer: never): never {
  throw new Error(`the tfjs interpreter does not know layer ${JSON.stringify(layer)}`);
}
