import * as fc from 'fast-check';
import { holm, incompleteBeta, sample, studentTwoSided, welch } from './spread.ts';

describe('sample: n, mean, sample standard deviation, range', () => {
  test('the standard deviation divides by n − 1; one value has none', () => {
    const s = sample([0.9, 0.91, 0.92]);
    expect(s.n).toBe(3);
    expect(s.mean).toBeCloseTo(0.91, 12);
    expect(s.std).toBeCloseTo(0.01, 12);
    expect([s.min, s.max]).toEqual([0.9, 0.92]);
    expect(sample([0.9])).toEqual({ n: 1, mean: 0.9, std: null, min: 0.9, max: 0.9 });
  });

  test('shifting every value shifts the mean and leaves the spread', () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 2, maxLength: 8 }),
        fc.double({ min: -1, max: 1, noNaN: true }),
        (xs, shift) => {
          const a = sample(xs);
          const b = sample(xs.map((x) => x + shift));
          expect(b.mean).toBeCloseTo(a.mean + shift, 9);
          expect(b.std ?? 0).toBeCloseTo(a.std ?? 0, 9);
        },
      ),
      { numRuns: 100 },
    );
  });
});

describe("Student's t and Welch's test agree with scipy.stats", () => {
  // Expected values: python3 -c "from scipy import stats; print(2 * stats.t.sf(2.0, 10), …)" (scipy 1.17.1).
  test.each([
    [2.0, 10, 0.07338803477074037],
    [2.228, 10, 0.05001177181711132],
    [5.0, 2.5, 0.02345118997086185],
    [0.3, 30, 0.7662461052843528],
    [-2.0, 10, 0.07338803477074037],
  ])('two-sided p of t = %s with %s degrees of freedom is %s', (t, df, p) => {
    expect(studentTwoSided(t, df)).toBeCloseTo(p, 10);
  });

  test('closed forms: one degree of freedom is Cauchy, two have p = 1 − |t|/√(2 + t²)', () => {
    fc.assert(
      fc.property(fc.double({ min: -50, max: 50, noNaN: true }), (t) => {
        expect(studentTwoSided(t, 1)).toBeCloseTo(1 - (2 / Math.PI) * Math.atan(Math.abs(t)), 9);
        expect(studentTwoSided(t, 2)).toBeCloseTo(1 - Math.abs(t) / Math.sqrt(2 + t * t), 9);
      }),
      { numRuns: 200 },
    );
    expect(incompleteBeta(0.3, 2, 3)).toBeCloseTo(0.3483, 4); // scipy.special.betainc(2, 3, 0.3) = 0.3483
  });

  test("Welch's t, degrees of freedom and p equal scipy.stats.ttest_ind(a, b, equal_var=False)", () => {
    const r = welch([0.9121, 0.9093, 0.914], [0.8882, 0.895, 0.8911]);
    expect(r?.t).toBeCloseTo(8.497593242153425, 9);
    expect(r?.df).toBeCloseTo(3.560677683596597, 9);
    expect(r?.p).toBeCloseTo(0.0017317449210464768, 10);
    const s = welch([1, 2, 3], [4, 5, 6.5]);
    expect([s?.t, s?.df, s?.p].map((v) => Number(v?.toFixed(9)))).toEqual([-3.412500739, 3.805940594, 0.029145306]);
  });

  test('one run, or no spread on either side, is no test', () => {
    expect(welch([0.9], [0.8, 0.81])).toBeNull();
    expect(welch([0.9, 0.9], [0.8, 0.8])).toBeNull();
  });
});

describe("Holm's correction", () => {
  test('multiplies the k-th smallest p by (m − k + 1), keeps the order monotone and caps at 1', () => {
    expect(holm([0.01, 0.04, 0.03]).map((p) => Number(p.toFixed(12)))).toEqual([0.03, 0.06, 0.06]);
    expect(holm([0.5, 0.6])).toEqual([1, 1]);
    expect(holm([])).toEqual([]);
  });
});
