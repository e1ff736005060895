// A write that fails at any step of an epoch's bookkeeping — the metrics line, each file of the
// checkpoint, each rename, latest.json, each folder fsync, the final model — as a full disk
// would: the run stops with a typed failure (no exception), leaves no temporary file, keeps its
// last checkpoint and metrics readable, and, continued as the failure message says, ends with
// the metrics and weights of a run that never failed.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import * as E from 'fp-ts/Either';
import * as tf from '@tensorflow/tfjs';
import type { FashionMnist } from '@resnet/fashion-mnist';
import { failWriteStep } from '@resnet/files/testing';
import { registerOnednn } from '@resnet/onednn';
import { PROTOCOLS, protocolSchedule } from '@resnet/recipe';
import { hasFinalModel, isTempFile, openRun, PROGRESS_FILE, RUN_FORMAT, type RunSettings } from '@resnet/run-dir';
import { trainRun, type RunFailure } from './run.ts';
import { smallSplits } from './_test_support.ts';

const status = registerOnednn();
const describeOnednn = status.ok || process.env['CI'] === 'true' ? describe : describe.skip;
if (!status.ok) console.warn(`[onednn] ${process.env['CI'] === 'true' ? 'REQUIRED' : 'SKIPPED'}: ${status.reason}`);

beforeAll(async () => {
  if (status.ok && !(await tf.setBackend('onednn'))) throw new Error('tf.setBackend("onednn") failed');
});

// ResNet-18's checkpoints are 130 MB, fsynced at every step: on a memory file system where there is one.
const base = mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'faults-'));
afterAll(() => rmSync(base, { recursive: true, force: true }));

const splits = smallSplits(16, 8);
const data = { ...splits, source: { dir: 'synthetic' } } as unknown as FashionMnist;

// ResNet-18 on 8×8 images, 2 steps of 8 an epoch, 2 epochs.
function settings(): RunSettings {
  const p = PROTOCOLS.default;
  const schedule = protocolSchedule('default', 2);
  if (E.isLeft(schedule)) throw new Error(schedule.left.message);
  return {
    format: RUN_FORMAT,
    protocol: 'default',
    variant: 18,
    version: p.version,
    stem: p.stem,
    epochs: 2,
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
    seed: 5,
    classes: 10,
    precision: 'fp32',
  };
}

// progress.json is rewritten on a timer, so how many times varies: its steps neither count nor fail.
const counts = (step: { readonly of: string }) => basename(step.of) !== PROGRESS_FILE;
const metricsOf = (dir: string) =>
  readFileSync(join(dir, 'metrics.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, number>)
    .map(({ epoch, loss, trainAcc, testAcc, lr }) => ({ epoch, loss, trainAcc, testAcc, lr }));

function leftovers(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return [...(isTempFile(name) ? [path] : []), ...(statSync(path).isDirectory() ? leftovers(path) : [])];
  });
}

describeOnednn('a write that fails at any step of a run (fault injection)', () => {
  test('each step of creating a run and of its last epoch and final model failing once: a typed failure, nothing half-written, the last checkpoint intact, and the continued run equals one that never failed', async () => {
    const whole = join(base, 'whole');
    const { result, steps } = await failWriteStep(0, () => trainRun({ _tag: 'Start', dir: whole, config: settings() }, { data }), {
      counts,
    });
    expect(E.isRight(result)).toBe(true);
    // config.json; per epoch the metrics line and the checkpoint (2 files, 2 renames, 3 fsyncs) and latest.json; the model.
    const kinds = steps.map((s) => `${s.op} ${basename(s.path).replace(/\.tmp-\d+$/, '')}`);
    expect(kinds).toEqual(
      expect.arrayContaining([
        'write config.json',
        'write metrics.jsonl',
        'write weights.bin',
        'write manifest.json',
        'rename latest.json',
        'rename model',
      ]),
    );
    expect(steps.length).toBeGreaterThanOrEqual(30);

    // Before the first metrics line: the lock's owner.json and config.json, each written, renamed and its folder synced.
    const firstEpochStep = steps.findIndex((s) => basename(s.path).startsWith('metrics.jsonl')) + 1;
    expect(kinds.slice(0, firstEpochStep - 1)).toEqual([
      'write owner.json',
      'rename owner.json',
      'sync .lock',
      'write config.json',
      'rename config.json',
      'sync whole',
    ]);
    // Every step of creating the run, then every step from epoch 2's metrics line to the end (epoch 1's
    // bookkeeping has the same steps as epoch 2's, whose failure has a checkpoint to continue from).
    const secondEpoch = steps.findIndex((s, i) => i >= firstEpochStep && basename(s.path).startsWith('metrics.jsonl')) + 1;
    expect(secondEpoch).toBeGreaterThan(firstEpochStep);
    const trials = [
      ...Array.from({ length: firstEpochStep - 1 }, (_, i) => i + 1),
      ...Array.from({ length: steps.length - secondEpoch + 1 }, (_, i) => secondEpoch + i),
    ];
    const outcomes: string[] = [];
    for (const at of trials) {
      const dir = join(base, `fail-${at}`);
      const step = steps[at - 1];
      const failed = await failWriteStep(at, () => trainRun({ _tag: 'Start', dir, config: settings() }, { data }), { counts });
      const failure = E.isLeft(failed.result) ? failed.result.left : null;
      // Claiming and creating the run (.lock/owner.json, config.json) fail as the run directory's Io error, anything later as Write.
      const tag = failure?._tag === 'RunDir' ? `RunDir ${failure.error._tag}` : failure?._tag;
      const creating = at < firstEpochStep;
      expect({ at, step, failure: tag }).toEqual({ at, step, failure: creating ? 'RunDir Io' : 'Write' });
      const write: Extract<RunFailure, { _tag: 'Write' }> =
        failure?._tag === 'Write'
          ? failure
          : { _tag: 'Write', dir, error: { _tag: 'SystemError', code: 'ENOSPC', syscall: null, target: null }, checkpoint: null };
      expect(write.error.code).toBe('ENOSPC');
      expect({ at, leftovers: leftovers(dir) }).toEqual({ at, leftovers: [] });
      // What is on disk reads back (config, metrics 1..n, latest.json naming a whole checkpoint) ...
      const opened = write.checkpoint === null ? null : openRun(dir);
      if (opened !== null) {
        expect({ at, opened: E.isRight(opened) }).toEqual({ at, opened: true });
        // ... and the checkpoint the failure names is the latest one.
        if (E.isRight(opened))
          expect({ at, latest: { epoch: opened.right.latest?.epoch, step: opened.right.latest?.step } }).toEqual({
            at,
            latest: write.checkpoint,
          });
      }
      // The way on, as the message says: continue from the checkpoint, or start again without one.
      const on = await trainRun(
        write.checkpoint === null ? { _tag: 'Start', dir, config: settings() } : { _tag: 'Continue', dir, epochs: null },
        { data },
      );
      // A failure at the final model's last fsync leaves a finished run: nothing more to train.
      const finished = E.isLeft(on) && on.left._tag === 'AlreadyTrained' && hasFinalModel(dir);
      expect({ at, continued: E.isRight(on) || finished || JSON.stringify(on.left) }).toEqual({ at, continued: true });
      expect({ at, metrics: metricsOf(dir) }).toEqual({ at, metrics: metricsOf(whole) });
      const same = Buffer.compare(readFileSync(join(dir, 'model', 'weights.bin')), readFileSync(join(whole, 'model', 'weights.bin'))) === 0;
      expect({ at, sameWeights: same }).toEqual({ at, sameWeights: true });
      outcomes.push(`${at} ${kinds[at - 1]}: checkpoint ${write.checkpoint === null ? 'none' : `epoch ${write.checkpoint.epoch}`}`);
      rmSync(dir, { recursive: true, force: true });
    }
    expect(outcomes).toHaveLength(trials.length);
    expect(outcomes.filter((o) => o.endsWith('epoch 1'))).not.toHaveLength(0);
  }, 300_000);
});
