import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { LOCK_DIR } from '@resnet/files';
import { MODEL_DIR } from './layout.ts';
import { progressRecord } from './progress.ts';
import { runStanding } from './standing.ts';
import { writeStopRecord } from './stop_record.ts';

const report = { epoch: 2, epochs: 3, step: 10, steps: 40, loss: 0.5, trainAcc: 0.8, examplesPerSec: 100, lr: 0.05, seconds: 20 };
const deadPid = () => Number(spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }).stdout);

function lock(dir: string, owner: { readonly host?: string; readonly pid: number }): void {
  mkdirSync(join(dir, LOCK_DIR));
  const record = { host: hostname(), startedAt: '', processStart: null, command: 'train:serve', slurm: null, ...owner };
  writeFileSync(join(dir, LOCK_DIR, 'owner.json'), JSON.stringify(record));
}

describe('runStanding: where a run stands, from its files and its lock', () => {
  const fresh = () => mkdtempSync(join(tmpdir(), 'standing-'));
  const options = { staleSeconds: 300 };

  test('training while a live process holds the lock; its progress only when that process wrote it', () => {
    const dir = fresh();
    lock(dir, { pid: process.pid });
    const mine = { ...progressRecord('training', report), pid: process.pid };
    expect(runStanding(dir, { epochsDone: 1, epochs: 3, progress: mine }, options)).toMatchObject({ _tag: 'Training', progress: mine });
    const earlier = { ...mine, pid: deadPid() };
    expect(runStanding(dir, { epochsDone: 1, epochs: 3, progress: earlier }, options)).toMatchObject({ _tag: 'Training', progress: null });
  });

  test('all epochs are not finished until the model is written; a recorded failure wins over a stop record', () => {
    const dir = fresh();
    expect(runStanding(dir, { epochsDone: 3, epochs: 3, progress: null }, options)).toEqual({ _tag: 'Idle', progress: null });
    mkdirSync(join(dir, MODEL_DIR));
    writeFileSync(join(dir, MODEL_DIR, 'manifest.json'), '{}');
    expect(runStanding(dir, { epochsDone: 3, epochs: 3, progress: null }, options)).toEqual({ _tag: 'Finished' });
    const failed = fresh();
    writeStopRecord(failed, { reason: 'SIGTERM', epoch: 1, step: 12, continueWith: 'x' });
    const record = progressRecord('failed', report, 'the loss became NaN');
    expect(runStanding(failed, { epochsDone: 1, epochs: 3, progress: record }, options)).toEqual({
      _tag: 'Failed',
      error: 'the loss became NaN',
    });
    expect(runStanding(failed, { epochsDone: 1, epochs: 3, progress: null }, options)).toMatchObject({
      _tag: 'Stopped',
      stop: { step: 12 },
    });
  });

  test('stale: a record that says training with its process gone; on another host, silent longer than allowed', () => {
    const dir = fresh();
    const record = progressRecord('training', report);
    lock(dir, { pid: deadPid() });
    expect(runStanding(dir, { epochsDone: 1, epochs: 3, progress: record }, options)).toMatchObject({ _tag: 'Stale' });
    const remote = fresh();
    lock(remote, { host: 'node-17', pid: 1 });
    const silent = { ...record, host: 'node-17', pid: 1, updatedAt: new Date(Date.now() - 60_000).toISOString() };
    expect(runStanding(remote, { epochsDone: 1, epochs: 3, progress: silent }, options)._tag).toBe('Training');
    expect(runStanding(remote, { epochsDone: 1, epochs: 3, progress: silent }, { staleSeconds: 30 })).toMatchObject({
      _tag: 'Stale',
      who: 'pid 1 on node-17',
    });
  });
});
