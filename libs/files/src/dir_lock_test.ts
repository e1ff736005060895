import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import * as E from 'fp-ts/Either';
import { isGone, lockDirectory, lockOwner, LOCK_DIR, slurmAttempt, type LockOwner } from './dir_lock.ts';

const scratch = () => mkdtempSync(join(tmpdir(), 'lock-'));

function writeOwner(dir: string, owner: Partial<LockOwner>): void {
  mkdirSync(join(dir, LOCK_DIR));
  writeFileSync(
    join(dir, LOCK_DIR, 'owner.json'),
    JSON.stringify({ host: hostname(), pid: 1, startedAt: '2026-12-01T00:00:00.000Z', processStart: null, command: 'old', ...owner }),
  );
}

/** The pid of a process that has ended. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  return Number(r.stdout);
}

describe('lockDirectory: one process owns a folder', () => {
  test('the lock names its owner and goes on release; the folder is as before', () => {
    const dir = scratch();
    const lock = lockDirectory(dir, 'npx nx run train:serve --out=x');
    if (E.isLeft(lock)) throw new Error(JSON.stringify(lock.left));
    expect(lockOwner(dir)).toMatchObject({ host: hostname(), pid: process.pid, command: 'npx nx run train:serve --out=x' });
    expect(lock.right.tookOverFrom).toBeNull();
    lock.right.release();
    expect(readdirSync(dir)).toEqual([]);
  });

  test('a second process is refused with the live owner (host, pid, start, command)', async () => {
    const dir = scratch();
    // The owner: another process that takes the lock and waits.
    const holder = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        '-e',
        `require(${JSON.stringify(join(__dirname, 'dir_lock.ts'))}).lockDirectory(${JSON.stringify(dir)}, 'holder'); console.log('held'); setTimeout(() => {}, 30000);`,
      ],
      { env: { ...process.env, TSX_TSCONFIG_PATH: join(__dirname, '../../../tsconfig.base.json') } },
    );
    await new Promise<void>((held) => holder.stdout.on('data', () => held()));
    try {
      const second = lockDirectory(dir, 'second');
      expect(second).toEqual(
        E.left({
          _tag: 'Locked',
          dir,
          sameHost: true,
          owner: expect.objectContaining({ pid: holder.pid, host: hostname(), command: 'holder' }) as unknown,
        }),
      );
      expect(lockOwner(dir)?.pid).toBe(holder.pid);
    } finally {
      holder.kill('SIGKILL');
    }
    await new Promise((r) => holder.on('close', r));
    // Killed hard, it left its lock: the next process takes it over and says whose it was.
    const third = lockDirectory(dir, 'third');
    expect(E.isRight(third) && third.right.tookOverFrom?.pid).toBe(holder.pid);
  });

  test('a lock of a dead process on this host is taken over; one of another host never is', () => {
    const dead = scratch();
    writeOwner(dead, { pid: deadPid() });
    const taken = lockDirectory(dead, 'new');
    expect(E.isRight(taken) && taken.right.tookOverFrom?.command).toBe('old');
    expect(lockOwner(dead)?.pid).toBe(process.pid);
    expect(readdirSync(dead)).toEqual([LOCK_DIR]);

    const remote = scratch();
    writeOwner(remote, { host: 'node-17.cluster', pid: deadPid() });
    expect(lockDirectory(remote, 'new')).toEqual(
      E.left({ _tag: 'Locked', dir: remote, sameHost: false, owner: expect.objectContaining({ host: 'node-17.cluster' }) as unknown }),
    );
  });

  test('a lock left by an earlier attempt of this Slurm job (requeued onto another node) is taken over; one of another job or the same attempt is not', () => {
    const job = { cluster: 'lab', jobId: '4242', restart: 0 };
    const remote = {
      host: 'node-17.cluster',
      pid: deadPid(),
      startedAt: '2026-12-01T00:00:00.000Z',
      processStart: null,
      command: 'old',
      slurm: job,
    };
    expect(isGone(remote, { ...job, restart: 1 })).toBe(true);
    expect(isGone(remote, job)).toBe(false);
    expect(isGone(remote, { ...job, restart: 1, jobId: '4243' })).toBe(false);
    expect(isGone(remote, { ...job, restart: 1, cluster: 'other' })).toBe(false);
    expect(isGone(remote, null)).toBe(false);
    expect(isGone({ ...remote, slurm: null }, { ...job, restart: 1 })).toBe(false);

    // As a requeued task meets it: Slurm's environment names the job and its restart count.
    const dir = scratch();
    writeOwner(dir, remote);
    const saved = { ...process.env };
    Object.assign(process.env, { SLURM_CLUSTER_NAME: 'lab', SLURM_JOB_ID: '4242', SLURM_RESTART_COUNT: '1' });
    try {
      expect(slurmAttempt()).toEqual({ ...job, restart: 1 });
      const taken = lockDirectory(dir, 'requeued');
      expect(E.isRight(taken) && taken.right.tookOverFrom?.host).toBe('node-17.cluster');
      expect(lockOwner(dir)?.slurm).toEqual({ ...job, restart: 1 });
    } finally {
      for (const key of ['SLURM_CLUSTER_NAME', 'SLURM_JOB_ID', 'SLURM_RESTART_COUNT']) delete process.env[key];
      Object.assign(process.env, saved);
    }
  });

  test('a reused pid is not the owner: same pid, another process start time → taken over', () => {
    const dir = scratch();
    writeOwner(dir, { pid: process.pid, processStart: '1' });
    const taken = lockDirectory(dir, 'new');
    expect(E.isRight(taken) && taken.right.tookOverFrom?.processStart).toBe('1');
  });

  test('a lock with no owner is being taken (refused) until it is 10 s old (a process killed while taking it: taken over)', () => {
    const dir = scratch();
    mkdirSync(join(dir, LOCK_DIR));
    expect(lockDirectory(dir, 'new')).toEqual(E.left({ _tag: 'Unreadable', dir, lock: join(dir, LOCK_DIR) }));
    const old = new Date(Date.now() - 60_000);
    utimesSync(join(dir, LOCK_DIR), old, old);
    expect(E.isRight(lockDirectory(dir, 'new'))).toBe(true);
  });

  test("release leaves a lock that is no longer this process's alone", () => {
    const dir = scratch();
    const lock = lockDirectory(dir, 'mine');
    if (E.isLeft(lock)) throw new Error('not locked');
    writeFileSync(
      join(dir, LOCK_DIR, 'owner.json'),
      JSON.stringify({ host: 'other', pid: 5, startedAt: 'x', processStart: null, command: 'theirs' }),
    );
    lock.right.release();
    expect(existsSync(join(dir, LOCK_DIR))).toBe(true);
  });
});
