/**
 * Where a run stands, from its own files and its lock: training (a live process holds it),
 * finished, failed (the error its last process recorded), stopped (with how to continue),
 * stale (its record says training, its process is gone) or idle. The one classification the
 * live view (@resnet/results `liveRun`) and `train:sweep --status` (which adds Slurm's queue
 * on top) both show.
 */
import { hostname } from 'node:os';
import { isGone, lockOwner, type LockOwner } from '@resnet/files';
import { hasFinalModel } from './lifecycle.ts';
import type { ProgressRecord } from './progress.ts';
import { readStopRecord, type StopRecord } from './stop_record.ts';

/** How long a process training on another host may stay silent before its run counts as stale, by default (s). */
export const DEFAULT_STALE_SECONDS = 300;

/** Where a run stands, from its files. */
export type Standing =
  /** A live process holds the run's lock; `progress` is that process's own record (null before its first one: starting). */
  | { readonly _tag: 'Training'; readonly owner: LockOwner; readonly progress: ProgressRecord | null }
  /** Every planned epoch and the final model are written, and nobody trains it. */
  | { readonly _tag: 'Finished' }
  /** Its last process failed and recorded why. */
  | { readonly _tag: 'Failed'; readonly error: string }
  /** Its last process was stopped (a signal, its launcher's death) and recorded how to continue. */
  | { readonly _tag: 'Stopped'; readonly stop: StopRecord }
  /** Its record says training, but the process is gone (killed?) or, on another host, silent for longer than allowed. */
  | { readonly _tag: 'Stale'; readonly progress: ProgressRecord; readonly who: string; readonly silentSeconds: number }
  /** Not training and not finished, with no record of why (`progress`: the last one, e.g. state `stopped`, or none). */
  | { readonly _tag: 'Idle'; readonly progress: ProgressRecord | null };

/** What the run's own records say, read by the caller (who reports an unreadable file its own way). */
export interface RunRecords {
  /** Epochs in metrics.jsonl. */
  readonly epochsDone: number;
  /** Epochs the run is to have (config.json's). */
  readonly epochs: number;
  /** progress.json, or null when there is none. */
  readonly progress: ProgressRecord | null;
}

/**
 * Where the run in `dir` stands now. `staleSeconds`: how long a process on another host may stay
 * silent (one on this host is checked directly).
 * @example runStanding('runs/r', { epochsDone: 1, epochs: 10, progress }, { staleSeconds: 300 }) // { _tag: 'Training', owner, progress }
 */
export function runStanding(dir: string, records: RunRecords, options: { readonly staleSeconds: number; readonly now?: number }): Standing {
  const { progress } = records;
  const owner = lockOwner(dir);
  const silentSeconds = progress === null ? null : ((options.now ?? Date.now()) - Date.parse(progress.updatedAt)) / 1000;
  const remoteSilent = owner !== null && owner.host !== hostname() && silentSeconds !== null && silentSeconds > options.staleSeconds;
  const training = owner !== null && !isGone(owner) && !remoteSilent;
  if (progress?.state === 'failed' && !training) return { _tag: 'Failed', error: progress.error ?? 'failed (no message recorded)' };
  if (training)
    return { _tag: 'Training', owner, progress: progress?.state === 'training' && progress.pid === owner.pid ? progress : null };
  if (records.epochsDone >= records.epochs && hasFinalModel(dir)) return { _tag: 'Finished' };
  const stop = readStopRecord(dir);
  if (stop !== null) return { _tag: 'Stopped', stop };
  if (progress?.state === 'training') {
    const who = owner === null ? `pid ${progress.pid} on ${progress.host}` : `pid ${owner.pid} on ${owner.host}`;
    return { _tag: 'Stale', progress, who, silentSeconds: silentSeconds ?? 0 };
  }
  return { _tag: 'Idle', progress };
}
