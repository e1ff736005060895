/**
 * A run's checkpoint: its tensors (params, batch-norm state, optimizer velocities) with where
 * training stands, in `checkpoints/<id>/`, and latest.json pointing at it. Written in the one
 * order that a crash at any point leaves a usable run: the new folder complete, then
 * latest.json, then older folders removed.
 */
import { existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import * as t from 'io-ts';
import * as E from 'fp-ts/Either';
import { decode, describeFailure, finite, int, named } from './codec.ts';
import type { RunError } from './errors.ts';
import { readLatest, writeLatest } from './latest.ts';
import { CHECKPOINTS_DIR, checkpointId, LATEST_FILE } from './layout.ts';
import { readTensors, writeTensors, type LoadedTensors, type TensorGroups } from './tensors.ts';

/** Where training stands: `epoch` epochs done, plus `step` batches of the next one. */
export const TrainerProgressCodec = t.type({
  epoch: int(0),
  step: int(0),
  /**
   * Sums over the batches done in the unfinished epoch (zero at an epoch boundary). `cpuSeconds`: the
   * process's CPU time over them, absent in checkpoints that predate it (that epoch's CPU time is then unknown).
   * `peakRssBytes`: the largest resident-memory peak of the processes that trained those batches, so that an
   * epoch continued in a new process still records the epoch's peak; absent when unknown or at an epoch boundary.
   */
  partial: t.intersection([
    t.type({ lossSum: finite, correct: finite, seen: finite, seconds: finite }),
    t.partial({ cpuSeconds: named(finite, 'a number when present'), peakRssBytes: named(finite, 'a number when present') }),
  ]),
});
export type TrainerProgress = Readonly<t.TypeOf<typeof TrainerProgressCodec>>;

/** The progress of a run that has not started. */
export const FRESH: TrainerProgress = { epoch: 0, step: 0, partial: { lossSum: 0, correct: 0, seen: 0, seconds: 0, cpuSeconds: 0 } };

/**
 * Writes a checkpoint of `tensors` at `progress`, points latest.json at it, then deletes older
 * checkpoints.
 * @example writeCheckpoint('runs/r', { params, state, velocity }, { epoch: 1, step: 0, partial: … })
 */
export function writeCheckpoint(dir: string, tensors: TensorGroups, progress: TrainerProgress): void {
  const id = checkpointId(progress);
  const root = join(dir, CHECKPOINTS_DIR);
  mkdirSync(root, { recursive: true });
  writeTensors(join(root, id), tensors, { progress });
  writeLatest(dir, { checkpoint: id, epoch: progress.epoch, step: progress.step });
  for (const other of readdirSync(root)) if (other !== id) rmSync(join(root, other), { recursive: true, force: true });
}

/** A checkpoint read back: its tensors and progress. */
export interface Checkpoint {
  /** Its folder (`checkpoints/<id>`), for errors that name it. */
  readonly folder: string;
  readonly tensors: LoadedTensors;
  readonly progress: TrainerProgress;
}

/**
 * Reads the latest checkpoint (Left NoCheckpoint before the first one).
 * @example readCheckpoint('runs/r') // Right({ tensors: { groups: Map { 'params' => … } }, progress: { epoch: 1, … } })
 */
export function readCheckpoint(dir: string): E.Either<RunError, Checkpoint> {
  if (!existsSync(join(dir, LATEST_FILE)))
    return E.left({ _tag: 'NoCheckpoint', dir, message: `${dir} has no checkpoint yet (no latest.json)` });
  const latest = readLatest(dir);
  if (E.isLeft(latest)) return latest;
  const folder = join(dir, CHECKPOINTS_DIR, latest.right.checkpoint);
  const damaged = (file: string, reason: string): E.Either<RunError, never> =>
    E.left({ _tag: 'Corrupt', dir, part: 'checkpoint', file, reason, message: `the latest checkpoint is damaged: ${reason}` });
  const tensors = readTensors(folder);
  if (E.isLeft(tensors)) return damaged(folder, tensors.left);
  const meta = tensors.right.meta as { readonly progress?: unknown } | null;
  const progress = decode(TrainerProgressCodec, typeof meta === 'object' && meta !== null ? meta.progress : undefined);
  if (E.isLeft(progress)) {
    const file = join(folder, 'manifest.json');
    return damaged(file, `${file} has no valid progress (${describeFailure(progress.left)})`);
  }
  return E.right({ folder, tensors: tensors.right, progress: progress.right });
}
