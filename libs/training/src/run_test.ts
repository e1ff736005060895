// trainRun in-process: start, re-plan, refuse, interrupt and continue; every tensor disposed.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as E from 'fp-ts/Either';
import * as tf from '@tensorflow/tfjs';
import { processMemory } from '@resnet/backend';
import type { FashionMnist } from '@resnet/fashion-mnist';
import { registerOnednn } from '@resnet/onednn';
import { readProgress, RUN_FORMAT, type RunSettings } from '@resnet/run-dir';
import { estimateStepMemory } from '@resnet/tfjs';
import { trainRun, type RunEvent } from './run.ts';
import { PROTOCOLS, protocolSchedule, runSpec } from '@resnet/recipe';
import { smallSplits } from './_test_support.ts';

// A real ResNet-18 (what runSpec builds) is too slow for a test on the pure-JS backend.
const status = registerOnednn();
const describeOnednn = status.ok || process.env['CI'] === 'true' ? describe : describe.skip;
if (!status.ok) console.warn(`[onednn] ${process.env['CI'] === 'true' ? 'REQUIRED' : 'SKIPPED'}: ${status.reason}`);

beforeAll(async () => {
  // Not silently on another backend: setBackend returns false when onednn cannot start.
  if (status.ok && !(await tf.setBackend('onednn'))) throw new Error('tf.setBackend("onednn") failed');
});

const splits = smallSplits(24, 8);
const data = { ...splits, source: { dir: 'synthetic' } } as unknown as FashionMnist;
const tmp = () => mkdtempSync(join(tmpdir(), 'trainrun-'));

// ResNet-18 on 8×8 images, 3 steps of 8 an epoch, the default protocol's cosine schedule with warmup.
function settings(epochs: number): RunSettings {
  const p = PROTOCOLS.default;
  const schedule = protocolSchedule('default', epochs);
  if (E.isLeft(schedule)) throw new Error(schedule.left.message);
  return {
    format: RUN_FORMAT,
    protocol: 'default',
    variant: 18,
    version: p.version,
    stem: p.stem,
    epochs,
    batchSize: 8,
    schedule: schedule.right,
    momentum: p.momentum,
    nesterov: p.nesterov,
    weightDecay: p.weightDecay,
    labelSmoothing: 0,
    clipNorm: null,
    imageSize: 8,
    augment: { crop: true, flip: true },
    zeroInitResidual: true,
    trainLimit: null,
    testLimit: null,
    seed: 3,
    classes: 10,
    precision: 'fp32',
  };
}

const metricLines = (dir: string) =>
  readFileSync(join(dir, 'metrics.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, number>);
const metricsOf = (dir: string) =>
  metricLines(dir).map(({ epoch, loss, trainAcc, testAcc, lr }) => ({ epoch, loss, trainAcc, testAcc, lr }));

describeOnednn('trainRun (onednn backend)', () => {
  test('interrupted mid-epoch and continued, a run ends with the metrics lines and weights of an uninterrupted one, and leaves no tensor behind', async () => {
    const before = tf.memory().numTensors;
    const whole = join(tmp(), 'whole');
    const a = await trainRun({ _tag: 'Start', dir: whole, config: settings(2) }, { data });
    expect(E.isRight(a) && a.right.history.length).toBe(2);
    expect(tf.memory().numTensors).toBe(before);

    const split = join(tmp(), 'split');
    // Asked before every step: 3 steps in epoch 1, then stop before step 2 of epoch 2.
    let asked = 0;
    const events: RunEvent['_tag'][] = [];
    const first = await trainRun(
      { _tag: 'Start', dir: split, config: settings(2) },
      { data, onEvent: (e) => events.push(e._tag), shouldStop: () => ++asked > 4 },
    );
    expect(first).toMatchObject(E.right({ interrupted: true }));
    // progress.json says where it stopped: after step 1 of epoch 2 (of 3 steps, 2 epochs).
    expect(readProgress(split)).toMatchObject(
      E.right({ state: 'stopped', epoch: 2, epochs: 2, step: 1, steps: 3, pid: process.pid, error: null }),
    );
    const second = await trainRun({ _tag: 'Continue', dir: split, epochs: null }, { data, onEvent: (e) => events.push(e._tag) });
    expect(second).toMatchObject(E.right({ interrupted: false }));
    expect(events).toEqual(['Started', 'Epoch', 'Interrupted', 'Resumed', 'Started', 'Epoch', 'SavedModel']);
    expect(readProgress(split)).toMatchObject(E.right({ state: 'finished', epoch: 2, step: 3, steps: 3, etaSeconds: 0 }));
    // The resumed epoch's line too, with a learning rate that changed every step.
    expect(metricsOf(split)).toEqual(metricsOf(whole));
    // Epoch 2's CPU time came through the checkpoint on disk: its line has it as the uninterrupted run's has.
    const cpuOf = (dir: string) => metricLines(dir).map((l) => l['cpuSeconds']);
    expect(cpuOf(split).every((c) => c !== undefined && c > 0)).toBe(true);
    expect(cpuOf(whole).every((c) => c !== undefined && c > 0)).toBe(true);
    expect(new Set(metricsOf(whole).map((m) => m.lr)).size).toBe(2);
    expect(Buffer.compare(readFileSync(join(split, 'model', 'weights.bin')), readFileSync(join(whole, 'model', 'weights.bin')))).toBe(0);
    expect(tf.memory().numTensors).toBe(before);
  });

  test('an epoch continued from a mid-epoch checkpoint records the memory peak of every process that trained it, carried in the checkpoint', async () => {
    const dir = join(tmp(), 'peak');
    // Stopped before step 2 of epoch 1: the interrupt's checkpoint holds this process's peak so far.
    let asked = 0;
    const first = await trainRun({ _tag: 'Start', dir, config: settings(2) }, { data, shouldStop: () => ++asked > 1 });
    expect(first).toMatchObject(E.right({ interrupted: true }));
    const latest = JSON.parse(readFileSync(join(dir, 'latest.json'), 'utf8')) as { checkpoint: string };
    const manifestPath = join(dir, 'checkpoints', latest.checkpoint, 'manifest.json');
    const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as {
      meta: { progress: { step: number; partial: { peakRssBytes?: number } } };
    };
    expect(manifest.meta.progress.step).toBe(1);
    expect(manifest.meta.progress.partial.peakRssBytes).toBeGreaterThan(1e8);
    // As if the earlier process had peaked far above this one: the continued epoch's line says so, the next epoch's does not.
    const earlier = 7e12;
    manifest.meta.progress.partial.peakRssBytes = earlier;
    writeFileSync(manifestPath, JSON.stringify(manifest));
    const second = await trainRun({ _tag: 'Continue', dir, epochs: null }, { data });
    expect(second).toMatchObject(E.right({ interrupted: false }));
    const peaks = metricLines(dir).map((l) => l['peakRssBytes']);
    expect(peaks[0]).toBe(earlier);
    expect(peaks[1]).toBeGreaterThan(1e8);
    expect(peaks[1]).toBeLessThan(earlier);
  });

  test('re-planning writes the change to config.json; a finished run is not trained again; a run with no checkpoint starts again', async () => {
    const dir = join(tmp(), 'r');
    await trainRun({ _tag: 'Start', dir, config: settings(1) }, { data });
    expect(await trainRun({ _tag: 'Continue', dir, epochs: null }, { data })).toEqual(
      E.left({ _tag: 'AlreadyTrained', dir, epochsDone: 1 }),
    );
    const longer = await trainRun({ _tag: 'Continue', dir, epochs: 2 }, { data });
    expect(E.isRight(longer) && longer.right.history.map((m) => m.epoch)).toEqual([1, 2]);
    expect(JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'))).toMatchObject({
      epochs: 2,
      replanned: [{ afterEpoch: 1, afterStep: 0, from: 1, to: 2 }],
    });

    // Stopped before its first step: without a checkpoint (as after a kill) it starts again.
    const events: RunEvent['_tag'][] = [];
    const fromZero = join(tmp(), 'zero');
    expect(await trainRun({ _tag: 'Start', dir: fromZero, config: settings(1) }, { data, shouldStop: () => true })).toMatchObject(
      E.right({ interrupted: true }),
    );
    rmSync(join(fromZero, 'latest.json'));
    expect(await trainRun({ _tag: 'Continue', dir: fromZero, epochs: 3 }, { data })).toEqual(
      E.left({ _tag: 'NothingToExtend', dir: fromZero, epochs: 3 }),
    );
    const again = await trainRun({ _tag: 'Continue', dir: fromZero, epochs: null }, { data, onEvent: (e) => events.push(e._tag) });
    expect(again).toMatchObject(E.right({ interrupted: false }));
    expect(events[0]).toBe('Restarted');
    expect(existsSync(join(fromZero, 'model', 'manifest.json'))).toBe(true);
  });

  test('a reference run (tools/torch_reference.py) is not continued: the refusal names it and its directory is left as it was', async () => {
    const dir = join(tmp(), 'pytorch-resnet18');
    mkdirSync(dir);
    const config = {
      ...settings(1),
      createdAt: '2026-12-02T13:00:00.000Z',
      reference: { framework: 'pytorch', version: '1.13.0a0', script: 'tools/torch_reference.py' },
    };
    writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
    writeFileSync(join(dir, 'metrics.jsonl'), '');
    const r = await trainRun({ _tag: 'Continue', dir, epochs: null }, { data });
    expect(r).toEqual(E.left({ _tag: 'NotResumable', dir, madeBy: 'tools/torch_reference.py (pytorch 1.13.0a0)' }));
    expect(readdirSync(dir).sort()).toEqual(['config.json', 'metrics.jsonl']);
    expect(readFileSync(join(dir, 'metrics.jsonl'), 'utf8')).toBe('');
  });

  test('each epoch’s metrics line records the process’s resident memory and its peak; a run announces its step’s estimate against the memory given; a step estimated beyond it is refused before anything is written, naming the batch that fits', async () => {
    const dir = join(tmp(), 'memory');
    const done = await trainRun({ _tag: 'Start', dir, config: settings(1) }, { data });
    expect(E.isRight(done)).toBe(true);
    const [line] = metricLines(dir);
    expect(line?.['peakRssBytes']).toBeGreaterThan(1e8);
    expect(line?.['rssBytes']).toBeGreaterThan(1e8);
    expect(line?.['rssBytes']).toBeLessThanOrEqual(line?.['peakRssBytes'] ?? 0);

    const big = join(tmp(), 'too-big');
    const spec = runSpec(settings(1));
    if (E.isLeft(spec)) throw new Error(spec.left.message);
    const estimate = estimateStepMemory(spec.right.net, [8, 8, 8, 1]);
    const needed = E.isRight(estimate) ? estimate.right.peakRssBytes : NaN;
    // Just enough: the run starts, and says what it estimated against what it was given.
    const started: RunEvent[] = [];
    const fits = await trainRun(
      { _tag: 'Start', dir: join(tmp(), 'fits'), config: settings(1) },
      { data, memoryBytes: needed, onEvent: (e) => e._tag === 'Started' && started.push(e) },
    );
    expect(E.isRight(fits)).toBe(true);
    expect(started).toMatchObject([{ memory: { estimateBytes: needed, machineBytes: needed } }]);
    const refused = await trainRun({ _tag: 'Start', dir: big, config: settings(1) }, { data, memoryBytes: needed - 1 });
    expect(refused).toMatchObject(
      E.left({
        _tag: 'Memory',
        dir: big,
        variant: 18,
        imageSize: 8,
        batchSize: 8,
        estimateBytes: needed,
        machineBytes: needed - 1,
        fits: 7,
      }),
    );
    expect(existsSync(big)).toBe(false);
  });

  test('a run’s memory peak is its own: a larger peak earlier in the same process (an earlier run of a local sweep) is not recorded', async () => {
    // 1 GB made resident (not only reserved), then unreachable before the run starts.
    const earlier = ((): number => {
      Buffer.alloc(1024 ** 3).fill(1);
      return processMemory()?.peakRssBytes ?? NaN;
    })();
    const dir = join(tmp(), 'after-a-larger-one');
    const done = await trainRun({ _tag: 'Start', dir, config: settings(1) }, { data });
    expect(E.isRight(done)).toBe(true);
    const [line] = metricLines(dir);
    expect(line?.['peakRssBytes']).toBeGreaterThan(1e8);
    expect(line?.['peakRssBytes']).toBeLessThan(earlier - 0.5 * 1024 ** 3);
  });

  test('a run whose config.json records another precision than the backend computes in is refused before anything is written (never trained under the wrong label)', async () => {
    const fresh = join(tmp(), 'bf16-run');
    const started = await trainRun({ _tag: 'Start', dir: fresh, config: { ...settings(1), precision: 'bf16' }, bookkeeping: {} }, { data });
    expect(started).toEqual(E.left({ _tag: 'Precision', dir: fresh, recorded: 'bf16', active: 'fp32' }));
    expect(existsSync(fresh) ? readdirSync(fresh).filter((f) => !f.startsWith('.')) : []).toEqual([]);
    const dir = join(tmp(), 'recorded-bf16');
    mkdirSync(dir);
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ ...settings(1), precision: 'bf16' }));
    writeFileSync(join(dir, 'metrics.jsonl'), '');
    const continued = await trainRun({ _tag: 'Continue', dir, epochs: null }, { data });
    expect(continued).toEqual(E.left({ _tag: 'Precision', dir, recorded: 'bf16', active: 'fp32' }));
    expect(
      readdirSync(dir)
        .filter((f) => !f.startsWith('.'))
        .sort(),
    ).toEqual(['config.json', 'metrics.jsonl']);
  });
});
