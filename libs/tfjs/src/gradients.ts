/**
 * The interpreter's training pass: forward in training mode, then the backward pass written
 * out per layer kind, freeing each tensor as soon as nothing left needs it.
 *
 * tfjs's tape (`tf.variableGrads`) keeps every intermediate of the forward pass and every
 * gradient of the backward pass until the whole gradient is done: for ResNet-152 at 28×28,
 * batch 128, 2.4 GB of tensors at the peak where 1.4 GB are needed. Here each layer keeps
 * only what its own gradient reads (PyTorch's rule):
 *
 * | layer | keeps for the backward pass |
 * |---|---|
 * | Conv2d, Dense | its input (for the weight gradient) |
 * | BatchNorm | its input, the batch mean and variance |
 * | Relu, a Residual's relu(main + shortcut) | its output (the gradient's mask) |
 * | MaxPool | its input and output |
 * | GlobalAvgPool | nothing (the input's shape) |
 *
 * and the backward pass disposes a layer's saved tensors and incoming gradient once it has
 * run, so the peak is the saved activations plus a few gradients in flight. A tensor two
 * layers keep (a ReLU's output is the next convolution's input) is counted twice and freed
 * when both are done with it (counts here, not `tf.clone`, whose tensors tfjs's byte count
 * would count twice). The input's own
 * gradient is not computed (the stem's backward-data convolution is skipped), as tfjs's tape
 * prunes it. Composed from tfjs kernels (`Conv2DBackpropInput`, `Conv2DBackpropFilter`,
 * `MaxPoolGrad`, …), so it runs on every backend; the fused kernels of `FUSED_KERNELS` are used
 * where the backend has them, as `forward` does. `libs/tfjs/src/gradients_test.ts` checks it
 * against the tape.
 */
import * as tf from '@tensorflow/tfjs';
import { Conv2DBackpropFilter, Conv2DBackpropInput, MaxPoolGrad } from '@tensorflow/tfjs-core';
import { FUSED_KERNELS } from '@resnet/kernels';
import { childPath, weightName, type Layer } from '@resnet/spec';
import { backendHasKernel, updateRunningStats } from './forward.ts';
import { layerVariable, type Model } from './model.ts';

/** The loss of a batch's logits and its gradient with respect to them (both owned by the caller). */
export type LossHead = (logits: tf.Tensor2D) => { readonly loss: tf.Scalar; readonly dlogits: tf.Tensor2D };

/** What {@link modelGradients} returns; the caller owns (and disposes) every tensor. */
export interface Gradients {
  readonly loss: tf.Scalar;
  readonly logits: tf.Tensor2D;
  /** d loss / d parameter, keyed like `model.params`. */
  readonly grads: ReadonlyMap<string, tf.Tensor>;
}

/**
 * Runs `model` on `x` in training mode (batch norm on batch statistics, running statistics
 * updated in place, as `forward(…, { training: true })`), applies `head` to the logits and
 * returns the loss, the logits and the gradient of every trainable parameter. Leaves no other
 * tensor behind. `fused: false` composes batch norm and the ReLU gradients from tfjs ops.
 * @example
 * const { loss, logits, grads } = modelGradients(model, x, (z) => crossEntropyWithGradient(z, y, opts));
 */
export function modelGradients(model: Model, x: tf.Tensor4D, head: LossHead, options: { readonly fused?: boolean } = {}): Gradients {
  const fused = options.fused !== false;
  const context: Context = {
    model,
    grads: new Map(),
    holds: new Map([[x, 2]]), // the caller's claim on its input is never released
    fusedBatchNorm: fused && backendHasKernel(FUSED_KERNELS.batchNormTrain) && backendHasKernel(FUSED_KERNELS.batchNormGrad),
    fusedRelu: fused && backendHasKernel(FUSED_KERNELS.reluGrad),
    fusedAddRelu: fused && backendHasKernel(FUSED_KERNELS.addRelu) && backendHasKernel(FUSED_KERNELS.reluGrad),
  };
  // The tidy is a safety net: on an exception it frees whatever the pass holds.
  const out = tf.tidy(() => {
    const [logits, backward] = pass(context, context.model.spec, context.model.spec.name, x, false);
    if (logits.rank !== 2)
      throw new Error(
        `modelGradients: the model's output has shape [${logits.shape.join(', ')}]; a classifier's logits are [batch, classes]`,
      );
    const { loss, dlogits } = head(logits as tf.Tensor2D);
    backward(dlogits);
    return { loss, logits, grads: Object.fromEntries(context.grads) };
  });
  return { loss: out.loss, logits: out.logits as tf.Tensor2D, grads: new Map(Object.entries(out.grads)) };
}

interface Context {
  readonly model: Model;
  readonly grads: Map<string, tf.Tensor>;
  /** How many claims a tensor has beyond its one owner's (absent: one owner). */
  readonly holds: Map<tf.Tensor, number>;
  readonly fusedBatchNorm: boolean;
  readonly fusedRelu: boolean;
  readonly fusedAddRelu: boolean;
}

/** Consumes (disposes) the gradient of a layer's output; returns its input's gradient, or null where the input needs none. */
type Backward = (dy: tf.Tensor) => tf.Tensor | null;

/** A layer's output (owned by the caller) and its backward pass. */
type Pass = readonly [tf.Tensor, Backward];

function pass(context: Context, layer: Layer, path: string, x: tf.Tensor, needDx: boolean): Pass {
  const { model } = context;
  switch (layer._tag) {
    case 'Conv2d': {
      const w = layerVariable(model, path, 'ConvWeight') as tf.Tensor4D;
      const conv = tf.conv2d(x as tf.Tensor4D, w, layer.stride, layer.padding);
      const y = layer.bias ? owned(conv, tf.add(conv, layerVariable(model, path, 'ConvBias'))) : conv;
      const saved = hold(context, x);
      const inputShape = x.shape as [number, number, number, number];
      return [
        y,
        (dy) => {
          if (layer.bias) accumulate(context, weightName(path, 'ConvBias'), tf.sum(dy, [0, 1, 2]));
          const strides: [number, number] = [layer.stride, layer.stride];
          const filterAttrs = { strides, pad: layer.padding, dataFormat: 'NHWC', filterShape: w.shape };
          const dw = tf.engine().runKernel(Conv2DBackpropFilter, { x: saved, dy }, filterAttrs) as tf.Tensor;
          accumulate(context, weightName(path, 'ConvWeight'), dw);
          const dx = needDx
            ? (tf
                .engine()
                .runKernel(
                  Conv2DBackpropInput,
                  { dy, filter: w },
                  { strides, pad: layer.padding, dataFormat: 'NHWC', inputShape },
                ) as tf.Tensor)
            : null;
          release(context, saved, dy);
          return dx;
        },
      ];
    }
    case 'BatchNorm':
      return batchNorm(context, layer, path, x, needDx);
    case 'Relu': {
      const y = tf.relu(x);
      const saved = hold(context, y);
      return [
        y,
        (dy) => {
          const dx = needDx ? reluGrad(context, dy, saved) : null;
          release(context, saved, dy);
          return dx;
        },
      ];
    }
    case 'MaxPool': {
      const y = tf.maxPool(x as tf.Tensor4D, layer.kernel, layer.stride, layer.padding);
      const saved = [hold(context, x), hold(context, y)] as const;
      return [
        y,
        (dy) => {
          const dx = needDx
            ? (tf
                .engine()
                .runKernel(
                  MaxPoolGrad,
                  { dy, input: saved[0], output: saved[1] },
                  { filterSize: layer.kernel, strides: layer.stride, pad: layer.padding },
                ) as tf.Tensor)
            : null;
          release(context, ...saved, dy);
          return dx;
        },
      ];
    }
    case 'GlobalAvgPool': {
      const [b, h, w, c] = x.shape as [number, number, number, number];
      return [
        tf.mean(x, [1, 2]),
        (dy) => {
          const dx = needDx ? tf.tidy(() => tf.mul(tf.broadcastTo(tf.reshape(dy, [b, 1, 1, c]), [b, h, w, c]), 1 / (h * w))) : null;
          release(context, dy);
          return dx;
        },
      ];
    }
    case 'Dense': {
      const w = layerVariable(model, path, 'DenseWeight') as tf.Tensor2D;
      const product = tf.matMul(x as tf.Tensor2D, w);
      const y = layer.bias ? owned(product, tf.add(product, layerVariable(model, path, 'DenseBias'))) : product;
      const saved = hold(context, x) as tf.Tensor2D;
      return [
        y,
        (dy) => {
          if (layer.bias) accumulate(context, weightName(path, 'DenseBias'), tf.sum(dy, 0));
          accumulate(context, weightName(path, 'DenseWeight'), tf.matMul(saved, dy as tf.Tensor2D, true, false));
          const dx = needDx ? tf.matMul(dy as tf.Tensor2D, w, false, true) : null;
          release(context, saved, dy);
          return dx;
        },
      ];
    }
    case 'Sequential':
      return chain(context, layer.layers, path, x, needDx);
    case 'Residual':
      return residual(context, layer, path, x, needDx);
    default:
      return absurd(layer);
  }
}

// Layers in order. Each intermediate output is released once the next layer has run (a layer
// that needs its input later holds it).
function chain(context: Context, layers: readonly Layer[], path: string, x: tf.Tensor, needDx: boolean): Pass {
  const backwards: Backward[] = [];
  let h = x;
  for (let i = 0; i < layers.length; i++) {
    const layer = layers[i] as Layer;
    // A batch norm and the ReLU after it: one kernel forward (the ReLU in the normalising pass).
    const withRelu = layer._tag === 'BatchNorm' && layers[i + 1]?._tag === 'Relu' && context.fusedBatchNorm && context.fusedRelu;
    const childNeedDx = i === 0 ? needDx : true;
    const [y, backward] =
      layer._tag === 'BatchNorm' && withRelu
        ? batchNorm(context, layer, childPath(path, layer.name), h, childNeedDx, true)
        : pass(context, layer, childPath(path, layer.name), h, childNeedDx);
    if (withRelu) i++;
    if (h !== x) release(context, h);
    h = y;
    backwards.push(backward);
  }
  return [
    h,
    (dy) => {
      let g: tf.Tensor | null = dy;
      for (let i = backwards.length - 1; i >= 0 && g !== null; i--) g = (backwards[i] as Backward)(g);
      return g;
    },
  ];
}

function residual(context: Context, layer: Extract<Layer, { _tag: 'Residual' }>, path: string, x: tf.Tensor, needDx: boolean): Pass {
  const [main, mainBackward] = chain(context, layer.main, path, x, needDx);
  const [shortcut, shortcutBackward] = chain(context, layer.shortcut, path, x, needDx);
  if (main.shape.join() !== shortcut.shape.join()) {
    throw new Error(
      `modelGradients: residual ${path} adds a main path of shape [${main.shape.join(', ')}] to a shortcut of shape [${shortcut.shape.join(', ')}]; they must match (the spec's trace checks this)`,
    );
  }
  const relu = layer.activation === 'relu';
  const y =
    relu && context.fusedAddRelu
      ? (tf.engine().runKernel(FUSED_KERNELS.addRelu, { a: main, b: shortcut }) as tf.Tensor)
      : relu
        ? tf.tidy(() => tf.relu(tf.add(main, shortcut)))
        : tf.add(main, shortcut);
  for (const t of [main, shortcut]) if (t !== x) release(context, t);
  const saved = relu ? hold(context, y) : null;
  return [
    y,
    (dy) => {
      const g = saved === null ? dy : reluGrad(context, dy, saved);
      if (saved !== null) release(context, saved, dy);
      // Both branches consume (release) the same gradient.
      hold(context, g);
      const dMain = mainBackward(g);
      const dShortcut = shortcutBackward(g);
      if (dMain === null || dShortcut === null) {
        release(context, ...[dMain, dShortcut].filter((t): t is tf.Tensor => t !== null));
        return null;
      }
      const dx = tf.add(dMain, dShortcut);
      release(context, dMain, dShortcut);
      return dx;
    },
  ];
}

// `relu`: the ReLU after it too (fused kernels only): y = relu(bn(x)), one kernel each way.
function batchNorm(
  context: Context,
  layer: Extract<Layer, { _tag: 'BatchNorm' }>,
  path: string,
  x: tf.Tensor,
  needDx: boolean,
  relu = false,
): Pass {
  const { model } = context;
  const gamma = layerVariable(model, path, 'BatchNormScale');
  const beta = layerVariable(model, path, 'BatchNormOffset');
  const runningMean = layerVariable(model, path, 'BatchNormMean');
  const runningVar = layerVariable(model, path, 'BatchNormVariance');
  if (x.rank !== 4 && x.rank !== 2)
    throw new Error(`modelGradients: batch norm ${path} takes [batch, h, w, channels] or [batch, features], got [${x.shape.join(', ')}]`);
  const axes = x.rank === 4 ? [0, 1, 2] : [0];
  const n = axes.reduce((k, a) => k * (x.shape[a] ?? 1), 1);
  let y: tf.Tensor;
  let mean: tf.Tensor;
  let variance: tf.Tensor;
  if (context.fusedBatchNorm) {
    [y, mean, variance] = tf
      .engine()
      .runKernel(FUSED_KERNELS.batchNormTrain, { x, scale: gamma, offset: beta }, { epsilon: layer.epsilon, relu }) as [
      tf.Tensor,
      tf.Tensor,
      tf.Tensor,
    ];
  } else {
    if (relu) throw new Error(`modelGradients: batch norm ${path} with its ReLU needs the fused kernels`);
    ({ mean, variance } = tf.moments(x, axes));
    y = tf.batchNorm(x, mean, variance, beta, gamma, layer.epsilon);
  }
  // Running statistics as forward's.
  updateRunningStats(
    { mean: runningMean, variance: runningVar },
    { mean, variance },
    { count: n, momentum: layer.momentum, fused: context.fusedBatchNorm },
  );
  const saved = hold(context, x);
  const savedY = relu ? hold(context, y) : null;
  return [
    y,
    (dy) => {
      let dx: tf.Tensor;
      let dGamma: tf.Tensor;
      let dBeta: tf.Tensor;
      if (context.fusedBatchNorm) {
        // With its ReLU: the kernel takes dy through ReLU's gradient itself, given the output.
        const inputs = { dy, x: saved, scale: gamma, mean, variance, ...(savedY === null ? {} : { y: savedY }) };
        [dx, dGamma, dBeta] = tf.engine().runKernel(FUSED_KERNELS.batchNormGrad, inputs, { epsilon: layer.epsilon }) as [
          tf.Tensor,
          tf.Tensor,
          tf.Tensor,
        ];
      } else {
        // x̂ = (x − μ)/σ; dβ = Σ dy; dγ = Σ dy·x̂; dx = γ/(σ·n) · (n·dy − dβ − x̂·dγ).
        [dx, dGamma, dBeta] = tf.tidy(() => {
          const invStd = tf.rsqrt(tf.add(variance, layer.epsilon));
          const xHat = tf.mul(tf.sub(saved, mean), invStd);
          const db = tf.sum(dy, axes);
          const dg = tf.sum(tf.mul(dy, xHat), axes);
          const d = tf.mul(tf.mul(gamma, invStd), 1 / n);
          return [tf.mul(d, tf.sub(tf.sub(tf.mul(dy, n), db), tf.mul(xHat, dg))), dg, db];
        });
      }
      accumulate(context, weightName(path, 'BatchNormScale'), dGamma);
      accumulate(context, weightName(path, 'BatchNormOffset'), dBeta);
      release(context, saved, dy);
      if (savedY !== null) release(context, savedY);
      tf.dispose([mean, variance]);
      if (needDx) return dx;
      dx.dispose();
      return null;
    },
  ];
}

// dy where the saved ReLU output y is positive, else 0 (tfjs's relu gradient: dy·step(x)).
function reluGrad(context: Context, dy: tf.Tensor, y: tf.Tensor): tf.Tensor {
  return context.fusedRelu
    ? (tf.engine().runKernel(FUSED_KERNELS.reluGrad, { dy, y }) as tf.Tensor)
    : tf.tidy(() => tf.mul(dy, tf.step(y)));
}

// One more claim on `t`; returns it.
function hold(context: Context, t: tf.Tensor): tf.Tensor {
  context.holds.set(t, (context.holds.get(t) ?? 1) + 1);
  return t;
}

// Drops one claim on each tensor; frees a tensor when its last claim goes. (A tensor passed
// twice, as `dMain === dShortcut` cannot be, would be released twice.)
function release(context: Context, ...tensors: tf.Tensor[]): void {
  for (const t of tensors) {
    const claims = context.holds.get(t) ?? 1;
    if (claims > 1) {
      context.holds.set(t, claims - 1);
    } else {
      context.holds.delete(t);
      t.dispose();
    }
  }
}

function accumulate(context: Context, key: string, grad: tf.Tensor): void {
  const previous = context.grads.get(key);
  if (previous === undefined) {
    context.grads.set(key, grad);
    return;
  }
  context.grads.set(key, tf.add(previous, grad));
  tf.dispose([previous, grad]);
}

// `next`, computed from `first`, which is then freed.
function owned(first: tf.Tensor, next: tf.Tensor): tf.Tensor {
  first.dispose();
  return next;
}

function absurd(layer: never): never {
  throw new Error(`the tfjs interpreter does not know layer ${JSON.stringify(layer)}`);
}
