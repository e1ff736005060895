// The fused kernels of the onednn backend (batch norm in training mode with its gradient,
// the SGD update) against the same maths composed from tfjs ops, through whole training
// steps: same weights, velocities and running statistics, and no tensor left behind.
import * as tf from '@tensorflow/tfjs';
import { FUSED_KERNELS } from '@resnet/kernels';
import { registerOnednn } from '@resnet/onednn';
import { disposeModel, initModel, type Model } from '@resnet/tfjs';
import { createSgdState, disposeSgdState, type SgdConfig } from './sgd.ts';
import { trainStep } from './loop.ts';
import { makeBatch, NO_AUGMENT } from './pipeline.ts';
import { smallSplits, tinyNet } from './_test_support.ts';

const status = registerOnednn();
const describeOnednn = status.ok ? describe : process.env['CI'] === 'true' ? describe : describe.skip;
if (!status.ok) console.warn(`[onednn] ${process.env['CI'] === 'true' ? 'REQUIRED' : 'SKIPPED'}: ${status.reason}`);

const SGD: SgdConfig = { momentum: 0.9, nesterov: true, weightDecay: 5e-4 };

interface Snapshot {
  readonly weights: Record<string, Float32Array>;
  readonly losses: number[];
}

/** Three steps of tinyNet on fixed batches; every parameter, velocity and running statistic afterwards. */
async function threeSteps(backend: string, fused: boolean): Promise<Snapshot> {
  await tf.setBackend(backend);
  (tf.backend() as unknown as { firstUse?: boolean }).firstUse = false;
  const model: Model = initModel(tinyNet(), { seed: 5 });
  const sgd = createSgdState(model.params);
  const { train } = smallSplits(48, 1);
  const losses: number[] = [];
  for (let step = 0; step < 3; step++) {
    const indices = Int32Array.from({ length: 16 }, (_, i) => step * 16 + i);
    const { x, y } = makeBatch(train, indices, { imageSize: 28, augment: NO_AUGMENT, seed: 0, epoch: 0, step });
    // `fused: false` also switches the interpreter to tfjs ops (see forward's Mode.fused).
    const result = trainStep({ model, sgd, x, y, lr: 0.1, options: { sgd: { ...SGD, fused }, classes: 10, labelSmoothing: 0, fused } });
    losses.push(result.loss.dataSync()[0] ?? NaN);
    tf.dispose([x, y, result.loss, result.correct]);
  }
  const weights: Record<string, Float32Array> = {};
  for (const [k, v] of [...model.params, ...model.state]) weights[k] = v.dataSync() as Float32Array;
  for (const [k, v] of sgd.velocity) weights[`velocity:${k}`] = v.dataSync() as Float32Array;
  disposeSgdState(sgd);
  disposeModel(model);
  return { weights, losses };
}

function maxRelativeError(a: Float32Array, b: Float32Array): number {
  let diff = 0, scale = 1e-3;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs((a[i] ?? NaN) - (b[i] ?? NaN)));
    scale = Math.max(scale, Math.abs(b[i] ?? 0));
  }
  return Number.isNaN(diff) ? Infinity : diff / scale;
}

describeOnednn('training steps on onednn with fused kernels', () => {
  test('the onednn addon is built (required when CI=true)', () => {
    if (!status.ok) throw new Error(status.reason);
  });

  test('give the same weights, velocities and running statistics as tfjs ops on cpu', async () => {
    const expected = await threeSteps('cpu', false);
    const actual = await threeSteps('onednn', true);
    expect(Object.keys(actual.weights).sort()).toEqual(Object.keys(expected.weights).sort());
    const errors = Object.entries(actual.weights).map(([k, v]) => [k, maxRelativeError(v, expected.weights[k] ?? new Float32Array())] as const);
    expect(errors.filter(([, e]) => !(e <= 1e-4))).toEqual([]);
    actual.losses.forEach((l, i) => expect(l).toBeCloseTo(expected.losses[i] ?? NaN, 4));
  });

  test('really use the fused kernels, and leave no tensor behind', async () => {
    await tf.setBackend('onednn');
    const model = initModel(tinyNet(), { seed: 6 });
    const sgd = createSgdState(model.params);
    const { train } = smallSplits(16, 1);
    const counts: number[] = [];
    const { x, y } = makeBatch(train, Int32Array.from({ length: 16 }, (_, i) => i), { imageSize: 28, augment: NO_AUGMENT, seed: 0, epoch: 0, step: 0 });
    const kernels = new Set<string>();
    const profile = await tf.profile(() => {
      const r = trainStep({ model, sgd, x, y, lr: 0.05, options: { sgd: SGD, classes: 10, labelSmoothing: 0 } });
      tf.dispose([r.loss, r.correct]);
    });
    profile.kernels.forEach((k) => kernels.add(k.name));
    for (let i = 0; i < 4; i++) {
      const r = trainStep({ model, sgd, x, y, lr: 0.05, options: { sgd: SGD, classes: 10, labelSmoothing: 0 } });
      tf.dispose([r.loss, r.correct]);
      counts.push(tf.memory().numTensors);
    }
    expect([...kernels].filter((k) => k.startsWith('ResNet')).sort()).toEqual(Object.values(FUSED_KERNELS).sort());
    expect(kernels.has('FusedBatchNorm')).toBe(false); // the composite path's batch norm kernel
    expect(new Set(counts).size).toBe(1);
    tf.dispose([x, y]);
    disposeSgdState(sgd);
    disposeModel(model);
  });
});
