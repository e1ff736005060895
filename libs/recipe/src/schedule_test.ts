import fc from 'fast-check';
import * as E from 'fp-ts/Either';
import { checkSchedule, constant, cosine, learningRate, stepDecay, type Progress, type Schedule } from './schedule.ts';

const { floor } = Math;

/** Every (epoch, step) of a run, in training order. */
function run(stepsPerEpoch: number, totalEpochs: number): Progress[] {
  return Array.from({ length: stepsPerEpoch * totalEpochs }, (_, t) => ({
    epoch: floor(t / stepsPerEpoch),
    step: t % stepsPerEpoch,
    stepsPerEpoch,
    totalEpochs,
  }));
}

/** Indices where a sequence goes up (resp. down) from its previous element: empty when monotone. */
function risesAt(xs: readonly number[]): number[] {
  return xs.flatMap((x, i) => (i > 0 && x > (xs[i - 1] ?? x) ? [i] : []));
}
function fallsAt(xs: readonly number[]): number[] {
  return xs.flatMap((x, i) => (i > 0 && x < (xs[i - 1] ?? x) ? [i] : []));
}

// Assertions gather violations and check once per case: a jest `expect` per step is slow.
const shape = fc.record({ stepsPerEpoch: fc.integer({ min: 1, max: 40 }), totalEpochs: fc.integer({ min: 1, max: 30 }) });
const rate = fc.double({ min: 1e-5, max: 2, noNaN: true });

// A cosine schedule valid for its run: floor built as a fraction of lr, warm-up within the run.
const cosineRun = shape.chain(({ stepsPerEpoch, totalEpochs }) =>
  fc.record({
    stepsPerEpoch: fc.constant(stepsPerEpoch),
    totalEpochs: fc.constant(totalEpochs),
    schedule: fc
      .record({
        lr: rate,
        fraction: fc.double({ min: 0, max: 1, noNaN: true }),
        warmupEpochs: fc.oneof(fc.constant(0), fc.double({ min: 0, max: totalEpochs, noNaN: true })),
      })
      .map(({ lr, fraction, warmupEpochs }) => ({ _tag: 'Cosine' as const, lr, floor: lr * fraction, warmupEpochs })),
  }),
);

const anySchedule: fc.Arbitrary<Schedule> = fc.oneof(
  rate.map(constant),
  fc.record({ lr: rate, stepEvery: fc.integer({ min: 1, max: 10 }), gamma: fc.double({ min: 1e-3, max: 1, noNaN: true }) }).map(stepDecay),
  cosineRun.map(({ schedule }) => schedule),
);

describe('learningRate', () => {
  test('a constant schedule gives its rate at every step', () => {
    fc.assert(
      fc.property(rate, shape, (lr, { stepsPerEpoch, totalEpochs }) => {
        expect(run(stepsPerEpoch, totalEpochs).filter((at) => learningRate(constant(lr), at) !== lr)).toEqual([]);
      }),
      { numRuns: 50 },
    );
  });

  test('a step schedule is lr·gamma^⌊epoch / stepEvery⌋: flat within an epoch and decaying by gamma every stepEvery epochs', () => {
    fc.assert(
      fc.property(
        rate,
        fc.integer({ min: 1, max: 10 }),
        fc.double({ min: 0.01, max: 1, noNaN: true }),
        shape,
        (lr, stepEvery, gamma, { stepsPerEpoch, totalEpochs }) => {
          const schedule = stepDecay({ lr, stepEvery, gamma });
          const wrong = run(stepsPerEpoch, totalEpochs).filter((at) => {
            const now = learningRate(schedule, at);
            const later = learningRate(schedule, { ...at, epoch: at.epoch + stepEvery });
            return (
              now !== learningRate(schedule, { ...at, step: 0 }) ||
              (at.epoch < stepEvery && now !== lr) ||
              Math.abs(later - now * gamma) > 1e-12
            );
          });
          expect(wrong).toEqual([]);
        },
      ),
      { numRuns: 50 },
    );
  });

  test('cosine warm-up rises linearly and monotonically from lr/W to exactly lr at its last step', () => {
    fc.assert(
      fc.property(cosineRun, ({ schedule, stepsPerEpoch, totalEpochs }) => {
        const rates = run(stepsPerEpoch, totalEpochs).map((at) => learningRate(schedule, at));
        const warmup = Math.min(floor(schedule.warmupEpochs * stepsPerEpoch), rates.length - 1);
        const ramp = rates.slice(0, warmup);
        expect(ramp.flatMap((r, t) => (Math.abs(r - (schedule.lr * (t + 1)) / warmup) > 1e-12 ? [t] : []))).toEqual([]);
        expect(fallsAt(ramp)).toEqual([]);
        if (warmup > 0) expect(ramp[warmup - 1]).toBe(schedule.lr);
      }),
    );
  });

  test('after warm-up cosine never increases, stays within [floor, lr], starts at lr and ends exactly at floor on the last step', () => {
    fc.assert(
      fc.property(cosineRun, ({ schedule, stepsPerEpoch, totalEpochs }) => {
        const rates = run(stepsPerEpoch, totalEpochs).map((at) => learningRate(schedule, at));
        const warmup = Math.min(floor(schedule.warmupEpochs * stepsPerEpoch), rates.length - 1);
        const decay = rates.slice(warmup);
        expect(risesAt(decay)).toEqual([]);
        expect(Math.min(...decay)).toBeGreaterThanOrEqual(schedule.floor);
        expect(Math.max(...decay)).toBeLessThanOrEqual(schedule.lr);
        if (decay.length > 1) expect(decay[0]).toBe(schedule.lr);
        expect(rates[rates.length - 1]).toBe(schedule.floor);
      }),
    );
  });

  test('cosine without warm-up is halfway between lr and floor at the run’s midpoint', () => {
    // 3 epochs of 7 steps: steps 0..20, midpoint 10.
    expect(
      learningRate(cosine({ lr: 0.1, warmupEpochs: 0, floor: 0.02 }), { epoch: 1, step: 3, stepsPerEpoch: 7, totalEpochs: 3 }),
    ).toBeCloseTo(0.06, 12);
  });

  test('every rate is finite and ≥ 0, including past the end of the run', () => {
    fc.assert(
      fc.property(anySchedule, shape, fc.nat(100), fc.nat(100), (schedule, { stepsPerEpoch, totalEpochs }, epoch, step) => {
        const lr = learningRate(schedule, { epoch, step, stepsPerEpoch, totalEpochs });
        expect(Number.isFinite(lr)).toBe(true);
        expect(lr).toBeGreaterThanOrEqual(0);
      }),
    );
  });
});

describe('checkSchedule', () => {
  test('accepts every valid schedule unchanged', () => {
    fc.assert(fc.property(anySchedule, (schedule) => expect(checkSchedule(schedule)).toEqual(E.right(schedule))));
  });

  test('rejects a floor above lr, a zero stepEvery and a negative lr, saying what to fix', () => {
    expect(checkSchedule(cosine({ lr: 0.1, warmupEpochs: 1, floor: 0.2 }))).toEqual(
      E.left({
        _tag: 'InvalidSchedule',
        message: 'Cosine schedule: floor 0.2 is above lr 0.1; the final rate must be at most the peak rate',
      }),
    );
    expect(checkSchedule(stepDecay({ lr: 0.1, stepEvery: 0, gamma: 0.1 }))).toEqual(
      E.left({ _tag: 'InvalidSchedule', message: 'Step schedule: stepEvery must be a whole number of epochs ≥ 1, got 0' }),
    );
    expect(E.isLeft(checkSchedule(constant(-1)))).toBe(true);
  });
});
