import fc from 'fast-check';
import { mulberry32, normalArray, uniformArray } from './random.ts';

describe('seeded random numbers', () => {
  test('mulberry32 gives the same stream for the same seed, another for another seed, all in [0, 1)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 32 - 1 }), (seed) => {
        const a = mulberry32(seed);
        const b = mulberry32(seed);
        const c = mulberry32(seed + 1);
        const xs = Array.from({ length: 8 }, () => a());
        expect(Array.from({ length: 8 }, () => b())).toEqual(xs);
        expect(Array.from({ length: 8 }, () => c())).not.toEqual(xs);
        for (const x of xs) expect(x >= 0 && x < 1).toBe(true);
      }),
      { numRuns: 200 },
    );
  });

  test("mulberry32's numbers are uniform: each tenth of [0, 1) gets a tenth of 100,000 draws (within 3%)", () => {
    const next = mulberry32(7);
    const bins = new Array<number>(10).fill(0);
    for (let i = 0; i < 100_000; i++) {
      const bin = Math.floor(next() * 10);
      bins[bin] = (bins[bin] ?? 0) + 1;
    }
    for (const n of bins) expect(Math.abs(n - 10_000)).toBeLessThan(300);
  });

  test('normalArray has mean 0 and the given std; uniformArray stays within its bound', () => {
    const xs = normalArray(100_001, 0.5, 3);
    const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
    const std = Math.sqrt(xs.reduce((s, x) => s + (x - mean) ** 2, 0) / xs.length);
    expect(Math.abs(mean)).toBeLessThan(0.01);
    expect(Math.abs(std - 0.5)).toBeLessThan(0.01);
    const us = uniformArray(10_000, 0.2, 3);
    expect(us.every((u) => u >= -0.2 && u < 0.2)).toBe(true);
    expect(Math.max(...us)).toBeGreaterThan(0.19);
    expect(Math.min(...us)).toBeLessThan(-0.19);
  });
});
