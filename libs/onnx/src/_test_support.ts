// Shared by this lib's tests: models with random weights and non-trivial batch-norm
// statistics (so a mistake in any batch-norm input shows), and the runtimes that run them.
import * as tf from '@tensorflow/tfjs';
import * as ort from 'onnxruntime-node';
import { forward, initModel, type Model } from '@resnet/tfjs';
import { childPath, type Layer } from '@resnet/spec';
import type { NamedTensors } from './to_onnx.ts';

/** Selects the backend named by TFJS_BACKEND (default cpu) and silences its Node banner. */
export async function useBackend(): Promise<void> {
  const name = process.env['TFJS_BACKEND'] ?? 'cpu';
  if (!(await tf.setBackend(name))) throw new Error(`tfjs backend "${name}" is not available`);
  (tf.backend() as unknown as { firstUse?: boolean }).firstUse = false;
}

/**
 * Batch-norm statistics of `randomModel`.
 * - `benign`: γ ∈ [0.5, 1.5], β ~ N(0, 0.3²), running mean ~ N(0, 0.5²), running var ∈ [0.5, 2].
 * - `trained`: as a trained network's, where folding and epsilon handling go wrong: γ = ±[0.5, 1.5]
 *   (a third negative), β ~ N(0, 1), and, cycling over each batch norm's channels, running variances
 *   of exactly 0 (a dead channel: its convolution filter is zero), ~1e-5 and ~1e-3 (near-constant
 *   channels: the filter scaled down), |running mean| ∈ [10, 100] of either sign (the filter made
 *   one-signed over non-negative input, then scaled) and ordinary channels. The statistics are the
 *   network's own on `TRAINED_CALIBRATION` images, so activations stay finite from layer to layer.
 */
export type Statistics = 'benign' | 'trained';

/** How `randomModel` fills the weights. */
export interface RandomModelOptions {
  /** Default `benign`. */
  readonly statistics?: Statistics;
  /** Height and width of the calibration images of `trained` statistics (the size the model will see). */
  readonly imageSize?: number;
}

/** Calibration batch of `trained` statistics: this many seeded N(0, 1) images, seed 1000 + the model's seed. */
export const TRAINED_CALIBRATION = 16;

/**
 * A model of `net` with seeded random weights and random batch-norm parameters and
 * statistics, `benign` (default) or `trained` (see `Statistics`).
 * @example randomModel(net, 5, { statistics: 'trained', imageSize: 32 })
 */
export function randomModel(net: Layer, seed: number, options: RandomModelOptions = {}): Model {
  const trained = options.statistics === 'trained';
  const model = initModel(net, { seed });
  const next = mulberry32(seed + 17);
  const normal = (): number => Math.sqrt(-2 * Math.log(1 - next())) * Math.cos(2 * Math.PI * next());
  const fill = (v: tf.Variable, f: () => number): void =>
    tf.tidy(() => v.assign(tf.tensor(Float32Array.from({ length: v.size }, f), v.shape)));
  for (const [key, v] of model.state) {
    if (key.endsWith('/running_mean')) fill(v, () => 0.5 * normal());
    if (key.endsWith('/running_var')) fill(v, () => 0.5 + 1.5 * next());
    const bn = key.replace(/\/running_(mean|var)$/, '');
    if (key.endsWith('/running_mean')) {
      const gamma = model.params.get(`${bn}/weight`);
      const beta = model.params.get(`${bn}/bias`);
      const sign = (): number => (trained && next() < 1 / 3 ? -1 : 1);
      if (gamma !== undefined) fill(gamma, () => sign() * (0.5 + next()));
      if (beta !== undefined) fill(beta, () => (trained ? 1 : 0.3) * normal());
    }
  }
  if (trained) trainedStatistics(model, options.imageSize ?? 8, seed, next);
  return model;
}

type Kind = 'zero' | 'tiny' | 'small' | 'large' | 'plain';
/** Channel c of the i-th batch norm gets KINDS[(c + i) % 8]. */
const KINDS: readonly Kind[] = ['zero', 'tiny', 'small', 'large', 'plain', 'large', 'plain', 'plain'];

interface ConvBatchNorm {
  readonly conv: string;
  readonly bn: string;
  readonly momentum: number;
  readonly channels: number;
  /** The convolution reads the network's input (which may be negative), so it cannot make a large mean. */
  readonly first: boolean;
}

// Filters first (zero, one-signed), then the network's own batch statistics, then each channel's
// filter scaled to its target variance or mean and the statistics measured again. Batch norm in
// training mode is invariant to a channel's scale, so the rescaling barely moves what follows: two
// rounds put the variances within a small factor of their targets.
function trainedStatistics(model: Model, imageSize: number, seed: number, next: () => number): void {
  const pairs = convBatchNorms(model.spec, model.spec.name, { first: true });
  const kinds = pairs.map((p, i) => Array.from({ length: p.channels }, (_, c) => kindOf(p, c, i)));
  const targets = kinds.map((ks) =>
    ks.map((k) => {
      const u = 0.5 + 1.5 * next();
      if (k === 'tiny') return 1e-5 * u;
      if (k === 'small') return 1e-3 * u;
      if (k === 'large') return (next() < 0.5 ? -1 : 1) * (10 + 90 * next());
      return 0;
    }),
  );
  pairs.forEach((p, i) =>
    scaleFilter(model, p.conv, (w, c) => {
      const k = kinds[i]?.[c];
      return k === 'zero' ? 0 : k === 'large' ? Math.abs(w) : w;
    }),
  );
  const x = images(TRAINED_CALIBRATION, imageSize, model.params.get(`${pairs[0]?.conv}/weight`)?.shape[2] ?? 1, 1000 + seed);
  for (let round = 0; round < 2; round++) {
    const stats = measure(model, pairs, x);
    pairs.forEach((p, i) => {
      const factors = (kinds[i] ?? []).map((k, c) => {
        const { mean, variance } = stats[i]?.[c] ?? { mean: 0, variance: 0 };
        const target = targets[i]?.[c] ?? 0;
        if ((k === 'tiny' || k === 'small') && variance > 0) return Math.sqrt(target / variance);
        // The sign is set in the first round; the second only corrects the size.
        if (k === 'large' && mean !== 0) return round === 0 ? target / mean : Math.abs(target / mean);
        return 1;
      });
      scaleFilter(model, p.conv, (w, c) => w * (factors[c] ?? 1));
    });
  }
  measure(model, pairs, x);
  x.dispose();
}

function kindOf(p: ConvBatchNorm, c: number, i: number): Kind {
  const k = KINDS[(c + i) % KINDS.length] ?? 'plain';
  return k === 'large' && p.first ? 'plain' : k;
}

// Sets every batch norm's running statistics to the batch's (PyTorch's unbiased variance), as
// one training-mode forward pass computes them: from zero, running = momentum · batch.
function measure(model: Model, pairs: readonly ConvBatchNorm[], x: tf.Tensor4D): { mean: number; variance: number }[][] {
  for (const [, v] of model.state) tf.tidy(() => v.assign(tf.zerosLike(v)));
  tf.tidy(() => void forward(model, x, { training: true, fused: false }));
  return pairs.map((p) => {
    const read = (name: string): Float32Array => {
      const v = model.state.get(`${p.bn}/${name}`);
      if (v === undefined) throw new Error(`no ${p.bn}/${name}`);
      const batch = tf.tidy(() => tf.div(v, p.momentum));
      v.assign(batch);
      const values = batch.dataSync() as Float32Array;
      batch.dispose();
      return values;
    };
    const means = read('running_mean');
    const variances = read('running_var');
    return Array.from(means, (mean, c) => ({ mean, variance: variances[c] ?? 0 }));
  });
}

function scaleFilter(model: Model, conv: string, f: (w: number, channel: number) => number): void {
  const v = model.params.get(`${conv}/weight`);
  if (v === undefined) throw new Error(`no ${conv}/weight`);
  const out = v.shape[3] ?? 1;
  // A loop, not Float32Array.from's callback (which is ~100× slower on millions of weights).
  const values = Float32Array.from(v.dataSync() as Float32Array);
  for (let i = 0; i < values.length; i++) values[i] = f(values[i] ?? 0, i % out);
  tf.tidy(() => v.assign(tf.tensor(values, v.shape)));
}

// Each convolution followed directly by a batch norm, in the order the forward pass runs them.
function convBatchNorms(layer: Layer, path: string, state: { first: boolean }): ConvBatchNorm[] {
  const lists = layer._tag === 'Sequential' ? [layer.layers] : layer._tag === 'Residual' ? [layer.main, layer.shortcut] : [];
  return lists.flatMap((layers) =>
    layers.flatMap((child, i) => {
      const next = layers[i + 1];
      if (child._tag === 'Conv2d' && next?._tag === 'BatchNorm') {
        const first = state.first;
        state.first = false;
        return [
          { conv: childPath(path, child.name), bn: childPath(path, next.name), momentum: next.momentum, channels: next.channels, first },
        ];
      }
      return convBatchNorms(child, childPath(path, child.name), state);
    }),
  );
}

/** The model's weights and statistics as plain arrays, keyed as in a run's manifest. */
export function tensorsOf(model: Model): NamedTensors {
  return new Map([...model.params, ...model.state].map(([key, v]) => [key, { shape: v.shape, values: v.dataSync() as Float32Array }]));
}

/** Seeded images, NHWC. */
export function images(batch: number, size: number, channels: number, seed: number): tf.Tensor4D {
  return tf.randomNormal([batch, size, size, channels], 0, 1, 'float32', seed);
}

/** Our reference: the tfjs interpreter's logits in inference mode. */
export function referenceLogits(model: Model, x: tf.Tensor4D): Float32Array {
  return tf.tidy(() => forward(model, x, { training: false }).dataSync() as Float32Array);
}

/** Logits from ONNX Runtime, given the NHWC batch (transposed here to the model's NCHW input). */
export async function onnxLogits(session: ort.InferenceSession, x: tf.Tensor4D): Promise<Float32Array> {
  const [n, h, w, c] = x.shape;
  const nchw = tf.tidy(() => tf.transpose(x, [0, 3, 1, 2]).dataSync() as Float32Array);
  const out = await session.run({ input: new ort.Tensor('float32', Float32Array.from(nchw), [n, c, h, w]) });
  const logits = out['logits'];
  if (logits === undefined) throw new Error('the ONNX model has no output "logits"');
  return Float32Array.from(logits.data as Float32Array);
}

/** max |a − b| and the logits' scale max |a| (the tolerance is relative to it). */
export function compare(reference: Float32Array, other: Float32Array): { readonly maxDiff: number; readonly scale: number } {
  if (reference.length !== other.length) throw new Error(`lengths differ: ${reference.length} vs ${other.length}`);
  let maxDiff = 0;
  let scale = 0;
  reference.forEach((r, i) => {
    maxDiff = Math.max(maxDiff, Math.abs(r - (other[i] ?? NaN)) || (Number.isNaN(other[i]) ? Infinity : 0));
    scale = Math.max(scale, Math.abs(r));
  });
  return { maxDiff, scale };
}

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
