/**
 * A second interpreter of a spec for tests: the training-mode forward pass (batch norm on
 * batch statistics) and the mean softmax cross-entropy, in float64 plain loops, independent
 * of tfjs and of every backend. `checkGradients` (testing.ts) takes finite differences of it,
 * where float64 lets the step be small enough to stay off ReLU and max-pool kinks.
 *
 * It also returns a signature of the kinks the pass went through (which ReLU inputs were
 * positive, which element won each max-pool window): two passes with equal signatures ran on
 * the same linear piece of the network, so a central difference between them is free of kinks.
 */
import { childPath, weightName, type Layer } from '@resnet/spec';

/** A float64 NHWC tensor (or [N, F] features). */
export interface Array64 {
  readonly shape: readonly number[];
  readonly data: Float64Array;
}

/** What one pass gives: the loss, the logits and the kink signature. */
export interface ReferencePass {
  readonly loss: number;
  readonly logits: Array64;
  /** A hash of every ReLU's sign pattern and every max-pool window's winner, in evaluation order. */
  readonly kinks: number;
}

/** A layer's input and output in the base pass, and its kinks' hash. */
interface Cached {
  readonly input: Array64;
  readonly output: Array64;
  readonly kinks: number;
}

/**
 * The float64 loss of one spec, for a base point and then for points that differ from it in
 * one tensor: `loss(tensors, x)` runs the whole pass and keeps each layer's output; `loss(tensors,
 * x, changed)` — `changed` the name of the one tensor (or `'input'`) that differs from that base
 * — recomputes only the layers that own it or come after it, reusing the rest.
 * @example
 * const f = referenceLoss(net, [0, 1]); f.loss(tensors, x); w[3] += h; f.loss(tensors, x, 'net.fc/weight')
 */
export function referenceLoss(
  net: Layer,
  labels: readonly number[],
): { loss(tensors: ReadonlyMap<string, Float64Array>, x: Array64, changed?: string): ReferencePass } {
  const base = new Map<string, Cached>();
  return {
    loss(tensors, x, changed) {
      const pass: Pass = { tensors, cache: base, changed: changed ?? null };
      // A perturbed input is a new object: nothing that reads it is reused.
      const input = changed === 'input' ? { shape: x.shape, data: x.data } : x;
      if (changed === undefined) base.clear();
      const [logits, kinks] = apply(net, net.name, input, pass);
      return { loss: crossEntropy(logits, labels), logits, kinks };
    },
  };
}

function crossEntropy(logits: Array64, labels: readonly number[]): number {
  const [n, classes] = logits.shape as [number, number];
  if (logits.shape.length !== 2 || labels.length !== n)
    throw new Error(
      `referenceLoss: logits of shape [${logits.shape.join(', ')}] for ${labels.length} labels; expected [${labels.length}, classes]`,
    );
  let loss = 0;
  for (let b = 0; b < n; b++) {
    const row = logits.data.subarray(b * classes, (b + 1) * classes);
    const max = Math.max(...row);
    let sum = 0;
    for (const z of row) sum += Math.exp(z - max);
    loss += max + Math.log(sum) - (row[labels[b] ?? 0] ?? NaN);
  }
  return loss / n;
}

interface Pass {
  readonly tensors: ReadonlyMap<string, Float64Array>;
  /** The base pass's layers by path (written by the base pass, read by the others). */
  readonly cache: Map<string, Cached>;
  /** The tensor that differs from the base pass; null in the base pass. */
  readonly changed: string | null;
}

// One step of the signature's rolling hash: an odd multiplier, so one changed entry always changes it.
function mix(h: number, v: number): number {
  return (Math.imul(h, 0x01000193) + v) | 0;
}

function tensor(tensors: ReadonlyMap<string, Float64Array>, name: string): Float64Array {
  const t = tensors.get(name);
  if (t === undefined) throw new Error(`referenceLoss: no tensor "${name}"`);
  return t;
}

// A layer's output and its kinks' hash; from the base pass where the input is the base's and the layer owns no changed tensor.
function apply(layer: Layer, path: string, x: Array64, pass: Pass): readonly [Array64, number] {
  const cached = pass.cache.get(path);
  if (pass.changed === null) {
    const out = compute(layer, path, x, pass);
    pass.cache.set(path, { input: x, output: out[0], kinks: out[1] });
    return out;
  }
  const owns = pass.changed.startsWith(`${path}/`) || pass.changed.startsWith(`${path}.`);
  return cached !== undefined && cached.input === x && !owns ? [cached.output, cached.kinks] : compute(layer, path, x, pass);
}

function compute(layer: Layer, path: string, x: Array64, pass: Pass): readonly [Array64, number] {
  const { tensors } = pass;
  switch (layer._tag) {
    case 'Conv2d': {
      const w = tensor(tensors, weightName(path, 'ConvWeight'));
      const b = layer.bias ? tensor(tensors, weightName(path, 'ConvBias')) : null;
      return [conv2d(x, w, b, layer.kernel, layer.stride, layer.padding, layer.outChannels), 0];
    }
    case 'BatchNorm':
      return [
        batchNorm(
          x,
          tensor(tensors, weightName(path, 'BatchNormScale')),
          tensor(tensors, weightName(path, 'BatchNormOffset')),
          layer.epsilon,
        ),
        0,
      ];
    case 'Relu':
      return relu(x);
    case 'MaxPool':
      return maxPool(x, layer.kernel, layer.stride, layer.padding);
    case 'GlobalAvgPool': {
      const [n, h, w, c] = x.shape as [number, number, number, number];
      const out = new Float64Array(n * c);
      for (let i = 0; i < n * h * w; i++) {
        const o = Math.floor(i / (h * w)) * c;
        for (let k = 0; k < c; k++) out[o + k] = (out[o + k] ?? 0) + (x.data[i * c + k] ?? 0) / (h * w);
      }
      return [{ shape: [n, c], data: out }, 0];
    }
    case 'Dense': {
      const w = tensor(tensors, weightName(path, 'DenseWeight'));
      const [n, f] = x.shape as [number, number];
      const o = layer.outFeatures;
      const out = new Float64Array(n * o);
      const bias = layer.bias ? tensor(tensors, weightName(path, 'DenseBias')) : null;
      for (let b = 0; b < n; b++)
        for (let j = 0; j < o; j++) {
          let s = bias?.[j] ?? 0;
          for (let k = 0; k < f; k++) s += (x.data[b * f + k] ?? 0) * (w[k * o + j] ?? 0);
          out[b * o + j] = s;
        }
      return [{ shape: [n, o], data: out }, 0];
    }
    case 'Sequential':
      return applyAll(layer.layers, path, x, pass);
    case 'Residual': {
      const [main, mainKinks] = applyAll(layer.main, path, x, pass);
      const [shortcut, shortcutKinks] = applyAll(layer.shortcut, path, x, pass);
      if (main.shape.join() !== shortcut.shape.join())
        throw new Error(`referenceLoss: residual ${path} adds [${main.shape.join(', ')}] to [${shortcut.shape.join(', ')}]`);
      const sum = { shape: main.shape, data: Float64Array.from(main.data, (v, i) => v + (shortcut.data[i] ?? NaN)) };
      const [y, kinks] = layer.activation === 'relu' ? relu(sum) : [sum, 0];
      return [y, mix(mix(mainKinks, shortcutKinks), kinks)];
    }
    default:
      return absurd(layer);
  }
}

function applyAll(layers: readonly Layer[], path: string, x: Array64, pass: Pass): readonly [Array64, number] {
  let h = x,
    kinks = 0;
  for (const layer of layers) {
    const [y, k] = apply(layer, childPath(path, layer.name), h, pass);
    h = y;
    kinks = mix(kinks, k);
  }
  return [h, kinks];
}

// x [n, h, w, ci], w [k, k, ci, co] (tfjs's HWIO), zero padding. (Indices are in range by
// construction: `as number` skips the `?? 0` a checked read would cost in this hot loop.)
function conv2d(x: Array64, w: Float64Array, bias: Float64Array | null, k: number, stride: number, pad: number, co: number): Array64 {
  const [n, h, wd, ci] = x.shape as [number, number, number, number];
  const oh = Math.floor((h + 2 * pad - k) / stride) + 1,
    ow = Math.floor((wd + 2 * pad - k) / stride) + 1;
  const out = new Float64Array(n * oh * ow * co);
  const xd = x.data;
  const acc = new Float64Array(co);
  for (let b = 0; b < n; b++)
    for (let oy = 0; oy < oh; oy++)
      for (let ox = 0; ox < ow; ox++) {
        if (bias !== null) acc.set(bias);
        else acc.fill(0);
        for (let ky = 0; ky < k; ky++) {
          const iy = oy * stride - pad + ky;
          if (iy < 0 || iy >= h) continue;
          for (let kx = 0; kx < k; kx++) {
            const ix = ox * stride - pad + kx;
            if (ix < 0 || ix >= wd) continue;
            const xi = ((b * h + iy) * wd + ix) * ci;
            const wi = (ky * k + kx) * ci * co;
            for (let c = 0; c < ci; c++) {
              const v = xd[xi + c] as number;
              const row = wi + c * co;
              for (let j = 0; j < co; j++) acc[j] = (acc[j] as number) + v * (w[row + j] as number);
            }
          }
        }
        out.set(acc, ((b * oh + oy) * ow + ox) * co);
      }
  return { shape: [n, oh, ow, co], data: out };
}

// Batch statistics over every axis but the last; the biased variance, as in training.
function batchNorm(x: Array64, gamma: Float64Array, beta: Float64Array, epsilon: number): Array64 {
  const c = x.shape[x.shape.length - 1] ?? 0;
  const rows = x.data.length / c;
  const xd = x.data;
  const mean = new Float64Array(c),
    variance = new Float64Array(c);
  for (let r = 0; r < rows; r++) for (let j = 0; j < c; j++) mean[j] = (mean[j] as number) + (xd[r * c + j] as number);
  for (let j = 0; j < c; j++) mean[j] = (mean[j] as number) / rows;
  for (let r = 0; r < rows; r++)
    for (let j = 0; j < c; j++) variance[j] = (variance[j] as number) + ((xd[r * c + j] as number) - (mean[j] as number)) ** 2;
  const scale = Float64Array.from(gamma, (g, j) => g / Math.sqrt((variance[j] ?? 0) / rows + epsilon));
  const out = new Float64Array(xd.length);
  for (let r = 0; r < rows; r++)
    for (let j = 0; j < c; j++)
      out[r * c + j] = ((xd[r * c + j] as number) - (mean[j] as number)) * (scale[j] as number) + (beta[j] as number);
  return { shape: x.shape, data: out };
}

function relu(x: Array64): readonly [Array64, number] {
  let h = 0;
  const out = new Float64Array(x.data.length);
  for (let i = 0; i < out.length; i++) {
    const v = x.data[i] as number;
    h = mix(h, v > 0 ? 1 : 2);
    out[i] = v > 0 ? v : 0;
  }
  return [{ shape: x.shape, data: out }, h];
}

// Padding counts as −∞; the first of equal values wins (its index goes into the signature).
function maxPool(x: Array64, k: number, stride: number, pad: number): readonly [Array64, number] {
  const [n, h, w, c] = x.shape as [number, number, number, number];
  const oh = Math.floor((h + 2 * pad - k) / stride) + 1,
    ow = Math.floor((w + 2 * pad - k) / stride) + 1;
  const out = new Float64Array(n * oh * ow * c);
  let sig = 0;
  for (let b = 0; b < n; b++)
    for (let oy = 0; oy < oh; oy++)
      for (let ox = 0; ox < ow; ox++)
        for (let j = 0; j < c; j++) {
          let best = -Infinity,
            at = -1;
          for (let ky = 0; ky < k; ky++)
            for (let kx = 0; kx < k; kx++) {
              const iy = oy * stride - pad + ky,
                ix = ox * stride - pad + kx;
              if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
              const v = x.data[((b * h + iy) * w + ix) * c + j] ?? -Infinity;
              if (v > best) [best, at] = [v, ky * k + kx];
            }
          out[((b * oh + oy) * ow + ox) * c + j] = best;
          sig = mix(sig, at);
        }
  return [{ shape: [n, oh, ow, c], data: out }, sig];
}

function absurd(layer: never): never {
  throw new Error(`referenceLoss does not know layer ${JSON.stringify(layer)}`);
}
