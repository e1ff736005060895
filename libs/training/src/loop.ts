/**
 * The training loop: epochs of SGD over shuffled batches, metrics per epoch,
 * checkpoints through hooks, a guard against non-finite losses, and clean
 * interruption. The app wires files, progress display and signals to the hooks.
 */
import * as E from 'fp-ts/Either';
import * as tf from '@tensorflow/tfjs';
import type { Split } from '@resnet/fashion-mnist';
import { smallerBatchAhead } from '@resnet/backend';
import { forward, modelGradients, type Model } from '@resnet/tfjs';
import { accuracyCount, crossEntropy, crossEntropyWithGradient } from './loss.ts';
import { epochOrder, makeBatch, planBatches } from './pipeline.ts';
import { learningRate, type Schedule } from '@resnet/recipe';
import { sgdStep, type SgdConfig, type SgdState } from './sgd.ts';
import type { EpochMetrics, TrainerProgress } from '@resnet/run-dir';

/** Everything that shapes the optimisation (the rest of a run's config is bookkeeping). */
export interface TrainOptions {
  readonly epochs: number;
  readonly batchSize: number;
  readonly schedule: Schedule;
  readonly sgd: SgdConfig;
  readonly labelSmoothing: number;
  readonly imageSize: number;
  readonly augment: { readonly crop: boolean; readonly flip: boolean };
  readonly seed: number;
  readonly classes: number;
}

/** A live view of the current epoch, for progress bars. */
export interface StepProgress {
  readonly epoch: number;
  readonly step: number;
  readonly steps: number;
  readonly loss: number;
  readonly trainAcc: number;
  readonly examplesPerSec: number;
  readonly lr: number;
  /** Seconds spent on this epoch so far. */
  readonly seconds: number;
}

/** Callbacks through which the loop talks to the outside world. */
export interface TrainHooks {
  /** Called about every `progressEvery` ms (reads the running sums: one sync). */
  readonly onProgress?: (p: StepProgress) => void;
  /** After each epoch: persist metrics and a checkpoint at `progress` (an epoch boundary). */
  readonly onEpoch: (metrics: EpochMetrics, progress: TrainerProgress) => Promise<void>;
  /** Asked between steps; true stops the loop after saving through `onInterrupt`. */
  readonly shouldStop?: () => boolean;
  readonly onInterrupt?: (progress: TrainerProgress) => Promise<void>;
  readonly progressEvery?: number;
  /**
   * Called between steps once `checkpointEvery` ms of the epoch's training have passed since the epoch
   * began, resumed or was last saved so (never for an epoch's last step: `onEpoch` saves that), to save a
   * checkpoint in the middle of a long epoch. Its time is left out of the epoch's seconds and CPU time.
   */
  readonly onCheckpoint?: (progress: TrainerProgress) => Promise<void>;
  readonly checkpointEvery?: number;
}

/** Why training stopped early. */
export type TrainError = { readonly _tag: 'NonFinite'; readonly epoch: number; readonly step: number; readonly message: string };

/** How training ended. */
export interface TrainOutcome {
  readonly progress: TrainerProgress;
  readonly interrupted: boolean;
}

/** What one step returns: the batch's mean loss and its count of correct predictions (float32 scalars, owned by the caller). */
export interface StepResult {
  readonly loss: tf.Scalar;
  readonly correct: tf.Scalar;
}

/**
 * One SGD step on one batch: forward in training mode, cross-entropy, gradients, update
 * (weights, velocities and batch-norm running statistics change in place). Leaves no tensor
 * behind but the two it returns. The training loop and the benchmark both run this.
 * @example
 * const { loss, correct } = trainStep({ model, sgd, x, y, lr: 0.1, options });
 * tf.dispose([loss, correct]);
 */
export function trainStep(args: {
  readonly model: Model;
  readonly sgd: SgdState;
  readonly x: tf.Tensor4D;
  readonly y: tf.Tensor1D;
  readonly lr: number;
  /**
   * `fused: false` makes the interpreter compose batch norm from tfjs ops even where the backend has fused kernels.
   * `tape: true` takes the gradients from tfjs's tape (`tf.variableGrads`) instead of the interpreter's own backward pass
   * (`modelGradients`, which frees each intermediate once used): the reference the tests compare against.
   */
  readonly options: Pick<TrainOptions, 'sgd' | 'classes' | 'labelSmoothing'> & { readonly fused?: boolean; readonly tape?: boolean };
}): StepResult {
  const { model, sgd, x, y, lr, options } = args;
  const lossOptions = { numClasses: options.classes, labelSmoothing: options.labelSmoothing };
  let loss: tf.Scalar;
  let logits: tf.Tensor2D;
  let grads: ReadonlyMap<string, tf.Tensor>;
  if (options.tape === true) {
    const keys = [...model.params.keys()];
    const vars = [...model.params.values()];
    let out: tf.Tensor2D | undefined;
    const taped = tf.variableGrads(() => {
      out = tf.keep(forward(model, x, { training: true, fused: options.fused !== false }) as tf.Tensor2D);
      return crossEntropy(out, y, lossOptions);
    }, vars);
    [loss, logits, grads] = [
      taped.value,
      out as tf.Tensor2D,
      new Map(keys.map((k, i) => [k, taped.grads[vars[i]?.name ?? ''] as tf.Tensor])),
    ];
  } else {
    ({ loss, logits, grads } = modelGradients(model, x, (z) => crossEntropyWithGradient(z, y, lossOptions), {
      fused: options.fused !== false,
    }));
  }
  sgdStep(model, grads, sgd, lr, options.sgd);
  const correct = tf.tidy(() => tf.cast(accuracyCount(logits, y), 'float32') as tf.Scalar);
  tf.dispose([logits, ...grads.values()]);
  return { loss, correct };
}

/**
 * Trains `model` from `start` until `options.epochs` epochs are done.
 * One `dataSync` per progress update, not per step: loss and accuracy are summed on the device.
 * @example
 * await train({ model, sgd, trainSet, testSet, options, start: FRESH, hooks: { onEpoch: save } })
 */
export async function train(args: {
  readonly model: Model;
  readonly sgd: SgdState;
  readonly trainSet: Split;
  readonly testSet: Split;
  readonly options: TrainOptions;
  readonly start: TrainerProgress;
  readonly hooks: TrainHooks;
}): Promise<E.Either<TrainError, TrainOutcome>> {
  const { model, sgd, trainSet, testSet, options, hooks } = args;
  const progressEvery = hooks.progressEvery ?? 1000;
  let progress = args.start;

  for (let epoch = progress.epoch; epoch < options.epochs; epoch++) {
    const batches = planBatches(epochOrder(trainSet.count, { seed: options.seed, epoch, shuffle: true }), options.batchSize, {
      dropLast: false,
    });
    const resumeAt =
      epoch === progress.epoch
        ? progress
        : { ...progress, step: 0, partial: { lossSum: 0, correct: 0, seen: 0, seconds: 0, cpuSeconds: 0 } };
    let lossSum: tf.Tensor = tf.scalar(resumeAt.partial.lossSum);
    let correct: tf.Tensor = tf.scalar(resumeAt.partial.correct);
    let seen = resumeAt.partial.seen;
    // Moved later by the time spent saving checkpoints mid-epoch, so they are not counted as training.
    let began = performance.now() - resumeAt.partial.seconds * 1000;
    let lastCheckpoint = performance.now();
    let checkpointCpu = 0;
    // The process's CPU time over the epoch's training (unknown for an epoch resumed from a checkpoint that lacks it).
    const cpuBefore = resumeAt.step === 0 ? 0 : resumeAt.partial.cpuSeconds;
    const cpuBegan = process.cpuUsage();
    const cpuSoFar = (): { cpuSeconds?: number } => {
      if (cpuBefore === undefined) return {};
      const used = process.cpuUsage(cpuBegan);
      return { cpuSeconds: cpuBefore + (used.user + used.system) / 1e6 - checkpointCpu };
    };
    let lastReport = performance.now();
    let lr = 0;

    const readSums = () => ({ lossSum: lossSum.dataSync()[0] ?? NaN, correct: correct.dataSync()[0] ?? NaN });

    for (let step = resumeAt.step; step < batches.length; step++) {
      // Let the event loop run between steps, so signal handlers (Ctrl-C) are seen.
      await new Promise<void>((resolve) => setImmediate(resolve));
      if (hooks.shouldStop?.() === true) {
        const sums = readSums();
        progress = { epoch, step, partial: { ...sums, seen, seconds: (performance.now() - began) / 1000, ...cpuSoFar() } };
        tf.dispose([lossSum, correct]);
        await hooks.onInterrupt?.(progress);
        return E.right({ progress, interrupted: true });
      }
      const indices = batches[step];
      if (indices === undefined) break;
      lr = learningRate(options.schedule, { epoch, step, stepsPerEpoch: batches.length, totalEpochs: options.epochs });
      const { x, y } = makeBatch(trainSet, indices, {
        imageSize: options.imageSize,
        augment: options.augment,
        seed: options.seed,
        epoch,
        step,
      });
      const stepLr = lr;
      const result = inBatchOf(indices.length, options.batchSize, () => trainStep({ model, sgd, x, y, lr: stepLr, options }));
      const nextLoss = tf.tidy(() => tf.add(lossSum, tf.mul(result.loss, indices.length)));
      const nextCorrect = tf.tidy(() => tf.add(correct, result.correct));
      tf.dispose([lossSum, correct, x, y, result.loss, result.correct]);
      lossSum = nextLoss;
      correct = nextCorrect;
      seen += indices.length;

      if (
        hooks.onCheckpoint !== undefined &&
        hooks.checkpointEvery !== undefined &&
        step < batches.length - 1 &&
        performance.now() - lastCheckpoint >= hooks.checkpointEvery
      ) {
        const sums = readSums();
        if (!Number.isFinite(sums.lossSum)) return nonFinite(epoch, step, [lossSum, correct]);
        const saving = performance.now();
        const cpuSaving = process.cpuUsage();
        await hooks.onCheckpoint({
          epoch,
          step: step + 1,
          partial: { ...sums, seen, seconds: (saving - began) / 1000, ...cpuSoFar() },
        });
        const used = process.cpuUsage(cpuSaving);
        checkpointCpu += (used.user + used.system) / 1e6;
        lastCheckpoint = performance.now();
        began += lastCheckpoint - saving;
      }

      const now = performance.now();
      if (hooks.onProgress !== undefined && (now - lastReport >= progressEvery || step === batches.length - 1)) {
        lastReport = now;
        const sums = readSums();
        if (!Number.isFinite(sums.lossSum)) return nonFinite(epoch, step, [lossSum, correct]);
        const elapsed = (now - began) / 1000;
        hooks.onProgress({
          epoch: epoch + 1,
          step: step + 1,
          steps: batches.length,
          loss: sums.lossSum / seen,
          trainAcc: sums.correct / seen,
          examplesPerSec: seen / elapsed,
          lr,
          seconds: elapsed,
        });
      }
    }

    const seconds = (performance.now() - began) / 1000;
    const cpu = cpuSoFar();
    const sums = readSums();
    tf.dispose([lossSum, correct]);
    if (!Number.isFinite(sums.lossSum)) return nonFinite(epoch, batches.length - 1, []);
    const test = evaluate(model, testSet, { batchSize: options.batchSize, imageSize: options.imageSize, classes: options.classes });
    const metrics: EpochMetrics = {
      epoch: epoch + 1,
      loss: sums.lossSum / seen,
      trainAcc: sums.correct / seen,
      testAcc: test.correct / test.count,
      examplesPerSec: seen / seconds,
      lr,
      seconds,
      ...cpu,
    };
    progress = { epoch: epoch + 1, step: 0, partial: { lossSum: 0, correct: 0, seen: 0, seconds: 0, cpuSeconds: 0 } };
    await hooks.onEpoch(metrics, progress);
  }
  return E.right({ progress, interrupted: false });
}

function nonFinite(epoch: number, step: number, dispose: tf.Tensor[]): E.Either<TrainError, never> {
  tf.dispose(dispose);
  return E.left({
    _tag: 'NonFinite',
    epoch: epoch + 1,
    step: step + 1,
    message: `the training loss became NaN or infinite in epoch ${epoch + 1} (by step ${step + 1}); stopped without saving, the last checkpoint is the last good state`,
  });
}

/** One image's prediction (with `predictions: true`). */
export interface Prediction {
  /** Index of the image in the split. */
  readonly index: number;
  readonly label: number;
  readonly predicted: number;
  /** Softmax of the logits. */
  readonly probabilities: readonly number[];
}

/** Test-set results in inference mode. */
export interface Evaluation {
  readonly correct: number;
  readonly count: number;
  /** confusion[true][predicted] counts. */
  readonly confusion: readonly (readonly number[])[];
  /** Per image, in split order (only with `predictions: true`). */
  readonly predictions: readonly Prediction[] | null;
}

/** Options of {@link evaluate}. */
export interface EvaluateOptions {
  readonly batchSize: number;
  readonly imageSize: number;
  readonly classes: number;
  /** Also return every image's prediction and class probabilities. */
  readonly predictions?: boolean;
  /** Called after each batch with the images done so far. */
  readonly onProgress?: (done: number, total: number) => void;
}

/**
 * Runs `work` on a batch of `size` examples where full batches have `full`: a smaller one (an
 * epoch's or a test pass's last) runs in the full batches' spare storage (onednn's output pool,
 * `smallerBatchAhead`) instead of allocating its own beside it.
 */
function inBatchOf<T>(size: number, full: number, work: () => T): T {
  if (size >= full) return work();
  smallerBatchAhead(true);
  try {
    return work();
  } finally {
    smallerBatchAhead(false);
  }
}

/**
 * Accuracy and confusion matrix of `model` on a split, in inference mode.
 * @example evaluate(model, testSet, { batchSize: 256, imageSize: 28, classes: 10 }).correct
 */
export function evaluate(model: Model, split: Split, options: EvaluateOptions): Evaluation {
  const confusion = Array.from({ length: options.classes }, () => new Array<number>(options.classes).fill(0));
  const predictions: Prediction[] | null = options.predictions === true ? [] : null;
  let correct = 0;
  let done = 0;
  const batches = planBatches(epochOrder(split.count, { seed: 0, epoch: 0, shuffle: false }), options.batchSize, { dropLast: false });
  for (const [step, indices] of batches.entries()) {
    const { x, y } = makeBatch(split, indices, {
      imageSize: options.imageSize,
      augment: { crop: false, flip: false },
      seed: 0,
      epoch: 0,
      step,
    });
    const [argMax, probs] = inBatchOf(indices.length, options.batchSize, () =>
      tf.tidy(() => {
        const logits = forward(model, x, { training: false });
        return [tf.argMax(logits, 1), predictions === null ? null : tf.softmax(logits)] as const;
      }),
    );
    const predicted = argMax.dataSync();
    const probValues = probs?.dataSync() ?? null;
    tf.dispose([x, y, argMax, ...(probs === null ? [] : [probs])]);
    indices.forEach((index, i) => {
      const truth = split.labels[index] ?? 0;
      const guess = predicted[i] ?? 0;
      const row = confusion[truth];
      if (row !== undefined) row[guess] = (row[guess] ?? 0) + 1;
      if (truth === guess) correct++;
      if (predictions !== null && probValues !== null) {
        predictions.push({
          index,
          label: truth,
          predicted: guess,
          probabilities: Array.from(probValues.subarray(i * options.classes, (i + 1) * options.classes)),
        });
      }
    });
    done += indices.length;
    options.onProgress?.(done, split.count);
  }
  return { correct, count: split.count, confusion, predictions };
}
