import { mkdtempSync, readFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import * as E from 'fp-ts/Either';
import * as tf from '@tensorflow/tfjs';
import { disposeModel, initModel, type Model } from '@resnet/tfjs';
import { evaluate, train, type TrainOptions } from './loop.ts';
import { createSgdState, disposeSgdState, type SgdState } from './sgd.ts';
import { FRESH, type EpochMetrics, type TrainerProgress } from '@resnet/run-dir';
import { loadCheckpoint, saveCheckpoint } from './checkpoint.ts';
import { smallSplits, tinyNet } from './_test_support.ts';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const options: TrainOptions = {
  epochs: 2,
  batchSize: 16,
  schedule: { _tag: 'Constant', lr: 0.1 },
  sgd: { momentum: 0.9, nesterov: true, weightDecay: 5e-4 },
  labelSmoothing: 0,
  imageSize: 28,
  augment: { crop: true, flip: true },
  seed: 7,
  classes: 10,
};

function fresh(): { model: Model; sgd: SgdState } {
  const model = initModel(tinyNet(), { seed: 3 });
  return { model, sgd: createSgdState(model.params) };
}

function snapshot(model: Model): Map<string, Float32Array> {
  return new Map([...model.params, ...model.state].map(([k, v]) => [k, v.dataSync() as Float32Array]));
}

function free({ model, sgd }: { model: Model; sgd: SgdState }): void {
  disposeModel(model);
  disposeSgdState(sgd);
}

describe('train', () => {
  test('three epochs on 64 images lower the loss, with flat tf.memory().numTensors across steps', async () => {
    const { train: trainSet, test: testSet } = smallSplits(64, 32);
    const run = fresh();
    const counts: number[] = [];
    const metrics: EpochMetrics[] = [];
    const result = await train({
      ...run,
      trainSet,
      testSet,
      options: { ...options, epochs: 3 },
      start: FRESH,
      hooks: {
        progressEvery: 0,
        onProgress: () => counts.push(tf.memory().numTensors),
        onEpoch: async (m) => {
          metrics.push(m);
        },
      },
    });
    expect(E.isRight(result)).toBe(true);
    expect(metrics.map((m) => m.epoch)).toEqual([1, 2, 3]);
    expect(metrics[2]?.loss).toBeLessThan(metrics[0]?.loss ?? 0);
    for (const m of metrics) {
      expect(m.testAcc).toBeGreaterThanOrEqual(0);
      expect(m.examplesPerSec).toBeGreaterThan(0);
    }
    // Same tensor count after every step, in every epoch.
    expect(new Set(counts).size).toBe(1);
    free(run);
  });

  test('resuming from an epoch checkpoint or a mid-epoch interrupt gives the same weights as an uninterrupted run', async () => {
    const { train: trainSet, test: testSet } = smallSplits(48, 16);
    const noop = { onEpoch: async () => undefined };

    const straight = fresh();
    await train({ ...straight, trainSet, testSet, options, start: FRESH, hooks: noop });
    const expected = snapshot(straight.model);
    free(straight);

    // Stop after epoch 1 (checkpoint), then after 2 steps of epoch 2 (interrupt), resuming each time in a new process-like state.
    const dir = mkdtempSync(join(tmpdir(), 'resume-'));
    const first = fresh();
    await train({
      ...first,
      trainSet,
      testSet,
      options: { ...options, epochs: 1 },
      start: FRESH,
      hooks: { onEpoch: (_m, p) => saveCheckpoint(dir, first.model, first.sgd, p) },
    });
    free(first);

    const second = fresh();
    const at = loadCheckpoint(dir, second.model, second.sgd);
    if (E.isLeft(at)) throw new Error(at.left.message);
    expect(at.right).toMatchObject({ epoch: 1, step: 0 });
    let steps = 0;
    const interrupted = await train({
      ...second,
      trainSet,
      testSet,
      options,
      start: at.right,
      hooks: {
        ...noop,
        progressEvery: 0,
        onProgress: () => steps++,
        shouldStop: () => steps >= 2,
        onInterrupt: (p: TrainerProgress) => saveCheckpoint(dir, second.model, second.sgd, p),
      },
    });
    expect(E.isRight(interrupted) && interrupted.right.interrupted).toBe(true);
    free(second);

    const third = fresh();
    const mid = loadCheckpoint(dir, third.model, third.sgd);
    if (E.isLeft(mid)) throw new Error(mid.left.message);
    expect(mid.right).toMatchObject({ epoch: 1, step: 2 });
    await train({ ...third, trainSet, testSet, options, start: mid.right, hooks: noop });
    const resumed = snapshot(third.model);
    free(third);

    for (const [key, values] of expected) expect(resumed.get(key)).toEqual(values);
    expect(JSON.parse(readFileSync(join(dir, 'latest.json'), 'utf8'))).toMatchObject({ epoch: 1, step: 2 });
  });

  test('each epoch records its training’s CPU time; a mid-epoch resume adds the part before it; resumed mid-epoch from a checkpoint without it, the epoch records none', async () => {
    const { train: trainSet, test: testSet } = smallSplits(32, 8); // 2 steps an epoch
    const one = { ...options, epochs: 1 };
    const lines: EpochMetrics[] = [];
    const record = { onEpoch: async (m: EpochMetrics) => void lines.push(m) };
    const run = fresh();
    try {
      await train({ ...run, trainSet, testSet, options: one, start: FRESH, hooks: record });
      const whole = lines[0];
      expect(whole?.cpuSeconds).toBeGreaterThan(0);
      // All of the process's threads count (tfjs, V8's helpers), but not more than the machine has over the epoch.
      expect(whole?.cpuSeconds).toBeLessThanOrEqual((whole?.seconds ?? 0) * (availableParallelism() + 1));

      let steps = 0;
      let stopped: TrainerProgress | undefined;
      await train({
        ...run,
        trainSet,
        testSet,
        options: one,
        start: FRESH,
        hooks: {
          ...record,
          progressEvery: 0,
          onProgress: () => steps++,
          shouldStop: () => steps >= 1,
          onInterrupt: async (p) => void (stopped = p),
        },
      });
      if (stopped === undefined) throw new Error('not interrupted');
      expect(stopped).toMatchObject({ epoch: 0, step: 1 });
      expect(stopped.partial.cpuSeconds).toBeGreaterThan(0);

      const at = stopped;
      const resumeWith = async (partial: TrainerProgress['partial']) => {
        lines.length = 0;
        await train({ ...run, trainSet, testSet, options: one, start: { ...at, partial }, hooks: record });
        return lines[0];
      };
      // The part before the interrupt (made large here to be seen) is added to what the rest of the epoch used.
      expect((await resumeWith({ ...stopped.partial, cpuSeconds: 1000 }))?.cpuSeconds).toBeGreaterThan(1000);
      const { lossSum, correct, seen, seconds } = stopped.partial;
      expect(await resumeWith({ lossSum, correct, seen, seconds })).not.toHaveProperty('cpuSeconds');
      // At an epoch boundary nothing of the epoch was done yet: a checkpoint without it still gives the whole epoch's.
      lines.length = 0;
      await train({
        ...run,
        trainSet,
        testSet,
        options: one,
        start: { epoch: 0, step: 0, partial: { lossSum: 0, correct: 0, seen: 0, seconds: 0 } },
        hooks: record,
      });
      expect(lines[0]?.cpuSeconds).toBeGreaterThan(0);
    } finally {
      free(run);
    }
  });

  test('checkpoints within an epoch: after every step but an epoch’s last, their time left out of the epoch’s seconds; training from one ends as the uninterrupted run', async () => {
    const { train: trainSet, test: testSet } = smallSplits(32, 8); // 2 steps an epoch
    const straight = fresh();
    await train({ ...straight, trainSet, testSet, options, start: FRESH, hooks: { onEpoch: async () => undefined } });
    const expected = snapshot(straight.model);
    free(straight);

    const dir = mkdtempSync(join(tmpdir(), 'midepoch-'));
    const saved: { epoch: number; step: number }[] = [];
    const lines: EpochMetrics[] = [];
    const run = fresh();
    const began = performance.now();
    await train({
      ...run,
      trainSet,
      testSet,
      options,
      start: FRESH,
      hooks: {
        onEpoch: async (m) => void lines.push(m),
        checkpointEvery: 0,
        onCheckpoint: async (p) => {
          saved.push({ epoch: p.epoch, step: p.step });
          // The first one is kept on disk to train from below; each takes 300 ms that the epoch must not count.
          if (saved.length === 1) await saveCheckpoint(dir, run.model, run.sgd, p);
          await new Promise((resolve) => setTimeout(resolve, 300));
        },
      },
    });
    const wall = (performance.now() - began) / 1000;
    free(run);
    expect(saved).toEqual([
      { epoch: 0, step: 1 },
      { epoch: 1, step: 1 },
    ]);
    // Two saves of ≥ 0.3 s are not in the epochs' seconds (which leave out the test passes as well).
    expect(lines.reduce((sum, m) => sum + m.seconds, 0)).toBeLessThan(wall - 0.6);

    const from = fresh();
    const at = loadCheckpoint(dir, from.model, from.sgd);
    if (E.isLeft(at)) throw new Error(at.left.message);
    expect(at.right).toMatchObject({ epoch: 0, step: 1 });
    await train({ ...from, trainSet, testSet, options, start: at.right, hooks: { onEpoch: async () => undefined } });
    const resumed = snapshot(from.model);
    free(from);
    for (const [key, values] of expected) expect(resumed.get(key)).toEqual(values);
  });

  test('a non-finite loss stops training with a clear error and no epoch is reported', async () => {
    const { train: trainSet, test: testSet } = smallSplits(32, 16);
    const run = fresh();
    const epochs: EpochMetrics[] = [];
    const result = await train({
      ...run,
      trainSet,
      testSet,
      options: { ...options, epochs: 1, schedule: { _tag: 'Constant', lr: 1e30 }, sgd: { momentum: 0, nesterov: false, weightDecay: 0 } },
      start: FRESH,
      hooks: { progressEvery: 0, onProgress: () => undefined, onEpoch: async (m) => void epochs.push(m) },
    });
    expect(E.isLeft(result) && result.left._tag).toBe('NonFinite');
    expect(E.isLeft(result) && result.left.message).toContain('NaN or infinite');
    expect(epochs).toEqual([]);
    free(run);
  });

  test('evaluate counts every test example once and its confusion matrix sums to the split', async () => {
    const { test: testSet } = smallSplits(0, 40);
    const run = fresh();
    const result = evaluate(run.model, testSet, { batchSize: 16, imageSize: 28, classes: 10 });
    expect(result.count).toBe(40);
    expect(result.confusion.flat().reduce((a, b) => a + b, 0)).toBe(40);
    expect(result.correct).toBe(result.confusion.reduce((s, row, i) => s + (row[i] ?? 0), 0));
    free(run);
  });
});
