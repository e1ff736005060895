/**
 * The interpreter: lowers a spec to tfjs ops, one exhaustive switch over `_tag`.
 * Uses only `@tensorflow/tfjs` ops, so it runs on any registered backend
 * (tensorflow, onednn, wasm, cpu).
 */
import * as tf from '@tensorflow/tfjs';
import { FUSED_KERNELS } from '@resnet/kernels';
import { childPath, type Layer } from '@resnet/spec';
import { layerVariable, type Model } from './model.ts';

/** Training or inference, as PyTorch's `model.train()` / `model.eval()`. */
export interface Mode {
  /**
   * `true`: batch norm normalises with the batch's statistics and updates the
   * running statistics in place (`running = (1 − momentum)·running + momentum·batch`,
   * with the unbiased batch variance, as PyTorch does). `false`: it uses the running statistics.
   */
  readonly training: boolean;
  /**
   * Use the backend's fused training kernels (`ResNetBatchNormTrain`/`ResNetBatchNormGrad`,
   * `ResNetReluGrad`, `ResNetAddRelu`, registered by the onednn backend) when it has them, and
   * in inference fold each batch norm into the convolution before it (with a following ReLU
   * as the convolution's activation: one `FusedConv2D` instead of three passes, on any
   * backend). Default true; `false` forces the layer-by-layer composition of tfjs ops, which
   * every backend runs (tests compare the two).
   */
  readonly fused?: boolean;
}

/**
 * True when the active backend registers kernel `name`.
 * @example backendHasKernel(FUSED_KERNELS.batchNormTrain) // true on onednn, false on cpu
 */
export function backendHasKernel(name: string): boolean {
  return tf.getKernel(name, tf.getBackend()) !== undefined;
}

/**
 * Moves a batch norm's running statistics (variables, assigned in place) towards one batch's
 * `mean` and biased `variance` over `count` elements per channel: PyTorch's update,
 * `running = (1 − momentum)·running + momentum·batch`, with the unbiased batch variance. One
 * `ResNetBatchNormRunningStats` kernel where the backend has it (and `fused`), else the same
 * float32 arithmetic composed from tfjs ops; the two give the same bits. Leaves no tensor behind.
 * @example updateRunningStats({ mean: runningMean, variance: runningVar }, { mean, variance }, { count: 128 * 7 * 7, momentum: 0.1, fused: true })
 */
export function updateRunningStats(
  running: { readonly mean: tf.Variable; readonly variance: tf.Variable },
  batch: { readonly mean: tf.Tensor; readonly variance: tf.Tensor },
  options: { readonly count: number; readonly momentum: number; readonly fused: boolean },
): void {
  const { count, momentum } = options;
  tf.tidy(() => {
    if (options.fused && backendHasKernel(FUSED_KERNELS.batchNormRunningStats)) {
      const [mean, variance] = tf
        .engine()
        .runKernel(
          FUSED_KERNELS.batchNormRunningStats,
          { runningMean: running.mean, runningVariance: running.variance, mean: batch.mean, variance: batch.variance },
          { momentum, count },
        ) as tf.Tensor[];
      if (mean === undefined || variance === undefined)
        throw new Error(`${FUSED_KERNELS.batchNormRunningStats} returned fewer than 2 outputs`);
      running.mean.assign(mean);
      running.variance.assign(variance);
      return;
    }
    const unbiased = tf.mul(batch.variance, count > 1 ? count / (count - 1) : 1);
    running.mean.assign(tf.add(tf.mul(running.mean, 1 - momentum), tf.mul(batch.mean, momentum)));
    running.variance.assign(tf.add(tf.mul(running.variance, 1 - momentum), tf.mul(unbiased, momentum)));
  });
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
      const y = tf.conv2d(x as tf.Tensor4D, layerVariable(model, path, 'ConvWeight') as tf.Tensor4D, layer.stride, layer.padding);
      return layer.bias ? tf.add(y, layerVariable(model, path, 'ConvBias')) : y;
    }
    case 'BatchNorm':
      return batchNorm(model, layer.epsilon, layer.momentum, path, x, mode);
    case 'Relu':
      return relu(x, mode);
    case 'MaxPool':
      return tf.maxPool(x as tf.Tensor4D, layer.kernel, layer.stride, layer.padding);
    case 'GlobalAvgPool':
      return tf.mean(x, [1, 2]);
    case 'Dense': {
      const y = tf.matMul(x as tf.Tensor2D, layerVariable(model, path, 'DenseWeight') as tf.Tensor2D);
      return layer.bias ? tf.add(y, layerVariable(model, path, 'DenseBias')) : y;
    }
    case 'Sequential':
      return applyAll(model, layer.layers, path, x, mode);
    case 'Residual': {
      const main = applyAll(model, layer.main, path, x, mode);
      const shortcut = applyAll(model, layer.shortcut, path, x, mode);
      if (
        layer.activation === 'relu' &&
        mode.fused !== false &&
        main.shape.join() === shortcut.shape.join() &&
        backendHasKernel(FUSED_KERNELS.addRelu) &&
        backendHasKernel(FUSED_KERNELS.reluGrad)
      ) {
        return fusedAddRelu(main, shortcut);
      }
      const sum = tf.add(main, shortcut);
      return layer.activation === 'relu' ? relu(sum, mode) : sum;
    }
    default:
      return absurd(layer);
  }
}

// A list of layers in order (a Sequential's, or a Residual's main path or shortcut). In
// inference, Conv2d → BatchNorm (→ Relu) runs as one folded convolution.
function applyAll(model: Model, layers: readonly Layer[], path: string, x: tf.Tensor, mode: Mode): tf.Tensor {
  let h = x;
  for (let i = 0; i < layers.length; i++) {
    const layer = layers[i] as Layer;
    const next = layers[i + 1];
    if (!mode.training && mode.fused !== false && layer._tag === 'Conv2d' && next?._tag === 'BatchNorm') {
      const withRelu = layers[i + 2]?._tag === 'Relu';
      h = foldedConv(model, layer, childPath(path, layer.name), next, childPath(path, next.name), h, withRelu);
      i += withRelu ? 2 : 1;
    } else {
      h = apply(model, layer, childPath(path, layer.name), h, mode);
    }
  }
  return h;
}

// Inference batch norm folded into the convolution before it: with k = γ/√(σ² + ε) per output
// channel, BN(conv(x, w) + b) = conv(x, w·k) + (b − μ)·k + β. Same value up to float32
// rounding (the fold rounds w·k once); the ReLU, if any, becomes the convolution's activation.
function foldedConv(
  model: Model,
  conv: Extract<Layer, { _tag: 'Conv2d' }>,
  convPath: string,
  bn: Extract<Layer, { _tag: 'BatchNorm' }>,
  bnPath: string,
  x: tf.Tensor,
  withRelu: boolean,
): tf.Tensor {
  const variance = layerVariable(model, bnPath, 'BatchNormVariance');
  const k = tf.div(layerVariable(model, bnPath, 'BatchNormScale'), tf.sqrt(tf.add(variance, bn.epsilon)));
  const mean = layerVariable(model, bnPath, 'BatchNormMean');
  const centred = conv.bias ? tf.sub(layerVariable(model, convPath, 'ConvBias'), mean) : tf.neg(mean);
  return tf.fused.conv2d({
    x: x as tf.Tensor4D,
    filter: tf.mul(layerVariable(model, convPath, 'ConvWeight'), k) as tf.Tensor4D,
    strides: conv.stride,
    pad: conv.padding,
    bias: tf.add(tf.mul(centred, k), layerVariable(model, bnPath, 'BatchNormOffset')),
    activation: withRelu ? 'relu' : 'linear',
  });
}

function batchNorm(model: Model, epsilon: number, momentum: number, path: string, x: tf.Tensor, mode: Mode): tf.Tensor {
  const gamma = layerVariable(model, path, 'BatchNormScale');
  const beta = layerVariable(model, path, 'BatchNormOffset');
  const runningMean = layerVariable(model, path, 'BatchNormMean');
  const runningVar = layerVariable(model, path, 'BatchNormVariance');
  if (!mode.training) return tf.batchNorm(x, runningMean, runningVar, beta, gamma, epsilon);

  const axes = x.rank === 4 ? [0, 1, 2] : [0];
  const n = axes.reduce((k, a) => k * (x.shape[a] ?? 1), 1);
  const updateRunning = (mean: tf.Tensor, variance: tf.Tensor): void =>
    updateRunningStats(
      { mean: runningMean, variance: runningVar },
      { mean, variance },
      { count: n, momentum, fused: mode.fused !== false },
    );
  if (
    mode.fused !== false &&
    (x.rank === 4 || x.rank === 2) &&
    backendHasKernel(FUSED_KERNELS.batchNormTrain) &&
    backendHasKernel(FUSED_KERNELS.batchNormGrad)
  ) {
    return fusedBatchNorm(x, gamma, beta, epsilon, updateRunning);
  }
  const { mean, variance } = tf.moments(x, axes);
  updateRunning(mean, variance);
  return tf.batchNorm(x, mean, variance, beta, gamma, epsilon);
}

// One kernel forward (statistics + normalisation), one backward (the full gradient through
// the statistics), joined by tf.customGrad so tfjs's tape differentiates through it.
function fusedBatchNorm(
  x: tf.Tensor,
  gamma: tf.Tensor,
  beta: tf.Tensor,
  epsilon: number,
  updateRunning: (mean: tf.Tensor, variance: tf.Tensor) => void,
): tf.Tensor {
  let stats: [tf.Tensor, tf.Tensor] | undefined;
  const f = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [xs, scale, offset, save] = args as [tf.Tensor, tf.Tensor, tf.Tensor, tf.GradSaveFunc];
    const [y, mean, variance] = tf.engine().runKernel(FUSED_KERNELS.batchNormTrain, { x: xs, scale, offset }, { epsilon }) as tf.Tensor[];
    if (y === undefined || mean === undefined || variance === undefined)
      throw new Error(`${FUSED_KERNELS.batchNormTrain} returned fewer than 3 outputs`);
    save([xs, scale, mean, variance]);
    stats = [tf.keep(mean), tf.keep(variance)];
    return {
      value: y,
      gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
        const [sx, sScale, sMean, sVariance] = saved;
        const grads = tf.engine().runKernel(
          FUSED_KERNELS.batchNormGrad,
          {
            dy: dy as tf.Tensor,
            x: sx as tf.Tensor,
            scale: sScale as tf.Tensor,
            mean: sMean as tf.Tensor,
            variance: sVariance as tf.Tensor,
          },
          { epsilon },
        ) as tf.Tensor[];
        return grads;
      },
    };
  });
  const y = f(x, gamma, beta);
  if (stats !== undefined) {
    updateRunning(stats[0], stats[1]);
    tf.dispose(stats);
  }
  return y;
}

function relu(x: tf.Tensor, mode: Mode): tf.Tensor {
  // The fused kernel only changes the gradient: inference runs plain tf.relu.
  return mode.training && mode.fused !== false && backendHasKernel(FUSED_KERNELS.reluGrad) ? fusedRelu(x) : tf.relu(x);
}

// ReLU whose gradient is one pass over its saved output (`ResNetReluGrad`), instead of tfjs's
// dy · step(x): two kernels and a temporary the size of the activation.
function fusedRelu(x: tf.Tensor): tf.Tensor {
  const f = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [xs, save] = args as [tf.Tensor, tf.GradSaveFunc];
    const y = tf.relu(xs);
    save([y]);
    return { value: y, gradFunc: (dy: tf.Tensor | tf.Tensor[], [saved]: tf.Tensor[]) => reluGrad(dy as tf.Tensor, saved as tf.Tensor) };
  });
  return f(x);
}

// A residual join relu(a + b) in one pass forward (`ResNetAddRelu`) and one backward
// (`ResNetReluGrad`); both inputs get that gradient (the second as a clone: tfjs's tape
// disposes an input's gradient when it accumulates another, so they must be distinct tensors).
function fusedAddRelu(a: tf.Tensor, b: tf.Tensor): tf.Tensor {
  const f = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [as, bs, save] = args as [tf.Tensor, tf.Tensor, tf.GradSaveFunc];
    const y = tf.engine().runKernel(FUSED_KERNELS.addRelu, { a: as, b: bs }) as tf.Tensor;
    save([y]);
    return {
      value: y,
      gradFunc: (dy: tf.Tensor | tf.Tensor[], [saved]: tf.Tensor[]) => {
        const dx = reluGrad(dy as tf.Tensor, saved as tf.Tensor);
        return [dx, tf.clone(dx)];
      },
    };
  });
  return f(a, b);
}

function reluGrad(dy: tf.Tensor, y: tf.Tensor): tf.Tensor {
  return tf.engine().runKernel(FUSED_KERNELS.reluGrad, { dy, y }) as tf.Tensor;
}

function absurd(layer: never): never {
  throw new Error(`the tfjs interpreter does not know layer ${JSON.stringify(layer)}`);
}
