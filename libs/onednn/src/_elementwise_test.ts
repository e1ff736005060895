import fc from 'fast-check';
import { binaryPlan, reducePlan } from './_elementwise.ts';
import { describeOnednn, expectKernelsAgree, input, seedArb } from './_testing.ts';

/** An output shape and two operand shapes that broadcast to it (dims set to 1, leading dims dropped). */
const broadcastArb = fc
  .array(fc.integer({ min: 1, max: 6 }), { minLength: 0, maxLength: 5 })
  .chain((out) =>
    fc.record({
      out: fc.constant(out),
      a: fc.tuple(fc.integer({ min: 0, max: out.length }), fc.array(fc.boolean(), { minLength: out.length, maxLength: out.length })),
      b: fc.tuple(fc.integer({ min: 0, max: out.length }), fc.array(fc.boolean(), { minLength: out.length, maxLength: out.length })),
    }),
  )
  .map(({ out, a, b }) => {
    const operand = ([drop, ones]: [number, boolean[]]): number[] => out.map((d, i) => (ones[i] ? 1 : d)).slice(drop);
    const [sa, sb] = [operand(a), operand(b)];
    // The true broadcast shape: the longer rank, and per axis the larger dim.
    const rank = Math.max(sa.length, sb.length);
    const pad = (s: number[]): number[] => [...Array<number>(rank - s.length).fill(1), ...s];
    return { out: pad(sa).map((d, i) => Math.max(d, pad(sb)[i] ?? 1)), a: sa, b: sb };
  });

// The rule the kernels promise: oneDNN runs when the first operand, or for commutative ops
// either operand, already has the output shape (padded with leading ones).
function nativeExpected(a: number[], b: number[], out: number[], commutative: boolean): boolean {
  const full = (s: number[]): boolean => [...Array<number>(out.length - s.length).fill(1), ...s].join() === out.join();
  return out.every((d) => d > 0) && (full(a) || (commutative && full(b)));
}

/** A shape, some axes to reduce (possibly negative, as tfjs allows) and keepDims. */
const reductionArb = fc
  .array(fc.integer({ min: 1, max: 7 }), { minLength: 1, maxLength: 5 })
  .chain((shape) =>
    fc.record({
      shape: fc.constant(shape),
      axes: fc.uniqueArray(fc.integer({ min: 0, max: shape.length - 1 }), { minLength: 1, maxLength: shape.length }),
      negative: fc.boolean(),
      keepDims: fc.boolean(),
    }),
  )
  .map(({ shape, axes, negative, keepDims }) => ({ shape, axis: negative ? axes.map((a) => a - shape.length) : axes, keepDims }));

describe('elementwise planning', () => {
  test('the first operand of oneDNN binary has the output shape; only commutative ops swap', () => {
    fc.assert(
      fc.property(broadcastArb, fc.boolean(), ({ a, b, out }, commutative) => {
        const plan = binaryPlan(a, b, commutative);
        expect(typeof plan !== 'string').toBe(nativeExpected(a, b, out, commutative));
        if (typeof plan !== 'string') expect(plan.outShape).toEqual(out);
      }),
    );
  });

  test('reductions drop or keep the reduced axes as tfjs does', () => {
    expect(reducePlan([2, 3, 4], [0, 2], false)).toEqual({ outShape: [3], shapes: Int32Array.of(3, 2, 3, 4, 1, 3, 1) });
    expect(reducePlan([2, 3, 4], -1, true)).toEqual({ outShape: [2, 3, 1], shapes: Int32Array.of(3, 2, 3, 4, 2, 3, 1) });
    expect(reducePlan([2, 1], 1, false)).toEqual({ outShape: [2], shapes: Int32Array.of(2, 2, 1, 2, 1) }); // size-1 axes only: a copy
    expect(reducePlan([2, 3], null, false)).toEqual({ outShape: [], shapes: Int32Array.of(2, 2, 3, 1, 1) }); // no axis: all of them, as tf.sum(x)
  });
});

describeOnednn('oneDNN elementwise kernels equal tfjs-backend-cpu', () => {
  test.each([
    ['Add', true],
    ['Sub', false],
    ['Multiply', true],
    ['RealDiv', false],
    ['Maximum', true],
    ['Minimum', true],
  ] as const)('%s agrees for any broadcast, and runs natively unless only the first operand broadcasts', (kernel, commutative) => {
    fc.assert(
      fc.property(broadcastArb, seedArb, ({ a, b, out }, seed) => {
        expectKernelsAgree(
          kernel,
          { a: input(a, seed), b: input(b, seed + 1) },
          {},
          { requireNative: nativeExpected(a, b, out, commutative) },
        );
      }),
      { numRuns: 40 },
    );
  });

  test.each(['Sum', 'Mean', 'Max', 'Min'])('%s agrees over any axes, with or without keepDims', (kernel) => {
    fc.assert(
      fc.property(reductionArb, seedArb, ({ shape, axis, keepDims }, seed) => {
        const attrs = kernel === 'Max' ? { reductionIndices: axis, keepDims } : { axis, keepDims };
        expectKernelsAgree(kernel, { x: input(shape, seed) }, attrs, { requireNative: true });
      }),
      { numRuns: 50 },
    );
  });

  test.each(['Sum', 'Mean', 'Max', 'Min'])('%s with no axis (tf.sum(x)) reduces every axis', (kernel) => {
    const attrs = kernel === 'Max' ? { reductionIndices: null, keepDims: false } : { axis: null, keepDims: false };
    expectKernelsAgree(kernel, { x: input([3, 3], 4) }, attrs, { requireNative: true });
  });

  test.each(['Sum', 'Mean', 'Max', 'Min'])(
    '%s over size-1 axes only (global pooling of a 1×1 map, NaN included) is native and copies x',
    (kernel) => {
      const x = input([8, 1, 1, 64], 9);
      x.values[5] = Number.NaN;
      const attrs = kernel === 'Max' ? { reductionIndices: [1, 2], keepDims: false } : { axis: [1, 2], keepDims: false };
      expectKernelsAgree(kernel, { x }, attrs, { requireNative: true });
    },
  );

  test('batch-norm statistics (reducing N, H, W of a large NHWC tensor) agree', () => {
    const x = input([16, 14, 14, 32], 5);
    expectKernelsAgree('Sum', { x }, { axis: [0, 1, 2], keepDims: false });
    expectKernelsAgree('Mean', { x }, { axis: [0, 1, 2], keepDims: true });
    expectKernelsAgree('Max', { x }, { reductionIndices: [1, 2], keepDims: false });
  });

  test.each([
    ['Relu', {}],
    ['Step', { alpha: 0.3 }],
    ['Square', {}],
  ] as const)('%s agrees for any shape, and on zeros, infinities and NaN', (kernel, attrs) => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 6 }), { maxLength: 4 }), seedArb, (shape, seed) => {
        expectKernelsAgree(kernel, { x: input(shape, seed) }, attrs);
      }),
      { numRuns: 40 },
    );
    expectKernelsAgree(kernel, { x: { shape: [5], values: Float32Array.of(0, -0, Infinity, -Infinity, NaN) } }, attrs);
  });

  test('FusedBatchNorm agrees with per-channel or repeating parameters, with and without offset and scale', () => {
    const bnArb = fc.record({
      rows: fc.integer({ min: 1, max: 40 }),
      channels: fc.integer({ min: 1, max: 12 }),
      // Parameter lengths: the channel count (the NHWC case) or any other length (tfjs repeats it).
      length: fc.option(fc.integer({ min: 1, max: 7 }), { nil: undefined }),
      offset: fc.boolean(),
      scale: fc.boolean(),
      varianceEpsilon: fc.double({ min: 1e-5, max: 0.1, noNaN: true }),
    });
    fc.assert(
      fc.property(bnArb, seedArb, (c, seed) => {
        const n = c.length ?? c.channels;
        const variance = input([n], seed + 2);
        variance.values.forEach((v, i) => (variance.values[i] = Math.abs(v)));
        expectKernelsAgree(
          'FusedBatchNorm',
          {
            x: input([c.rows, c.channels], seed),
            mean: input([n], seed + 1),
            variance,
            ...(c.offset ? { offset: input([n], seed + 3) } : {}),
            ...(c.scale ? { scale: input([n], seed + 4) } : {}),
          },
          { varianceEpsilon: c.varianceEpsilon },
        );
      }),
      { numRuns: 100 },
    );
  });

  test('Tile agrees for any shape and repetitions', () => {
    const tileArb = fc.array(fc.integer({ min: 1, max: 5 }), { minLength: 1, maxLength: 4 }).chain((shape) =>
      fc.record({
        shape: fc.constant(shape),
        reps: fc.array(fc.integer({ min: 1, max: 3 }), { minLength: shape.length, maxLength: shape.length }),
      }),
    );
    fc.assert(
      fc.property(tileArb, seedArb, ({ shape, reps }, seed) => {
        expectKernelsAgree('Tile', { x: input(shape, seed) }, { reps });
      }),
      { numRuns: 100 },
    );
  });
});
