import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { LOCK_DIR } from '@resnet/files';
import { progressRecord, writeProgress, writeStopRecord } from '@resnet/run-dir';
import { discoverRuns, liveRun } from './live.ts';
import { epochs, runConfig, tempDir, writeRun } from './testing.ts';

const report = { epoch: 2, epochs: 3, step: 10, steps: 40, loss: 0.5, trainAcc: 0.8, examplesPerSec: 100, lr: 0.05, seconds: 20 };
const deadPid = () => Number(spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }).stdout);

function lock(dir: string, owner: { readonly host?: string; readonly pid: number }): void {
  mkdirSync(join(dir, LOCK_DIR));
  writeFileSync(
    join(dir, LOCK_DIR, 'owner.json'),
    JSON.stringify({
      host: hostname(),
      startedAt: '2026-12-05T00:00:00.000Z',
      processStart: null,
      command: 'train:serve',
      slurm: null,
      ...owner,
    }),
  );
}

describe('liveRun: where a run stands, from its own files', () => {
  const root = tempDir('live-');
  const at = (name: string, done: number) => writeRun(join(root, name), runConfig(18, { epochs: 3, seed: 4 }), epochs(done));
  const state = (dir: string, staleSeconds = 300) => {
    const r = liveRun(dir, { staleSeconds });
    return { state: r.state, detail: r.detail };
  };

  test('finished: every epoch and the model; its accuracies and mean speed', () => {
    const dir = at('finished', 3);
    mkdirSync(join(dir, 'model'));
    writeFileSync(join(dir, 'model', 'manifest.json'), '{}');
    expect(liveRun(dir, { staleSeconds: 300 })).toMatchObject({
      state: 'finished',
      detail: '3/3 epochs',
      label: 'ResNet-18',
      seed: 4,
      epochsDone: 3,
      epochsPlanned: 3,
      finalTestAcc: 0.71,
      bestTestAcc: 0.71,
      examplesPerSec: 40,
    });
  });

  test('running: its live owner wrote the record (epoch, step, ETA); starting before its first record', () => {
    const dir = at('running', 1);
    lock(dir, { pid: process.pid });
    expect(state(dir)).toEqual({ state: 'starting', detail: `pid ${process.pid} on ${hostname()} is starting it` });
    writeProgress(dir, progressRecord('training', report));
    expect(state(dir)).toEqual({ state: 'running', detail: 'epoch 2/3, step 10/40, ETA 2 min 20 s' });
  });

  test('stale: its record says training but its process is gone; on another host, when silent longer than allowed', () => {
    const dir = at('killed', 1);
    writeProgress(dir, progressRecord('training', report));
    lock(dir, { pid: deadPid() });
    expect(state(dir).state).toBe('stale');
    expect(state(dir).detail).toMatch(/stopped without a word at epoch 2\/3, step 10\/40 \(killed\?\)/);
    const remote = at('remote', 1);
    writeProgress(remote, {
      ...progressRecord('training', report),
      host: 'node-17',
      pid: 1,
      updatedAt: new Date(Date.now() - 60_000).toISOString(),
    });
    lock(remote, { host: 'node-17', pid: 1 });
    expect(state(remote, 300).state).toBe('running');
    expect(state(remote, 30).state).toBe('stale');
  });

  test('failed with the recorded error; stopped with how to continue; an unreadable file is an error naming it', () => {
    const failed = at('failed', 1);
    writeProgress(failed, progressRecord('failed', { ...report, loss: NaN }, 'the loss became NaN at epoch 2, step 10'));
    expect(state(failed)).toEqual({ state: 'failed', detail: 'the loss became NaN at epoch 2, step 10' });
    const stopped = at('stopped', 1);
    writeStopRecord(stopped, { reason: 'SIGTERM', epoch: 1, step: 12, continueWith: 'npx nx run train:serve --resume=x' });
    expect(state(stopped)).toEqual({
      state: 'stopped',
      detail: 'stopped by SIGTERM at epoch 2, step 12; continue with: npx nx run train:serve --resume=x',
    });
    const broken = writeRun(join(root, 'broken'), runConfig(18), '{"epoch": 1, "loss": oops\n');
    expect(state(broken).state).toBe('error');
    expect(state(broken).detail).toContain(`${join(broken, 'metrics.jsonl')}:1`);
    writeFileSync(join(at('badprogress', 1), 'progress.json'), '{');
    expect(state(join(root, 'badprogress')).state).toBe('error');
  });

  test('runs are found in a run, a sweep and a folder of sweeps; a path not there yet has none', () => {
    const top = tempDir('discover-');
    writeRun(join(top, 'a', 'resnet18-seed1'), runConfig(18), null);
    writeRun(join(top, 'a', 'resnet18-seed2'), runConfig(18), null);
    writeRun(join(top, 'b'), runConfig(50), null);
    mkdirSync(join(top, 'a', '.slurm'));
    expect(discoverRuns([top, join(top, 'missing')])).toEqual([
      join(top, 'a', 'resnet18-seed1'),
      join(top, 'a', 'resnet18-seed2'),
      join(top, 'b'),
    ]);
    expect(discoverRuns([join(top, 'b')])).toEqual([join(top, 'b')]);
  });
});
