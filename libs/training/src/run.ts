/**
 * Training a run, start to finish, as one function: start a new run directory or continue
 * one (from its last checkpoint; from scratch when it stopped before its first checkpoint),
 * re-plan its length, train with checkpoints after every epoch and on request, and save the
 * final model. train:serve, train:sweep and tests call it in-process. It talks through
 * events and typed failures; the apps turn those into lines that name flags.
 */
import { existsSync } from 'node:fs';
import * as E from 'fp-ts/Either';
import { systemError, type LockOwner, type SystemError } from '@resnet/files';
import { activePrecision, machineMemory, processMemory, resetPeakRss } from '@resnet/backend';
import { CLASS_NAMES, type FashionMnist, type Split } from '@resnet/fashion-mnist';
import { disposeModel, estimateStepMemory, initModel, largestBatch } from '@resnet/tfjs';
import type { ResNetSpec } from '@resnet/variants';
import type { SpecError } from '@resnet/spec';
import { runSpec, type Precision } from '@resnet/recipe';
import {
  appendMetrics,
  claimRun,
  clearStopRecord,
  createRun,
  hasFinalModel,
  FRESH,
  openRun,
  readLatest,
  PROGRESS_INTERVAL_MS,
  progressRecord,
  repairMetrics,
  restartRun,
  truncateMetrics,
  withReplan,
  writeProgress,
  writeRunConfig,
  type EpochMetrics,
  type ProgressState,
  type RunConfig,
  type RunError,
  type RunSettings,
  type StepReport,
  type TrainerProgress,
} from '@resnet/run-dir';
import { createSgdState, disposeSgdState } from './sgd.ts';
import { train, type StepProgress, type TrainError } from './loop.ts';
import { loadCheckpoint, saveCheckpoint, saveModel } from './checkpoint.ts';

/** What to train. */
export type RunPlan =
  /**
   * A new run in `dir` (absent or empty; or this same run, stopped before its first checkpoint).
   * config.json gets `config` and the `bookkeeping` fields (createdAt, backend, machine, command, …).
   */
  | {
      readonly _tag: 'Start';
      readonly dir: string;
      readonly config: RunSettings;
      readonly bookkeeping?: Readonly<Record<string, unknown>>;
      /** A run in `dir` that has no checkpoint yet is replaced, whatever its settings (a sweep re-planning it). */
      readonly replaceUnstarted?: boolean;
    }
  /** Continue the run in `dir`; `epochs` re-plans its length (null: as planned). */
  /** `repairMetrics`: first cut metrics.jsonl back to the last checkpoint (`--repair-metrics`). */
  | { readonly _tag: 'Continue'; readonly dir: string; readonly epochs: number | null; readonly repairMetrics?: boolean };

/** What happens, in order, for the app to report. */
export type RunEvent =
  /** The run's lock was left by a process that is gone (killed hard): this one took it over. */
  | { readonly _tag: 'TookOver'; readonly dir: string; readonly from: LockOwner }
  | { readonly _tag: 'Restarted'; readonly dir: string }
  /** metrics.jsonl was cut back to the checkpoint's `kept` epochs; `dropped` says which lines went and why. */
  | { readonly _tag: 'RepairedMetrics'; readonly dir: string; readonly kept: number; readonly dropped: readonly string[] }
  | { readonly _tag: 'Resumed'; readonly dir: string; readonly epoch: number; readonly step: number; readonly planned: number }
  | {
      readonly _tag: 'Started';
      readonly dir: string;
      readonly config: RunSettings;
      readonly trainCount: number;
      readonly testCount: number;
      /** A step's peak memory as `estimateStepMemory` gives it (null: no estimate), and the machine's memory, bytes. */
      readonly memory: { readonly estimateBytes: number | null; readonly machineBytes: number };
    }
  | { readonly _tag: 'Epoch'; readonly metrics: EpochMetrics; readonly planned: number }
  | { readonly _tag: 'Interrupted'; readonly dir: string; readonly progress: TrainerProgress }
  | { readonly _tag: 'SavedModel'; readonly dir: string; readonly fromCheckpoint: boolean };

/** Why a run could not be trained. */
export type RunFailure =
  | { readonly _tag: 'RunDir'; readonly error: RunError }
  | { readonly _tag: 'Spec'; readonly error: SpecError }
  | { readonly _tag: 'NothingToExtend'; readonly dir: string; readonly epochs: number }
  | { readonly _tag: 'AlreadyTrained'; readonly dir: string; readonly epochsDone: number }
  /** A reference run, made by another framework (`madeBy`): it has no checkpoints to continue from. */
  | { readonly _tag: 'NotResumable'; readonly dir: string; readonly madeBy: string }
  /** `--repair-metrics` could not keep what the checkpoint needs (`message` says what is lost and the way out). */
  | { readonly _tag: 'Unrepairable'; readonly dir: string; readonly message: string }
  /** The active backend computes in `active`, the run records `recorded`: never trained under the wrong label. */
  | { readonly _tag: 'Precision'; readonly dir: string; readonly recorded: Precision; readonly active: Precision }
  /** The step's estimated peak (`estimateStepMemory`) exceeds the machine's memory; `fits` is the largest batch that does not (0: none). */
  | {
      readonly _tag: 'Memory';
      readonly dir: string;
      readonly variant: number;
      readonly imageSize: number;
      readonly batchSize: number;
      readonly estimateBytes: number;
      readonly machineBytes: number;
      readonly fits: number;
    }
  | { readonly _tag: 'Training'; readonly error: TrainError }
  /**
   * The file system refused a write while training (a full disk, a read-only mount): nothing
   * half-written is left, and the run's last checkpoint (`checkpoint`, null before the first) and
   * the metrics of its epochs are intact, so the run continues from there once the cause is fixed.
   */
  | {
      readonly _tag: 'Write';
      readonly dir: string;
      readonly error: SystemError;
      readonly checkpoint: { readonly epoch: number; readonly step: number } | null;
    };

/** How it ended. */
export interface RunResult {
  readonly dir: string;
  readonly config: RunSettings;
  /** Every finished epoch's metrics, including those before a resume. */
  readonly history: readonly EpochMetrics[];
  /** Stopped on request (`shouldStop`) with a checkpoint; continue with a `Continue` plan. */
  readonly interrupted: boolean;
}

/** The outside world of a run. */
export interface RunIo {
  readonly data: FashionMnist;
  readonly onEvent?: (event: RunEvent) => void;
  readonly onProgress?: (progress: StepProgress) => void;
  /** Asked between steps: true saves a checkpoint and returns `interrupted`. */
  readonly shouldStop?: () => boolean;
  /**
   * Also save a checkpoint in the middle of an epoch once this many minutes of it have passed since the
   * last (so a kill loses at most that much of a long epoch); absent or 0: at the ends of epochs only.
   */
  readonly checkpointMinutes?: number;
  /** The command line that trains, recorded in the run's lock for a second process to see (default: this process's argv). */
  readonly command?: string;
  /** The memory a step may take, bytes (default: the machine's, `machineMemory().totalBytes`). */
  readonly memoryBytes?: number;
}

/**
 * Trains the run `plan` describes. Every tensor it makes is disposed before it returns, so a
 * sweep can train one variant after another in one process.
 * @example
 * const done = await trainRun({ _tag: 'Continue', dir: 'runs/smoke', epochs: 2 }, { data });
 */
export async function trainRun(plan: RunPlan, io: RunIo): Promise<E.Either<RunFailure, RunResult>> {
  const emit = io.onEvent ?? (() => undefined);
  // 0. One process owns a run: claimed before anything in it is read for writing, released at the end.
  if (plan._tag === 'Continue' && !existsSync(plan.dir))
    return E.left({ _tag: 'RunDir', error: { _tag: 'NotARun', dir: plan.dir, exists: false, message: `${plan.dir} does not exist` } });
  const claim = claimRun(plan.dir, io.command ?? process.argv.join(' '));
  if (E.isLeft(claim)) return E.left({ _tag: 'RunDir', error: claim.left });
  if (claim.right.tookOverFrom !== null) emit({ _tag: 'TookOver', dir: plan.dir, from: claim.right.tookOverFrom });
  try {
    return await trainClaimed(plan, io, emit);
  } finally {
    claim.right.release();
  }
}

async function trainClaimed(plan: RunPlan, io: RunIo, emit: (e: RunEvent) => void): Promise<E.Either<RunFailure, RunResult>> {
  // 1. The config, and where training starts.
  // A continued run's config.json as read (bookkeeping included), kept whole for a re-plan.
  let config: RunSettings | RunConfig;
  let history: EpochMetrics[] = [];
  let resume = false;
  if (plan._tag === 'Continue') {
    if (plan.repairMetrics === true) {
      const repaired = repairMetrics(plan.dir);
      if (E.isLeft(repaired)) return E.left({ _tag: 'Unrepairable', dir: plan.dir, message: repaired.left });
      emit({ _tag: 'RepairedMetrics', dir: plan.dir, ...repaired.right });
    }
    const run = openRun(plan.dir);
    if (E.isLeft(run)) return E.left({ _tag: 'RunDir', error: run.left });
    const reference = run.right.config.reference;
    if (reference !== null) {
      const by = reference.script === null ? reference.framework : `${reference.script} (${reference.framework} ${reference.version})`;
      return E.left({ _tag: 'NotResumable', dir: plan.dir, madeBy: by });
    }
    config = run.right.config;
    const mismatch = precisionMismatch(plan.dir, config);
    if (mismatch !== null) return E.left(mismatch);
    if (run.right.latest === null) {
      if (plan.epochs !== null && plan.epochs !== config.epochs)
        return E.left({ _tag: 'NothingToExtend', dir: plan.dir, epochs: plan.epochs });
      const restarted = restartRun(plan.dir);
      if (E.isLeft(restarted)) return E.left({ _tag: 'RunDir', error: restarted.left });
      emit({ _tag: 'Restarted', dir: plan.dir });
    } else {
      resume = true;
      history = [...run.right.metrics];
    }
  } else {
    config = plan.config;
    const mismatch = precisionMismatch(plan.dir, config);
    if (mismatch !== null) return E.left(mismatch);
  }
  const spec = runSpec(config);
  if (E.isLeft(spec)) return E.left({ _tag: 'Spec', error: spec.left });
  const machineBytes = io.memoryBytes ?? machineMemory().totalBytes;
  const input = [config.batchSize, config.imageSize, config.imageSize, 1];
  const stepMemory = estimateStepMemory(spec.right.net, input);
  const estimateBytes = E.isRight(stepMemory) ? stepMemory.right.peakRssBytes : null;
  const tooBig = memoryShortfall(plan.dir, config, spec.right, { estimateBytes, machineBytes });
  if (tooBig !== null) return E.left(tooBig);
  const trainSet = limitSplit(io.data.train, config.trainLimit);
  const testSet = limitSplit(io.data.test, config.testLimit);

  // The run's memory peak is its own: not an earlier run's of the same process (a local sweep trains
  // its runs one after another in one process).
  resetPeakRss();
  const model = initModel(spec.right.net, { seed: config.seed, zeroInitResidual: config.zeroInitResidual });
  const sgd = createSgdState(model.params);
  try {
    let start = FRESH;
    if (resume) {
      const progress = loadCheckpoint(plan.dir, model, sgd);
      if (E.isLeft(progress)) return E.left({ _tag: 'RunDir', error: progress.left });
      start = progress.right;
      truncateMetrics(plan.dir, start.epoch);
      history = history.filter((m) => m.epoch <= start.epoch);
      const target = (plan._tag === 'Continue' ? plan.epochs : null) ?? config.epochs;
      if (start.epoch >= target && start.epoch === config.epochs && !hasFinalModel(plan.dir)) {
        // Stopped after its last checkpoint, before the final model was written.
        await saveModel(plan.dir, model, { spec: spec.right, classNames: CLASS_NAMES, imageSize: config.imageSize, epochs: config.epochs });
        emit({ _tag: 'SavedModel', dir: plan.dir, fromCheckpoint: true });
        return E.right({ dir: plan.dir, config, history, interrupted: false });
      }
      if (start.epoch >= target) return E.left({ _tag: 'AlreadyTrained', dir: plan.dir, epochsDone: start.epoch });
      if (target !== config.epochs) {
        // The new plan is written to config.json with when it changed (reports read both).
        config = withReplan(config, {
          afterEpoch: start.epoch,
          afterStep: start.step,
          from: config.epochs,
          to: target,
          at: new Date().toISOString(),
        });
        writeRunConfig(plan.dir, config);
      }
      emit({ _tag: 'Resumed', dir: plan.dir, epoch: start.epoch, step: start.step, planned: config.epochs });
    } else if (plan._tag === 'Start') {
      const created = createRun(plan.dir, { ...plan.config, ...plan.bookkeeping }, { replaceUnstarted: plan.replaceUnstarted === true });
      if (E.isLeft(created)) return E.left({ _tag: 'RunDir', error: created.left });
      if (created.right === 'Restarted') emit({ _tag: 'Restarted', dir: plan.dir });
    }
    // This process continues the run: the record of the last stop no longer holds.
    clearStopRecord(plan.dir);
    emit({
      _tag: 'Started',
      dir: plan.dir,
      config,
      trainCount: trainSet.count,
      testCount: testSet.count,
      memory: { estimateBytes, machineBytes },
    });

    // 2. Train: metrics, then a checkpoint, after every epoch. A crash before the checkpoint
    // resumes from the previous one, which drops the metrics line and trains the epoch again.
    const planned = config.epochs;
    // progress.json: replaced at most every PROGRESS_INTERVAL_MS while training, and at the end.
    let lastStep: StepReport | null = null;
    let lastWrite = 0;
    const record = (state: ProgressState, error: string | null = null) => {
      if (lastStep !== null) writeProgress(plan.dir, progressRecord(state, lastStep, error));
    };
    // The memory peak of an epoch continued from a mid-epoch checkpoint includes the processes before this one.
    const peakOf = (epoch: number): number | null => {
      const own = processMemory()?.peakRssBytes ?? null;
      const before = start.step > 0 && epoch === start.epoch ? (start.partial.peakRssBytes ?? null) : null;
      return own === null ? before : Math.max(own, before ?? 0);
    };
    const withPeak = (progress: TrainerProgress): TrainerProgress => {
      const peak = peakOf(progress.epoch);
      return peak === null ? progress : { ...progress, partial: { ...progress.partial, peakRssBytes: peak } };
    };
    const outcome = await train({
      model,
      sgd,
      trainSet,
      testSet,
      start,
      options: {
        epochs: config.epochs,
        batchSize: config.batchSize,
        schedule: config.schedule,
        sgd: { momentum: config.momentum, nesterov: config.nesterov, weightDecay: config.weightDecay, clipNorm: config.clipNorm },
        labelSmoothing: config.labelSmoothing,
        imageSize: config.imageSize,
        augment: config.augment,
        seed: config.seed,
        classes: config.classes,
      },
      hooks: {
        onProgress: (p) => {
          io.onProgress?.(p);
          lastStep = { ...p, epochs: planned };
          const now = Date.now();
          if (now - lastWrite >= PROGRESS_INTERVAL_MS || p.step === p.steps) {
            lastWrite = now;
            record('training');
          }
        },
        ...(io.shouldStop === undefined ? {} : { shouldStop: io.shouldStop }),
        ...(io.checkpointMinutes === undefined || io.checkpointMinutes <= 0
          ? {}
          : {
              checkpointEvery: io.checkpointMinutes * 60_000,
              onCheckpoint: (progress: TrainerProgress) => saveCheckpoint(plan.dir, model, sgd, withPeak(progress)),
            }),
        onEpoch: async (trained, progress) => {
          const memory = processMemory();
          const peak = peakOf(trained.epoch - 1);
          const metrics = memory === null || peak === null ? trained : { ...trained, rssBytes: memory.rssBytes, peakRssBytes: peak };
          appendMetrics(plan.dir, metrics);
          await saveCheckpoint(plan.dir, model, sgd, progress);
          history.push(metrics);
          emit({ _tag: 'Epoch', metrics, planned });
        },
        onInterrupt: async (progress) => {
          await saveCheckpoint(plan.dir, model, sgd, withPeak(progress));
          // Where the checkpoint stands (the last report may be from before the latest steps).
          if (lastStep !== null) lastStep = { ...lastStep, epoch: progress.epoch + 1, step: progress.step };
          emit({ _tag: 'Interrupted', dir: plan.dir, progress });
        },
      },
    });
    if (E.isLeft(outcome)) {
      record('failed', outcome.left.message);
      return E.left({ _tag: 'Training', error: outcome.left });
    }
    if (outcome.right.interrupted) {
      record('stopped');
      return E.right({ dir: plan.dir, config, history, interrupted: true });
    }
    await saveModel(plan.dir, model, { spec: spec.right, classNames: CLASS_NAMES, imageSize: config.imageSize, epochs: config.epochs });
    record('finished');
    emit({ _tag: 'SavedModel', dir: plan.dir, fromCheckpoint: false });
    return E.right({ dir: plan.dir, config, history, interrupted: false });
  } catch (e) {
    const system = systemError(e);
    if (system === null) throw e;
    // What is on disk decides the way on (a write may fail after latest.json is in place).
    const latest = readLatest(plan.dir);
    const checkpoint = E.isRight(latest) ? { epoch: latest.right.epoch, step: latest.right.step } : null;
    return E.left({ _tag: 'Write', dir: plan.dir, error: system, checkpoint });
  } finally {
    disposeModel(model);
    disposeSgdState(sgd);
  }
}

// The run's recorded precision against what the active backend computes in; checked before anything is written.
// A step that would not fit: refused before anything is written, with the batch that fits.
function memoryShortfall(
  dir: string,
  config: RunSettings,
  spec: ResNetSpec,
  memory: { readonly estimateBytes: number | null; readonly machineBytes: number },
): RunFailure | null {
  const { estimateBytes, machineBytes } = memory;
  if (estimateBytes === null || estimateBytes <= machineBytes) return null;
  return {
    _tag: 'Memory',
    dir,
    variant: config.variant,
    imageSize: config.imageSize,
    batchSize: config.batchSize,
    estimateBytes,
    machineBytes,
    fits: largestBatch(spec.net, [config.batchSize, config.imageSize, config.imageSize, 1], machineBytes),
  };
}

function precisionMismatch(dir: string, config: RunSettings): RunFailure | null {
  const active = activePrecision();
  return active === config.precision ? null : { _tag: 'Precision', dir, recorded: config.precision, active };
}

/**
 * `--train-limit` / `--test-limit`: the first `limit` examples (all when null or larger than the split).
 * @example limitSplit(train, 256).count // 256
 */
export function limitSplit(split: Split, limit: number | null): Split {
  if (limit === null || limit >= split.count) return split;
  const pixels = split.height * split.width;
  return { ...split, images: split.images.subarray(0, limit * pixels), labels: split.labels.subarray(0, limit), count: limit };
}
