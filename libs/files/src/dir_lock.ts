/**
 * One process owns a folder at a time (as git's index.lock owns an index): the owner creates
 * `<dir>/.lock/` — `mkdir` is atomic on a local disk and on NFS — and writes who it is (host,
 * pid, when, the command) into `owner.json` there. A second process is refused with that owner;
 * a lock left by a dead process on the same host is taken over; a lock from another host is
 * never taken over (its process cannot be checked from here) but says how to release it —
 * unless it was left by an earlier attempt of this same Slurm job (requeued after preemption
 * or a node failure, perhaps onto another node): Slurm starts a job again only after its last
 * attempt has ended, so that owner is gone wherever it ran.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import * as E from 'fp-ts/Either';
import { writeFileAtomic } from './atomic.ts';
import { procStat } from './proc_stat.ts';

/** The lock's folder name inside the locked folder. */
export const LOCK_DIR = '.lock';

/** Who holds a lock. */
export interface LockOwner {
  readonly host: string;
  readonly pid: number;
  /** ISO time the lock was taken. */
  readonly startedAt: string;
  /** The owner's process start time (Linux clock ticks since boot, as a string), to tell a reused pid; null off Linux. */
  readonly processStart: string | null;
  readonly command: string;
  /** The Slurm job the owner ran in (`SLURM_CLUSTER_NAME`/`SLURM_JOB_ID`) and which attempt (`SLURM_RESTART_COUNT`); null outside Slurm. */
  readonly slurm: SlurmAttempt | null;
}

/** One attempt of a Slurm job: a requeued job keeps its id and counts its restarts. */
export interface SlurmAttempt {
  readonly cluster: string;
  readonly jobId: string;
  readonly restart: number;
}

/**
 * The Slurm job attempt this process runs in, from the environment Slurm gives a job; null outside one.
 * @example slurmAttempt({ SLURM_JOB_ID: '42', SLURM_CLUSTER_NAME: 'c', SLURM_RESTART_COUNT: '1' }) // { cluster: 'c', jobId: '42', restart: 1 }
 */
export function slurmAttempt(env: NodeJS.ProcessEnv = process.env): SlurmAttempt | null {
  const jobId = env['SLURM_JOB_ID'];
  if (jobId === undefined || jobId === '') return null;
  const restart = Number(env['SLURM_RESTART_COUNT'] ?? '0');
  return { cluster: env['SLURM_CLUSTER_NAME'] ?? '', jobId, restart: Number.isInteger(restart) && restart >= 0 ? restart : 0 };
}

/** Why a folder cannot be locked. */
export type LockError =
  /** A live process holds it (`sameHost`), or a process on another host whose state is unknown. */
  | { readonly _tag: 'Locked'; readonly dir: string; readonly owner: LockOwner; readonly sameHost: boolean }
  /** `.lock/` exists but names no owner (a lock being taken right now, or a damaged one). */
  | { readonly _tag: 'Unreadable'; readonly dir: string; readonly lock: string };

/** A held lock. */
export interface DirLock {
  /** The dead owner whose lock this one replaced, or null. */
  readonly tookOverFrom: LockOwner | null;
  /** Removes the lock if it is still this process's. */
  readonly release: () => void;
}

/**
 * Locks `dir` (which must exist) for this process, recording `command`.
 * @example const lock = lockDirectory('runs/r', 'npx nx run train:serve --out=runs/r'); if (E.isRight(lock)) { …; lock.right.release(); }
 */
export function lockDirectory(dir: string, command: string): E.Either<LockError, DirLock> {
  const lock = join(dir, LOCK_DIR);
  const me: LockOwner = {
    host: hostname(),
    pid: process.pid,
    startedAt: new Date().toISOString(),
    processStart: processStart(process.pid),
    command,
    slurm: slurmAttempt(),
  };
  let tookOverFrom: LockOwner | null = null;
  for (let attempt = 0; attempt < 5; attempt++) {
    try {
      mkdirSync(lock);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const owner = readOwnerPatiently(lock);
      if (owner === null) {
        if (!existsSync(lock)) continue;
        // A lock without owner.json for 10 s is the leftover of a process killed while taking it.
        if (Date.now() - statSync(lock).mtimeMs < 10_000) return E.left({ _tag: 'Unreadable', dir, lock });
        moveAside(lock, null);
        continue;
      }
      const sameHost = owner.host === me.host;
      if (!isGone(owner)) return E.left({ _tag: 'Locked', dir, owner, sameHost });
      if (moveAside(lock, owner)) tookOverFrom = owner;
      continue;
    }
    try {
      writeFileAtomic(join(lock, 'owner.json'), `${JSON.stringify(me, null, 2)}\n`);
    } catch (e) {
      // A lock without an owner would refuse every later claim for 10 s: take it back (a full disk).
      rmSync(lock, { recursive: true, force: true });
      throw e;
    }
    return E.right({
      tookOverFrom,
      release: () => {
        const now = readOwner(lock);
        if (now !== null && now.pid === me.pid && now.startedAt === me.startedAt && now.host === me.host)
          rmSync(lock, { recursive: true, force: true });
      },
    });
  }
  const owner = readOwner(lock);
  return owner === null
    ? E.left({ _tag: 'Unreadable', dir, lock })
    : E.left({ _tag: 'Locked', dir, owner, sameHost: owner.host === me.host });
}

/**
 * The owner of `dir`'s lock, or null when it is not locked (or the lock names no owner).
 * @example lockOwner('runs/r') // { host: 'vm', pid: 4242, … } while a training holds it
 */
export function lockOwner(dir: string): LockOwner | null {
  return readOwner(join(dir, LOCK_DIR));
}

/**
 * Whether `owner` has certainly ended: a process on this host that no longer runs, or an
 * earlier attempt of the Slurm job this process runs in (`me`, by default this process's).
 * A live owner, or one on another host in another job, is not known to have ended.
 * @example isGone(lockOwner('runs/r')!) // true when the process that held it was killed
 */
export function isGone(owner: LockOwner, me: SlurmAttempt | null = slurmAttempt()): boolean {
  if (
    me !== null &&
    owner.slurm !== null &&
    owner.slurm.cluster === me.cluster &&
    owner.slurm.jobId === me.jobId &&
    owner.slurm.restart < me.restart
  )
    return true;
  return owner.host === hostname() && !isAlive(owner);
}

/**
 * Whether `owner` (on this host) is still running: its pid exists, and is the same process
 * (same start time), not a later one that got the pid again.
 */
export function isAlive(owner: LockOwner): boolean {
  try {
    process.kill(owner.pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ESRCH') return false;
  }
  const start = processStart(owner.pid);
  return owner.processStart === null || start === null || start === owner.processStart;
}

/**
 * Moves a stale lock out of the way, atomically (one of several processes taking over wins),
 * and checks that what it moved is the lock it judged stale; if another process took over
 * first, its lock is put back. True when the stale lock is gone.
 */
function moveAside(lock: string, stale: LockOwner | null): boolean {
  const aside = `${lock}.stale-${process.pid}-${Date.now()}`;
  try {
    renameSync(lock, aside);
  } catch {
    return false;
  }
  const moved = readOwner(aside);
  const same =
    stale === null
      ? moved === null
      : moved !== null && moved.pid === stale.pid && moved.startedAt === stale.startedAt && moved.host === stale.host;
  if (!same && !existsSync(lock)) {
    renameSync(aside, lock);
    return false;
  }
  rmSync(aside, { recursive: true, force: true });
  return same;
}

function readOwnerPatiently(lock: string): LockOwner | null {
  // Between another process's mkdir and its owner.json there is a moment without an owner.
  for (let i = 0; i < 20; i++) {
    const owner = readOwner(lock);
    if (owner !== null) return owner;
    if (!existsSync(lock)) return null;
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 50);
  }
  return null;
}

function readOwner(lock: string): LockOwner | null {
  try {
    const o = JSON.parse(readFileSync(join(lock, 'owner.json'), 'utf8')) as Partial<Record<keyof LockOwner, unknown>>;
    if (typeof o.host !== 'string' || typeof o.pid !== 'number' || typeof o.startedAt !== 'string' || typeof o.command !== 'string')
      return null;
    if (o.processStart !== null && typeof o.processStart !== 'string') return null;
    // Locks written before the Slurm field have none.
    const slurm = o.slurm as Partial<Record<keyof SlurmAttempt, unknown>> | null | undefined;
    const attempt =
      slurm !== null &&
      typeof slurm === 'object' &&
      typeof slurm.cluster === 'string' &&
      typeof slurm.jobId === 'string' &&
      typeof slurm.restart === 'number'
        ? { cluster: slurm.cluster, jobId: slurm.jobId, restart: slurm.restart }
        : null;
    return { host: o.host, pid: o.pid, startedAt: o.startedAt, processStart: o.processStart ?? null, command: o.command, slurm: attempt };
  } catch {
    return null;
  }
}

function processStart(pid: number): string | null {
  return procStat(pid)?.start ?? null;
}
