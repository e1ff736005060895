// Shared by this lib's tests: models with random weights and non-trivial batch-norm
// statistics (so a mistake in any batch-norm input shows), and the runtimes that run them.
import * as tf from '@tensorflow/tfjs';
import * as ort from 'onnxruntime-node';
import { forward, initModel, type Model } from '@resnet/tfjs';
import type { Layer } from '@resnet/spec';
import type { NamedTensors } from './to_onnx.ts';

/** Selects the backend named by TFJS_BACKEND (default cpu) and silences its Node banner. */
export async function useBackend(): Promise<void> {
  const name = process.env['TFJS_BACKEND'] ?? 'cpu';
  if (!(await tf.setBackend(name))) throw new Error(`tfjs backend "${name}" is not available`);
  (tf.backend() as unknown as { firstUse?: boolean }).firstUse = false;
}

/**
 * A model of `net` with seeded random weights and random batch-norm parameters and
 * statistics: γ ∈ [0.5, 1.5], β ~ N(0, 0.3²), running mean ~ N(0, 0.5²), running var ∈ [0.5, 2].
 */
export function randomModel(net: Layer, seed: number): Model {
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
      if (gamma !== undefined) fill(gamma, () => 0.5 + next());
      if (beta !== undefined) fill(beta, () => 0.3 * normal());
    }
  }
  return model;
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
