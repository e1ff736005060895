import fc from 'fast-check';
import { defaultBatchSize, median, planConfigs, SUITES } from './plan.ts';

describe('planConfigs', () => {
  test('no flags: the issue’s suite, 18/34/50 at 28×28 batch 128 and 18 at 96×96 batch 64', () => {
    expect(planConfigs({ mode: 'train', variants: [], imageSize: null, batchSize: null })).toEqual([
      { mode: 'train', variant: 18, imageSize: 28, batchSize: 128 },
      { mode: 'train', variant: 34, imageSize: 28, batchSize: 128 },
      { mode: 'train', variant: 50, imageSize: 28, batchSize: 128 },
      { mode: 'train', variant: 18, imageSize: 96, batchSize: 64 },
    ]);
  });

  test('--mode=infer: the same networks in inference mode at batch 256, the test pass’s batch', () => {
    expect(planConfigs({ mode: 'infer', variants: [], imageSize: null, batchSize: null })).toEqual(
      SUITES.train.map((c) => ({ ...c, mode: 'infer', batchSize: 256 })),
    );
    expect(planConfigs({ mode: 'infer', variants: [50], imageSize: 96, batchSize: null })).toEqual([
      { mode: 'infer', variant: 50, imageSize: 96, batchSize: 256 },
    ]);
  });

  test('--mini-batch alone replaces the suite’s batch sizes', () => {
    expect(planConfigs({ mode: 'train', variants: [], imageSize: null, batchSize: 32 }).map((c) => c.batchSize)).toEqual([32, 32, 32, 32]);
  });

  test('--variants and --image-size select their cross product, with the default batch for the size', () => {
    expect(planConfigs({ mode: 'train', variants: [18], imageSize: null, batchSize: null })).toEqual([
      { mode: 'train', variant: 18, imageSize: 28, batchSize: 128 },
    ]);
    expect(planConfigs({ mode: 'train', variants: [], imageSize: 96, batchSize: null })).toEqual(
      [18, 34, 50].map((variant) => ({ mode: 'train', variant, imageSize: 96, batchSize: 64 })),
    );
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.constantFrom(18, 34, 50, 101, 152), { minLength: 1 }),
        fc.integer({ min: 8, max: 512 }),
        fc.option(fc.integer({ min: 1, max: 512 })),
        (variants, imageSize, batchSize) => {
          const plan = planConfigs({ mode: 'train', variants, imageSize, batchSize });
          expect(plan.map((c) => c.variant)).toEqual(variants);
          expect(plan.every((c) => c.imageSize === imageSize && c.batchSize === (batchSize ?? defaultBatchSize(imageSize)))).toBe(true);
        },
      ),
    );
  });
});

describe('median', () => {
  test('is the middle value, or the mean of the middle two, whatever the order', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    fc.assert(
      fc.property(fc.array(fc.double({ min: 0, max: 1e6, noNaN: true }), { minLength: 1 }), (xs) => {
        const m = median(xs);
        expect(xs.filter((x) => x < m).length).toBeLessThanOrEqual(xs.length / 2);
        expect(xs.filter((x) => x > m).length).toBeLessThanOrEqual(xs.length / 2);
      }),
    );
  });
});
