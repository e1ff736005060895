// Checkpoints of a tfjs model and its optimizer: every variable goes out and comes back exactly.
import { existsSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as E from 'fp-ts/Either';
import * as tf from '@tensorflow/tfjs';
import { disposeModel, initModel } from '@resnet/tfjs';
import { createRun, RUN_FORMAT, type RunSettings } from '@resnet/run-dir';
import { loadCheckpoint, saveCheckpoint } from './checkpoint.ts';
import { createSgdState, disposeSgdState } from './sgd.ts';
import { tinyNet } from './_test_support.ts';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const tmp = () => mkdtempSync(join(tmpdir(), 'run-'));
const config: RunSettings = {
  format: RUN_FORMAT,
  protocol: 'default',
  variant: 18,
  version: 'v1.5',
  stem: 'imagenet',
  epochs: 2,
  batchSize: 8,
  schedule: { _tag: 'Constant', lr: 0.1 },
  momentum: 0.9,
  nesterov: true,
  weightDecay: 5e-4,
  labelSmoothing: 0,
  clipNorm: null,
  imageSize: 28,
  augment: { crop: true, flip: true },
  zeroInitResidual: true,
  trainLimit: null,
  testLimit: null,
  seed: 0,
  classes: 10,
  precision: 'fp32',
};

describe('checkpoints of a model', () => {
  test('loading a checkpoint from a run that has none is refused', () => {
    const dir = join(tmp(), 'r');
    createRun(dir, config);
    const a = initModel(tinyNet());
    const sgd = createSgdState(a.params);
    expect(loadCheckpoint(dir, a, sgd)).toEqual(
      E.left({ _tag: 'NoCheckpoint', dir, message: `${dir} has no checkpoint yet (no latest.json)` }),
    );
    disposeModel(a);
    disposeSgdState(sgd);
  });

  test('a checkpoint restores params, batch-norm state and velocities exactly and keeps only the latest', async () => {
    const dir = join(tmp(), 'r');
    createRun(dir, config);
    const a = initModel(tinyNet(), { seed: 1 });
    const sgdA = createSgdState(a.params);
    // Batch norm's scale and shift, its statistics (1, 0, 0, 1) and the velocities (0) of a fresh model do not
    // depend on the seed: give every tensor values of its own, so that only a restore can make b's equal a's.
    tf.tidy(() =>
      [...a.params.values(), ...a.state.values(), ...sgdA.velocity.values()].forEach((v, i) =>
        v.assign(tf.randomUniform(v.shape, 0.5, 2, 'float32', 100 + i)),
      ),
    );
    await saveCheckpoint(dir, a, sgdA, { epoch: 1, step: 0, partial: { lossSum: 0, correct: 0, seen: 0, seconds: 0 } });
    await saveCheckpoint(dir, a, sgdA, { epoch: 1, step: 3, partial: { lossSum: 2, correct: 1, seen: 96, seconds: 4 } });
    expect(readdirSync(join(dir, 'checkpoints'))).toEqual(['epoch-0001-step-000003']);

    const b = initModel(tinyNet(), { seed: 2 });
    const sgdB = createSgdState(b.params);
    const differing = (x: ReadonlyMap<string, tf.Variable>, y: ReadonlyMap<string, tf.Variable>) =>
      [...x].filter(([key, v]) => !tf.util.arraysEqual(y.get(key)?.dataSync() ?? [], v.dataSync())).length;
    expect([differing(a.params, b.params), differing(a.state, b.state), differing(sgdA.velocity, sgdB.velocity)]).toEqual([
      a.params.size,
      a.state.size,
      sgdA.velocity.size,
    ]);
    const before = tf.memory().numTensors;
    expect(loadCheckpoint(dir, b, sgdB)).toEqual(E.right({ epoch: 1, step: 3, partial: { lossSum: 2, correct: 1, seen: 96, seconds: 4 } }));
    expect(tf.memory().numTensors).toBe(before);
    for (const [key, v] of a.params) expect(b.params.get(key)?.dataSync()).toEqual(v.dataSync());
    expect(a.state.size).toBeGreaterThan(0);
    for (const [key, v] of a.state) expect(b.state.get(key)?.dataSync()).toEqual(v.dataSync());
    for (const [key, v] of sgdA.velocity) expect(sgdB.velocity.get(key)?.dataSync()).toEqual(v.dataSync());
    [a, b].forEach(disposeModel);
    [sgdA, sgdB].forEach(disposeSgdState);
  });

  test('a checkpoint of another architecture is refused with the tensor named', async () => {
    const dir = join(tmp(), 'r');
    createRun(dir, config);
    const a = initModel(tinyNet());
    const sgdA = createSgdState(a.params);
    await saveCheckpoint(dir, a, sgdA, { epoch: 1, step: 0, partial: { lossSum: 0, correct: 0, seen: 0, seconds: 0 } });
    const wider = { ...tinyNet(), name: 'other' };
    const b = initModel(wider);
    const sgdB = createSgdState(b.params);
    expect(loadCheckpoint(dir, b, sgdB)).toMatchObject(
      E.left({
        _tag: 'Corrupt',
        dir,
        part: 'checkpoint',
        file: join(dir, 'checkpoints', 'epoch-0001-step-000000'),
        message: expect.stringContaining('have no tensor "other.'),
      }),
    );
    expect(existsSync(join(dir, 'latest.json'))).toBe(true);
    [a, b].forEach(disposeModel);
    [sgdA, sgdB].forEach(disposeSgdState);
  });
});
