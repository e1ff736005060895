/**
 * What a run directory holds, by name:
 *
 *     config.json         every setting, versions, backend, data source (config.ts); rewritten only
 *                         when `--resume --epochs=N` changes the plan (recorded under `replanned`)
 *     metrics.jsonl       one record per finished epoch, epochs 1..n (metrics.ts)
 *     checkpoints/<id>/   the latest checkpoint, a tensor folder (tensors.ts): params, state, velocity
 *     latest.json         { "checkpoint": "<id>", "epoch": …, "step": … }, replaced atomically (latest.ts)
 *     model/              the final model: params and state, with the spec in its manifest
 *     progress.json       where the training process is now (progress.ts)
 *     stopped.json        why the last process stopped early, and how to continue (stop_record.ts)
 *     evaluation.json     a confusion matrix of the run's weights (evaluation.ts)
 *     .lock/              the process that owns the run (@resnet/files dir_lock)
 *
 * Every file is written by @resnet/files' one atomic writer: under a temporary name, fsynced,
 * renamed into place, the folder fsynced.
 */
import { LOCK_DIR } from '@resnet/files';

export const CONFIG_FILE = 'config.json';
export const METRICS_FILE = 'metrics.jsonl';
export const LATEST_FILE = 'latest.json';
export const CHECKPOINTS_DIR = 'checkpoints';
export const MODEL_DIR = 'model';

/**
 * A checkpoint's folder name: epochs finished and steps into the next, sortable.
 * @example checkpointId({ epoch: 1, step: 0 }) // 'epoch-0001-step-000000'
 */
export function checkpointId(at: { readonly epoch: number; readonly step: number }): string {
  return `epoch-${String(at.epoch).padStart(4, '0')}-step-${String(at.step).padStart(6, '0')}`;
}

/**
 * Whether `name` is a temporary file of a write (`<name>.tmp-<pid>`, `.<dir>.tmp-<pid>`); with
 * `pid`, one of that process's only.
 * @example isTempFile('config.json.tmp-4242', 4242) // true
 */
export function isTempFile(name: string, pid?: number): boolean {
  const m = /\.(?:tmp|old)-(\d+)$/.exec(name);
  return m !== null && (pid === undefined || Number(m[1]) === pid);
}

/**
 * Entries of a run directory that are no part of the run: temporary files of a write, and the
 * lock of the process that owns it.
 * @example isRunBookkeeping('.lock') // true
 */
export function isRunBookkeeping(name: string): boolean {
  return isTempFile(name) || name === LOCK_DIR || name.startsWith(`${LOCK_DIR}.stale-`);
}
