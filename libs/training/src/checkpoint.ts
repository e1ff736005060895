/**
 * A model's and optimizer's variables into and out of a run directory (@resnet/run-dir owns the
 * format: checkpoints, latest.json, the final model's folder).
 */
import { join } from 'node:path';
import * as E from 'fp-ts/Either';
import { MODEL_DIR, readCheckpoint, writeCheckpoint, type RunError, type TrainerProgress } from '@resnet/run-dir';
import type { Model } from '@resnet/tfjs';
import type { SgdState } from './sgd.ts';
import { assignGroups, lentTensors, saveTensors } from './tensor_file.ts';

/**
 * Writes a checkpoint (params, batch-norm state, optimizer velocities, progress), points
 * latest.json at it, then deletes older checkpoints.
 * @example await saveCheckpoint('runs/r', model, sgd, { epoch: 1, step: 0, partial: … })
 */
export async function saveCheckpoint(dir: string, model: Model, sgd: SgdState, progress: TrainerProgress): Promise<void> {
  writeCheckpoint(dir, lentTensors({ params: model.params, state: model.state, velocity: sgd.velocity }), progress);
}

/**
 * Restores the latest checkpoint into `model` and `sgd`; returns its progress.
 * @example loadCheckpoint('runs/r', model, sgd) // Right({ epoch: 1, step: 0, … })
 */
export function loadCheckpoint(dir: string, model: Model, sgd: SgdState): E.Either<RunError, TrainerProgress> {
  const checkpoint = readCheckpoint(dir);
  if (E.isLeft(checkpoint)) return checkpoint;
  const { folder, tensors } = checkpoint.right;
  const assigned = assignGroups(folder, tensors.groups, { params: model.params, state: model.state, velocity: sgd.velocity });
  if (E.isLeft(assigned)) {
    return E.left({
      _tag: 'Corrupt',
      dir,
      part: 'checkpoint',
      file: folder,
      reason: assigned.left,
      message: `the latest checkpoint is damaged: ${assigned.left}`,
    });
  }
  return E.right(checkpoint.right.progress);
}

/**
 * Saves the final model (params and batch-norm state; the spec in the manifest's meta)
 * to `<dir>/model`.
 * @example await saveModel('runs/r', model, { spec, classes: CLASS_NAMES })
 */
export async function saveModel(dir: string, model: Model, meta: { readonly [k: string]: unknown }): Promise<void> {
  saveTensors(join(dir, MODEL_DIR), { params: model.params, state: model.state }, meta);
}
