/**
 * Runs as they train: the run directories under some folders (one run, a sweep, a folder of
 * sweeps; new ones as they appear) and where each stands — starting, running (epoch, step,
 * ETA), finished, stopped, failed (the error its progress.json records), stale (its process is
 * gone, or silent for too long), or error (a file of it cannot be read) — from its own files:
 * config.json, metrics.jsonl, progress.json, stopped.json, its lock, model/ (@resnet/run-dir's
 * `runStanding`, which `train:sweep --status` shares). A viewer polls it.
 */
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import * as E from 'fp-ts/Either';
import { absurd } from 'fp-ts/function';
import { isGone, lockOwner, LOCK_DIR } from '@resnet/files';
import { formatDuration } from '@resnet/format';
import { referenceLabel } from './summary.ts';
import {
  CONFIG_FILE,
  isRunDirectory,
  METRICS_FILE,
  MODEL_DIR,
  openRun,
  PROGRESS_FILE,
  readProgress,
  runStanding,
  STOP_RECORD_FILE,
  type ProgressRecord,
} from '@resnet/run-dir';

/** Where a run stands. */
export type LiveState = 'starting' | 'running' | 'finished' | 'stopped' | 'failed' | 'stale' | 'error';

/** One run as a viewer shows it. */
export interface LiveRun {
  readonly dir: string;
  /** `ResNet-18`, or the folder's name when config.json cannot be read. */
  readonly label: string;
  readonly variant: number | null;
  readonly seed: number | null;
  readonly protocol: string | null;
  readonly precision: string | null;
  readonly state: LiveState;
  /** One line: `epoch 2/10, step 40/469, ETA 3 min 12 s`, the error, or how it stopped. */
  readonly detail: string;
  readonly epochsDone: number;
  readonly epochsPlanned: number | null;
  readonly finalTestAcc: number | null;
  readonly bestTestAcc: number | null;
  /** Mean over finished epochs. */
  readonly examplesPerSec: number | null;
  /** The training process's last record, when there is one. */
  readonly progress: ProgressRecord | null;
}

/** Folders never searched for runs: a run's own parts and a sweep's bookkeeping. */
const SKIP = new Set(['checkpoints', 'model', LOCK_DIR, 'node_modules']);

/**
 * The run directories under `paths`: each path that holds config.json, else its subfolders that
 * do, else theirs (a folder of sweeps). A path that does not exist yet has none.
 * @example discoverRuns(['runs/study']) // ['runs/study/resnet18-seed1', 'runs/study/resnet18-seed2', …]
 */
export function discoverRuns(paths: readonly string[]): readonly string[] {
  const found: string[] = [];
  const visit = (dir: string, depth: number) => {
    if (isRunDirectory(dir)) {
      found.push(dir);
      return;
    }
    if (depth === 0) return;
    let entries: string[];
    try {
      entries = readdirSync(dir, { withFileTypes: true })
        .filter((d) => d.isDirectory() && !d.name.startsWith('.') && !SKIP.has(d.name))
        .map((d) => d.name)
        .sort();
    } catch {
      return;
    }
    for (const name of entries) visit(join(dir, name), depth - 1);
  };
  for (const path of paths) visit(path, 2);
  return [...new Set(found)];
}

/**
 * Where one run stands, now. `staleSeconds`: how long a training process on another host may
 * stay silent before its run counts as stale (one on this host is checked directly).
 * @example liveRun('runs/r', { staleSeconds: 300 }) // { state: 'running', detail: 'epoch 2/10, step 40/469, ETA 3 min 12 s', … }
 */
export function liveRun(dir: string, options: { readonly staleSeconds: number; readonly now?: number }): LiveRun {
  const name = dir.split('/').filter(Boolean).pop() ?? dir;
  const blank = {
    dir,
    label: name,
    variant: null,
    seed: null,
    protocol: null,
    precision: null,
    epochsDone: 0,
    epochsPlanned: null,
    finalTestAcc: null,
    bestTestAcc: null,
    examplesPerSec: null,
    progress: null,
  } as const;
  const run = openRun(dir);
  if (E.isLeft(run)) return { ...blank, state: 'error', detail: run.left.message };
  const { config, metrics } = run.right;
  const progressRead = readProgress(dir);
  if (E.isLeft(progressRead) && progressRead.left._tag === 'Invalid')
    return { ...blank, state: 'error', detail: progressRead.left.message };
  const progress = E.isRight(progressRead) ? progressRead.right : null;
  const last = metrics[metrics.length - 1];
  const planned = Math.max(config.epochs, metrics.length);
  const base = {
    ...blank,
    label: `ResNet-${config.variant}${config.reference === null ? '' : ` (${referenceLabel(config.reference)})`}`,
    variant: config.variant,
    seed: config.seed,
    protocol: config.protocol,
    precision: config.precision,
    epochsDone: metrics.length,
    epochsPlanned: planned,
    finalTestAcc: last?.testAcc ?? null,
    bestTestAcc: metrics.length === 0 ? null : Math.max(...metrics.map((m) => m.testAcc)),
    examplesPerSec: metrics.length === 0 ? null : metrics.reduce((s, m) => s + m.examplesPerSec, 0) / metrics.length,
    progress,
  };
  const standing = runStanding(dir, { epochsDone: metrics.length, epochs: config.epochs, progress }, options);
  switch (standing._tag) {
    case 'Failed':
      return { ...base, state: 'failed', detail: standing.error };
    case 'Training': {
      const { owner, progress: own } = standing;
      return own === null
        ? { ...base, state: 'starting', detail: `pid ${owner.pid} on ${owner.host} is starting it` }
        : {
            ...base,
            state: 'running',
            detail: `epoch ${own.epoch}/${own.epochs}, step ${own.step}/${own.steps}, ETA ${formatDuration(own.etaSeconds)}`,
          };
    }
    case 'Finished':
      return { ...base, state: 'finished', detail: `${metrics.length}/${planned} epochs` };
    case 'Stopped': {
      const { stop } = standing;
      return {
        ...base,
        state: 'stopped',
        detail: `stopped by ${stop.reason} at epoch ${stop.epoch + 1}, step ${stop.step}; continue with: ${stop.continueWith}`,
      };
    }
    case 'Stale': {
      const { progress: p, who, silentSeconds } = standing;
      return {
        ...base,
        state: 'stale',
        detail: `${who} stopped without a word at epoch ${p.epoch}/${p.epochs}, step ${p.step}/${p.steps} (killed?); no update for ${formatDuration(silentSeconds)}`,
      };
    }
    case 'Idle': {
      const p = standing.progress;
      return p?.state === 'stopped'
        ? { ...base, state: 'stopped', detail: `stopped at epoch ${p.epoch}/${p.epochs}, step ${p.step}/${p.steps}` }
        : { ...base, state: 'stopped', detail: `${metrics.length}/${planned} epochs; not training` };
    }
    default:
      return absurd(standing);
  }
}

/**
 * What changes a run's state, cheaply: its files' sizes and times, and whether its lock's owner
 * still runs. A viewer recomputes the runs when this changes.
 * @example runSignature('runs/r') // 'runs/r|412@1765…|…|alive'
 */
export function runSignature(dir: string): string {
  const stamp = (f: string) => {
    try {
      const s = statSync(join(dir, f));
      return `${s.size}@${s.mtimeMs}`;
    } catch {
      return '-';
    }
  };
  const owner = lockOwner(dir);
  return [
    dir,
    ...[CONFIG_FILE, METRICS_FILE, PROGRESS_FILE, STOP_RECORD_FILE, join(MODEL_DIR, 'manifest.json'), join(LOCK_DIR, 'owner.json')].map(
      stamp,
    ),
    owner === null ? 'free' : isGone(owner) ? 'gone' : 'alive',
  ].join('|');
}
