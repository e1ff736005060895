import fc from 'fast-check';
import { matmulPlan } from './_matmul.ts';
import { describeOnednn, expectKernelsAgree, input, seedArb } from './_testing.ts';

/** Operand shapes for a (batched) matmul whose batch dimensions are equal or broadcast from 1. */
const matmulArb = fc
  .record({
    m: fc.integer({ min: 1, max: 24 }),
    k: fc.integer({ min: 1, max: 24 }),
    n: fc.integer({ min: 1, max: 24 }),
    transposeA: fc.boolean(),
    transposeB: fc.boolean(),
    outer: fc.array(fc.integer({ min: 1, max: 3 }), { maxLength: 2 }),
    broadcast: fc.constantFrom('none', 'a', 'b', 'rankA', 'rankB'),
  })
  .map(({ m, k, n, transposeA, transposeB, outer, broadcast }) => {
    // One side may hold a single batch: all-ones outer dims, or no outer dims at all.
    const outerA = broadcast === 'a' ? outer.map(() => 1) : broadcast === 'rankA' ? [] : outer;
    const outerB = broadcast === 'b' ? outer.map(() => 1) : broadcast === 'rankB' ? [] : outer;
    return {
      a: [...outerA, ...(transposeA ? [k, m] : [m, k])],
      b: [...outerB, ...(transposeB ? [n, k] : [k, n])],
      transposeA,
      transposeB,
      n,
      outShape: [...outer, m, n],
    };
  });

describe('matmul planning', () => {
  test('every operand pair built with equal or single batches has a native plan with the broadcast output shape', () => {
    fc.assert(
      fc.property(matmulArb, ({ a, b, transposeA, transposeB, outShape }) => {
        const plan = matmulPlan(a, b, transposeA, transposeB, 0);
        expect(typeof plan === 'string' ? plan : plan.outShape).toEqual(outShape);
      }),
    );
  });

  test('batches that would broadcast on both sides are left to the cpu kernel', () => {
    expect(matmulPlan([2, 1, 3, 4], [1, 5, 4, 6], false, false, 0)).toBe('batch broadcast on both sides');
    expect(matmulPlan([2, 3, 4], [2, 5, 6], false, false, 0)).toBe('inner dimensions differ');
  });
});

describeOnednn('oneDNN matmul kernels equal tfjs-backend-cpu', () => {
  test('BatchMatMul agrees for any sizes, transposes and batch broadcasting', () => {
    fc.assert(
      fc.property(matmulArb, seedArb, ({ a, b, transposeA, transposeB }, seed) => {
        expectKernelsAgree('BatchMatMul', { a: input(a, seed), b: input(b, seed + 1) }, { transposeA, transposeB });
      }),
      { numRuns: 120 },
    );
  });

  test('_FusedMatMul agrees with a per-column bias and each oneDNN-fused activation', () => {
    const fusion = fc.record({
      activation: fc.constantFrom('linear', 'relu', 'relu6', 'leakyrelu', 'elu', 'sigmoid'),
      bias: fc.constantFrom('none', 'vector', 'row'),
      leakyreluAlpha: fc.double({ min: 0.01, max: 0.5, noNaN: true }),
    });
    fc.assert(
      fc.property(matmulArb, fusion, seedArb, ({ a, b, transposeA, transposeB, n }, f, seed) => {
        const bias = f.bias === 'none' ? {} : { bias: input(f.bias === 'vector' ? [n] : [1, n], seed + 2) };
        expectKernelsAgree(
          '_FusedMatMul',
          { a: input(a, seed), b: input(b, seed + 1), ...bias },
          { transposeA, transposeB, activation: f.activation, leakyreluAlpha: f.leakyreluAlpha },
        );
      }),
      { numRuns: 100 },
    );
  });

  test('a classifier-sized matmul (128×512 by 512×10) agrees', () => {
    expectKernelsAgree('BatchMatMul', { a: input([128, 512], 1), b: input([512, 10], 2) }, { transposeA: false, transposeB: false });
    expectKernelsAgree('BatchMatMul', { a: input([128, 512], 1), b: input([128, 10], 2) }, { transposeA: true, transposeB: false });
  });
});
