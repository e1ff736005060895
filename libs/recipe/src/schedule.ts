/**
 * Learning-rate schedules as data, and one pure function from (schedule, progress)
 * to a learning rate. A schedule holds no state, so a resumed run needs only its
 * epoch and step.
 */
import * as E from 'fp-ts/Either';
import { absurd } from 'fp-ts/function';

// Module-level bindings: global `Math` lookups are many times slower in a vm context (jest).
const { cos, floor, max, min, PI, pow } = Math;

/** The same rate throughout. */
export interface Constant {
  readonly _tag: 'Constant';
  readonly lr: number;
}

/** `lr · gamma^⌊epoch / stepEvery⌋`, as PyTorch's `StepLR` stepped once per epoch. */
export interface Step {
  readonly _tag: 'Step';
  readonly lr: number;
  /** Epochs between decays. */
  readonly stepEvery: number;
  readonly gamma: number;
}

/**
 * Per step: a linear warm-up from lr/W to lr over the first W = warmupEpochs · stepsPerEpoch
 * steps, then a cosine decay from lr to `floor`, reached exactly at the run's last step.
 */
export interface Cosine {
  readonly _tag: 'Cosine';
  readonly lr: number;
  /** Warm-up length in epochs (may be fractional; 0 = none). */
  readonly warmupEpochs: number;
  /** The final learning rate. */
  readonly floor: number;
}

/** A learning-rate schedule. */
export type Schedule = Constant | Step | Cosine;

/**
 * A {@link Constant} schedule.
 * @example constant(0.1) // { _tag: 'Constant', lr: 0.1 }
 */
export function constant(lr: number): Schedule {
  return { _tag: 'Constant', lr };
}

/**
 * A {@link Step} schedule.
 * @example stepDecay({ lr: 0.1, stepEvery: 30, gamma: 0.1 }) // 0.1 until epoch 29, 0.01 from epoch 30, …
 */
export function stepDecay(options: Omit<Step, '_tag'>): Schedule {
  return { _tag: 'Step', lr: options.lr, stepEvery: options.stepEvery, gamma: options.gamma };
}

/**
 * A {@link Cosine} schedule with linear warm-up.
 * @example cosine({ lr: 0.1, warmupEpochs: 1, floor: 0 })
 */
export function cosine(options: Omit<Cosine, '_tag'>): Schedule {
  return { _tag: 'Cosine', lr: options.lr, warmupEpochs: options.warmupEpochs, floor: options.floor };
}

/** Why a schedule is invalid. */
export interface ScheduleError {
  readonly _tag: 'InvalidSchedule';
  /** What is wrong and how to fix it. */
  readonly message: string;
}

/**
 * Checks a schedule read from flags or a file: finite non-negative rates, floor ≤ lr,
 * a whole number of epochs ≥ 1 between decays, 0 < gamma ≤ 1.
 * @example checkSchedule(cosine({ lr: 0.1, warmupEpochs: 1, floor: 0.2 }))
 * // Left({ _tag: 'InvalidSchedule', message: 'Cosine schedule: floor 0.2 is above lr 0.1; the final rate must be at most the peak rate' })
 */
export function checkSchedule(schedule: Schedule): E.Either<ScheduleError, Schedule> {
  const fail = (message: string) =>
    E.left<ScheduleError, Schedule>({ _tag: 'InvalidSchedule', message: `${schedule._tag} schedule: ${message}` });
  if (!(Number.isFinite(schedule.lr) && schedule.lr >= 0)) return fail(`lr must be a finite number ≥ 0, got ${schedule.lr}`);
  switch (schedule._tag) {
    case 'Constant':
      return E.right(schedule);
    case 'Step':
      if (!(Number.isInteger(schedule.stepEvery) && schedule.stepEvery >= 1))
        return fail(`stepEvery must be a whole number of epochs ≥ 1, got ${schedule.stepEvery}`);
      if (!(schedule.gamma > 0 && schedule.gamma <= 1)) return fail(`gamma must be in (0, 1], got ${schedule.gamma}`);
      return E.right(schedule);
    case 'Cosine':
      if (!(Number.isFinite(schedule.warmupEpochs) && schedule.warmupEpochs >= 0))
        return fail(`warmupEpochs must be a finite number ≥ 0, got ${schedule.warmupEpochs}`);
      if (!(Number.isFinite(schedule.floor) && schedule.floor >= 0))
        return fail(`floor must be a finite number ≥ 0, got ${schedule.floor}`);
      if (schedule.floor > schedule.lr)
        return fail(`floor ${schedule.floor} is above lr ${schedule.lr}; the final rate must be at most the peak rate`);
      return E.right(schedule);
    default:
      return absurd(schedule);
  }
}

/** Where training is. */
export interface Progress {
  /** 0-based epoch. */
  readonly epoch: number;
  /** 0-based step within the epoch. */
  readonly step: number;
  readonly stepsPerEpoch: number;
  readonly totalEpochs: number;
}

/**
 * The learning rate at a point of training. Steps past the end get the last step's rate.
 * @example
 * learningRate(cosine({ lr: 0.1, warmupEpochs: 1, floor: 0 }), { epoch: 0, step: 99, stepsPerEpoch: 100, totalEpochs: 10 }) // 0.1
 * learningRate(cosine({ lr: 0.1, warmupEpochs: 1, floor: 0 }), { epoch: 9, step: 99, stepsPerEpoch: 100, totalEpochs: 10 }) // 0
 */
export function learningRate(schedule: Schedule, progress: Progress): number {
  switch (schedule._tag) {
    case 'Constant':
      return schedule.lr;
    case 'Step':
      return schedule.lr * pow(schedule.gamma, floor(progress.epoch / schedule.stepEvery));
    case 'Cosine': {
      const stepsPerEpoch = max(1, progress.stepsPerEpoch);
      const last = max(1, progress.totalEpochs) * stepsPerEpoch - 1;
      const t = min(progress.epoch * stepsPerEpoch + progress.step, last);
      // The last step always decays to the floor, so warm-up ends at the latest one step before it.
      const warmup = min(floor(schedule.warmupEpochs * stepsPerEpoch), last);
      // Written so the warm-up's end is exactly lr and the decay stays within [floor, lr] despite rounding.
      if (t < warmup) return schedule.lr * ((t + 1) / warmup);
      if (t >= last) return schedule.floor;
      const done = (t - warmup) / (last - warmup);
      return max(schedule.floor, schedule.lr - ((schedule.lr - schedule.floor) * (1 - cos(PI * done))) / 2);
    }
    default:
      return absurd(schedule);
  }
}
