import * as tf from '@tensorflow/tfjs';
import fc from 'fast-check';
import { FUSED_KERNELS } from '@resnet/kernels';
import { onednnStats } from './diagnostics.ts';
import { sumSquaresJs } from './_fused.ts';
import { describeOnednn, input, relativeError, seedArb, wideChannelsArb, type Input } from './_testing.ts';

const EPSILON = 1e-5;

beforeAll(async () => {
  await tf.setBackend('cpu');
  (tf.backend() as unknown as { firstUse?: boolean }).firstUse = false; // no "install tfjs-node" nag
});

function tensor(t: Input): tf.Tensor {
  return tf.tensor(t.values, t.shape, 'float32');
}

function read(ts: readonly tf.Tensor[]): Float32Array[] {
  return ts.map((t) => t.dataSync() as Float32Array);
}

function expectClose(actual: readonly Float32Array[], expected: readonly Float32Array[], what: string): void {
  expect(actual.length).toBe(expected.length);
  actual.forEach((a, i) => {
    const error = relativeError(a, expected[i] ?? new Float32Array());
    if (!(error <= 1e-4)) throw new Error(`${what} output ${i}: relative error ${error} > 1e-4`);
  });
}

/** Batch norm in training mode composed from tfjs ops on `cpu`, and its gradient w.r.t. x, scale, offset for upstream dy. */
function composite(x: Input, scale: Input, offset: Input, dy: Input): { forward: Float32Array[]; grads: Float32Array[] } {
  tf.setBackend('cpu');
  return tf.tidy(() => {
    const axes = x.shape.map((_, i) => i).slice(0, -1);
    const f = (xs: tf.Tensor, s: tf.Tensor, o: tf.Tensor): tf.Tensor => {
      const { mean, variance } = tf.moments(xs, axes);
      return tf.batchNorm(xs, mean, variance, o, s, EPSILON);
    };
    const [xs, s, o, d] = [tensor(x), tensor(scale), tensor(offset), tensor(dy)];
    const { mean, variance } = tf.moments(xs, axes);
    const forward = read([f(xs, s, o), mean, variance]);
    const grads = read(tf.grads((a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) => tf.sum(tf.mul(f(a, b, c), d)))([xs, s, o]));
    return { forward, grads };
  });
}

function fused(backend: string, x: Input, scale: Input, offset: Input, dy: Input): { forward: Float32Array[]; grads: Float32Array[] } {
  tf.setBackend(backend);
  return tf.tidy(() => {
    const [xs, s, o, d] = [tensor(x), tensor(scale), tensor(offset), tensor(dy)];
    const out = tf.engine().runKernel(FUSED_KERNELS.batchNormTrain, { x: xs, scale: s, offset: o }, { epsilon: EPSILON }) as tf.Tensor[];
    const [, mean, variance] = out as [tf.Tensor, tf.Tensor, tf.Tensor];
    const grads = tf
      .engine()
      .runKernel(FUSED_KERNELS.batchNormGrad, { dy: d, x: xs, scale: s, mean, variance }, { epsilon: EPSILON }) as tf.Tensor[];
    return { forward: read(out), grads: read(grads) };
  });
}

interface SgdHyper {
  readonly lr: number;
  readonly momentum: number;
  readonly weightDecay: number;
  readonly nesterov: boolean;
}

/** The SGD update as it was before gradScale, written out in float32 (every operation rounded once; no FMA). */
function sgdFloat32(p: Float32Array, g: Float32Array, v: Float32Array, h: SgdHyper): [Float32Array, Float32Array] {
  const f = Math.fround;
  const [lr, m, wd] = [f(h.lr), f(h.momentum), f(h.weightDecay)];
  const newP = new Float32Array(p.length),
    newV = new Float32Array(p.length);
  for (let i = 0; i < p.length; i++) {
    const pi = p[i] ?? NaN;
    const d = f((g[i] ?? NaN) + f(wd * pi));
    const vel = f(f(m * (v[i] ?? NaN)) + d);
    newV[i] = vel;
    newP[i] = f(pi - f(lr * (h.nesterov ? f(d + f(m * vel)) : vel)));
  }
  return [newP, newV];
}

/** How many elements of a and b differ in their bits, and the first. */
function bitDifferences(a: Float32Array, b: Float32Array): { count: number; first?: number } {
  if (a.length !== b.length) return { count: Infinity };
  const [x, y] = [new Uint32Array(a.buffer, a.byteOffset, a.length), new Uint32Array(b.buffer, b.byteOffset, b.length)];
  let count = 0,
    first: number | undefined;
  for (let i = 0; i < x.length; i++) {
    if (x[i] !== y[i]) {
      count++;
      first ??= i;
    }
  }
  return first === undefined ? { count } : { count, first };
}

/** The float64 a `ResNetSumSquares` output's two int32 words hold. */
function float64Of(words: tf.Tensor): number {
  return new Float64Array(Int32Array.from(words.dataSync()).buffer)[0] ?? NaN;
}

// Channels-last data of rank 2 or 4 (the interpreter's dense and conv batch norms), 1–64 channels (16, 32, 48, 64 often).
const bnCaseArb = fc.record({
  shape: fc.oneof(
    fc
      .tuple(fc.integer({ min: 2, max: 5 }), fc.integer({ min: 1, max: 6 }), fc.integer({ min: 1, max: 6 }), wideChannelsArb)
      .map((s) => [...s]),
    fc.tuple(fc.integer({ min: 2, max: 64 }), wideChannelsArb).map((s) => [...s]),
  ),
  seed: seedArb,
  shift: fc.double({ min: -3, max: 3, noNaN: true }),
});

/** A batch-norm case's data: x shifted per channel (means away from 0, as after a convolution), scale, offset and an upstream gradient. */
function bnInputs({ shape, seed, shift }: { shape: number[]; seed: number; shift: number }): {
  c: number;
  x: Input;
  scale: Input;
  offset: Input;
  dy: Input;
} {
  const c = shape[shape.length - 1] ?? 1;
  const x = { shape, values: input(shape, seed).values.map((v, i) => v + shift * ((i % c) / c)) };
  return { c, x, scale: input([c], seed + 1), offset: input([c], seed + 2), dy: input(shape, seed + 3) };
}

describeOnednn('fused training kernels', () => {
  test('ResNetBatchNormTrain and ResNetBatchNormGrad equal batch norm composed from tfjs ops on cpu', () => {
    fc.assert(
      fc.property(bnCaseArb, (bnCase) => {
        const { x: shifted, scale, offset, dy } = bnInputs(bnCase);
        const expected = composite(shifted, scale, offset, dy);
        const before = onednnStats().native[FUSED_KERNELS.batchNormGrad] ?? 0;
        const actual = fused('onednn', shifted, scale, offset, dy);
        expect((onednnStats().native[FUSED_KERNELS.batchNormGrad] ?? 0) - before).toBe(1);
        expectClose(actual.forward, expected.forward, 'forward');
        expectClose(actual.grads, expected.grads, 'gradient');
      }),
      { numRuns: 60 },
    );
  });

  test('ResNetBatchNormTrain with relu gives relu of its output without relu (bits), statistics unchanged; the JS version agrees', () => {
    fc.assert(
      fc.property(bnCaseArb, (bnCase) => {
        const { c, x, scale, offset } = bnInputs(bnCase);
        const run = (attrs: tf.NamedAttrMap, dtype: 'float32' | 'int32' = 'float32') =>
          tf.tidy(() => {
            const o = dtype === 'float32' ? tensor(offset) : tf.zeros([c], 'int32');
            const out = tf.engine().runKernel(FUSED_KERNELS.batchNormTrain, { x: tensor(x), scale: tensor(scale), offset: o }, attrs);
            return read(out as tf.Tensor[]);
          });
        tf.setBackend('onednn');
        const [plain, withRelu] = [run({ epsilon: EPSILON }), run({ epsilon: EPSILON, relu: true })];
        const [y, mean, variance] = plain as [Float32Array, Float32Array, Float32Array];
        expect(withRelu[0]).toEqual(y.map((v) => (v < 0 ? 0 : v)));
        expect(withRelu.slice(1)).toEqual([mean, variance]);
        // The JS version (an int32 offset of zeros) against the native one on a float32 zero offset.
        const js = run({ epsilon: EPSILON, relu: true }, 'int32');
        const nativeZero = tf.tidy(() =>
          read(
            tf.engine().runKernel(
              FUSED_KERNELS.batchNormTrain,
              { x: tensor(x), scale: tensor(scale), offset: tf.zeros([c]) },
              {
                epsilon: EPSILON,
                relu: true,
              },
            ) as tf.Tensor[],
          ),
        );
        expectClose(js, nativeZero, 'JS version with relu');
      }),
      { numRuns: 30 },
    );
  });

  test('ResNetBatchNormGrad given y (its ReLU output) gives bit for bit ResNetReluGrad then ResNetBatchNormGrad; the JS version agrees', () => {
    fc.assert(
      fc.property(bnCaseArb, (bnCase) => {
        const { x, scale, offset, dy } = bnInputs(bnCase);
        tf.setBackend('onednn');
        const [twoKernels, oneKernel, js] = tf.tidy(() => {
          const [xs, s, o, d] = [tensor(x), tensor(scale), tensor(offset), tensor(dy)];
          const [y, mean, variance] = tf
            .engine()
            .runKernel(FUSED_KERNELS.batchNormTrain, { x: xs, scale: s, offset: o }, { epsilon: EPSILON, relu: true }) as tf.Tensor[];
          const inputs = { x: xs, scale: s, mean: mean as tf.Tensor, variance: variance as tf.Tensor };
          const grad = (extra: tf.NamedTensorMap) =>
            read(tf.engine().runKernel(FUSED_KERNELS.batchNormGrad, { ...inputs, ...extra }, { epsilon: EPSILON }) as tf.Tensor[]);
          const masked = tf.engine().runKernel(FUSED_KERNELS.reluGrad, { dy: d, y: y as tf.Tensor }) as tf.Tensor;
          // y's signs as an int32 tensor run the JS version (relu outputs: 0 or positive).
          const signs = tf.cast(tf.greater(y as tf.Tensor, 0), 'int32');
          return [grad({ dy: masked }), grad({ dy: d, y: y as tf.Tensor }), grad({ dy: d, y: signs })];
        });
        expect(oneKernel).toEqual(twoKernels);
        expectClose(js, oneKernel, 'JS version with y');
      }),
      { numRuns: 30 },
    );
  });

  test('ResNetBatchNormTrain: mean and variance of a channel with a large mean and a tiny spread (mean²/variance ~1e10) within 1e-6 of float64', () => {
    tf.setBackend('onednn');
    const rows = 4096;
    const values = Float32Array.from({ length: rows * 2 }, (_, i) => (i % 2 === 0 ? 1000 + 0.01 * Math.sin(i) : -0.5 + Math.cos(i)));
    const [mean, variance] = tf.tidy(() =>
      read(
        tf.engine().runKernel(
          FUSED_KERNELS.batchNormTrain,
          { x: tf.tensor(values, [rows, 2]), scale: tf.ones([2]), offset: tf.zeros([2]) },
          {
            epsilon: EPSILON,
          },
        ) as tf.Tensor[],
      ).slice(1),
    ) as [Float32Array, Float32Array];
    for (let j = 0; j < 2; j++) {
      const column = Array.from({ length: rows }, (_, r) => values[2 * r + j] ?? NaN);
      const m = column.reduce((a, b) => a + b, 0) / rows;
      const v = column.reduce((a, b) => a + (b - m) ** 2, 0) / rows;
      expect(Math.abs((mean[j] ?? NaN) - m) / Math.abs(m)).toBeLessThan(1e-6);
      expect(Math.abs((variance[j] ?? NaN) - v) / v).toBeLessThan(1e-6);
    }
  });

  test('ResNetBatchNormRunningStats gives bit for bit the running-statistics update composed from tfjs ops on cpu (count 1 included)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 600 }),
        seedArb,
        fc.oneof(fc.constant(0.1), fc.double({ min: 0, max: 1, noNaN: true })),
        fc.oneof(fc.constantFrom(1, 2, 128 * 7 * 7), fc.integer({ min: 1, max: 1e6 })),
        (c, seed, momentum, count) => {
          const [rm, m] = [input([c], seed), input([c], seed + 1)];
          // Variances: positive.
          const [rv, v] = [input([c], seed + 2), input([c], seed + 3)].map((t) => ({ ...t, values: t.values.map(Math.abs) }));
          if (rv === undefined || v === undefined) throw new Error('unreachable');
          tf.setBackend('cpu');
          const expected = tf.tidy(() => {
            const unbiased = tf.mul(tensor(v), count > 1 ? count / (count - 1) : 1);
            return read([
              tf.add(tf.mul(tensor(rm), 1 - momentum), tf.mul(tensor(m), momentum)),
              tf.add(tf.mul(tensor(rv), 1 - momentum), tf.mul(unbiased, momentum)),
            ]);
          });
          tf.setBackend('onednn');
          const before = tf.memory().numTensors;
          const actual = tf.tidy(() =>
            read(
              tf
                .engine()
                .runKernel(
                  FUSED_KERNELS.batchNormRunningStats,
                  { runningMean: tensor(rm), runningVariance: tensor(rv), mean: tensor(m), variance: tensor(v) },
                  { momentum, count },
                ) as tf.Tensor[],
            ),
          );
          expect(tf.memory().numTensors).toBe(before);
          expect(actual).toEqual(expected);
        },
      ),
      { numRuns: 60 },
    );
    tf.setBackend('onednn');
    const [a, b] = [tf.zeros([3]), tf.zeros([4])];
    expect(() =>
      tf
        .engine()
        .runKernel(
          FUSED_KERNELS.batchNormRunningStats,
          { runningMean: a, runningVariance: a, mean: b, variance: a },
          { momentum: 0.1, count: 2 },
        ),
    ).toThrow('runningMean, runningVariance, mean and variance must have one size, got 3, 3, 4, 3');
    tf.dispose([a, b]);
  });

  test('ResNetSgdMomentum equals the update composed from tfjs ops, with and without Nesterov and weight decay', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 3000 }),
        seedArb,
        fc.record({
          lr: fc.double({ min: 0.001, max: 1, noNaN: true }),
          momentum: fc.double({ min: 0.1, max: 0.99, noNaN: true }),
          weightDecay: fc.constantFrom(0, 5e-4, 0.1),
          nesterov: fc.boolean(),
        }),
        (n, seed, h) => {
          const [p, g, v] = [input([n], seed), input([n], seed + 1), input([n], seed + 2)];
          tf.setBackend('cpu');
          const expected = tf.tidy(() => {
            const d = tf.add(tensor(g), tf.mul(tensor(p), h.weightDecay));
            const vel = tf.add(tf.mul(tensor(v), h.momentum), d);
            const step = h.nesterov ? tf.add(d, tf.mul(vel, h.momentum)) : vel;
            return read([tf.sub(tensor(p), tf.mul(step, h.lr)), vel]);
          });
          tf.setBackend('onednn');
          const actual = tf.tidy(() =>
            read(
              tf
                .engine()
                .runKernel(FUSED_KERNELS.sgdMomentum, { param: tensor(p), grad: tensor(g), velocity: tensor(v) }, h) as tf.Tensor[],
            ),
          );
          expectClose(actual, expected, 'sgd');
        },
      ),
      { numRuns: 60 },
    );
  });

  test('ResNetSgdMomentumMulti gives bit for bit what ResNetSgdMomentum gives tensor by tensor (sizes across chunk boundaries, per-tensor decay)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(fc.integer({ min: 1, max: 100 }), fc.integer({ min: 32760, max: 33000 })), { minLength: 1, maxLength: 4 }),
        seedArb,
        fc.record({
          lr: fc.double({ min: 0.001, max: 1, noNaN: true }),
          momentum: fc.double({ min: 0.1, max: 0.99, noNaN: true }),
          nesterov: fc.boolean(),
        }),
        (sizes, seed, h) => {
          tf.setBackend('onednn');
          const triples = sizes.map(
            (n, i) => [input([n], seed + 3 * i), input([n], seed + 3 * i + 1), input([n], seed + 3 * i + 2)] as const,
          );
          const weightDecays = sizes.map((_, i) => (i % 2 === 0 ? 5e-4 : 0));
          const each = tf.tidy(() =>
            triples.flatMap(([p, g, v], i) =>
              read(
                tf
                  .engine()
                  .runKernel(
                    FUSED_KERNELS.sgdMomentum,
                    { param: tensor(p), grad: tensor(g), velocity: tensor(v) },
                    { ...h, weightDecay: weightDecays[i] ?? 0 },
                  ) as tf.Tensor[],
              ),
            ),
          );
          const inputs = Object.fromEntries(
            triples.flatMap(([p, g, v], i) => [
              [`p${i}`, tensor(p)],
              [`g${i}`, tensor(g)],
              [`v${i}`, tensor(v)],
            ]),
          );
          const before = onednnStats().native[FUSED_KERNELS.sgdMomentumMulti] ?? 0;
          const all = tf.tidy(() =>
            read(tf.engine().runKernel(FUSED_KERNELS.sgdMomentumMulti, inputs, { ...h, weightDecays }) as tf.Tensor[]),
          );
          tf.dispose(Object.values(inputs));
          expect(onednnStats().native[FUSED_KERNELS.sgdMomentumMulti]).toBe(before + 1);
          expect(all).toEqual(each);
        },
      ),
      { numRuns: 8 },
    );
  });

  test('gradScale s: ResNetSgdMomentum and ResNetSgdMomentumMulti give bit for bit the float32 update on s·g; without it or at 1, the update on g as before', () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(fc.integer({ min: 1, max: 100 }), fc.integer({ min: 65530, max: 66000 })), { minLength: 1, maxLength: 3 }),
        seedArb,
        fc.record({
          lr: fc.double({ min: 0.001, max: 1, noNaN: true }),
          momentum: fc.double({ min: 0.1, max: 0.99, noNaN: true }),
          nesterov: fc.boolean(),
        }),
        fc.double({ min: 1e-3, max: 0.9, noNaN: true }),
        (sizes, seed, h, s) => {
          tf.setBackend('onednn');
          const before = tf.memory().numTensors;
          const triples = sizes.map(
            (n, i) => [0, 1, 2].map((k) => input([n], seed + 3 * i + k).values) as [Float32Array, Float32Array, Float32Array],
          );
          const weightDecays = sizes.map((_, i) => (i % 2 === 0 ? 5e-4 : 0));
          const scaled = (g: Float32Array) => Float32Array.from(g, (x) => Math.fround(Math.fround(s) * x));
          const calls = onednnStats().native;
          const one = (gradScale: number | undefined): Float32Array[] =>
            tf.tidy(() =>
              triples.flatMap(([p, g, v], i) =>
                read(
                  tf
                    .engine()
                    .runKernel(
                      FUSED_KERNELS.sgdMomentum,
                      { param: tf.tensor(p), grad: tf.tensor(g), velocity: tf.tensor(v) },
                      { ...h, weightDecay: weightDecays[i] ?? 0, ...(gradScale === undefined ? {} : { gradScale }) },
                    ) as tf.Tensor[],
                ),
              ),
            );
          const multi = (gradScale: number | undefined): Float32Array[] =>
            tf.tidy(() => {
              const inputs = Object.fromEntries(
                triples.flatMap(([p, g, v], i) => [
                  [`p${i}`, tf.tensor(p)],
                  [`g${i}`, tf.tensor(g)],
                  [`v${i}`, tf.tensor(v)],
                ]),
              );
              const attrs = { ...h, weightDecays, ...(gradScale === undefined ? {} : { gradScale }) };
              return read(tf.engine().runKernel(FUSED_KERNELS.sgdMomentumMulti, inputs, attrs) as tf.Tensor[]);
            });
          const reference = (scale: (g: Float32Array) => Float32Array) =>
            triples.flatMap(([p, g, v], i) => sgdFloat32(p, scale(g), v, { ...h, weightDecay: weightDecays[i] ?? 0 }));
          const [plain, clipped] = [reference((g) => g), reference(scaled)];
          const runs: [string, Float32Array[], Float32Array[]][] = [
            ['sgd, no gradScale', one(undefined), plain],
            ['sgd, gradScale 1', one(1), plain],
            ['sgd, gradScale s', one(s), clipped],
            ['multi, no gradScale', multi(undefined), plain],
            ['multi, gradScale 1', multi(1), plain],
            ['multi, gradScale s', multi(s), clipped],
          ];
          for (const [what, actual, expected] of runs) {
            const differing = actual.map((a, i) => bitDifferences(a, expected[i] ?? new Float32Array())).filter((d) => d.count > 0);
            expect({ what, differing }).toEqual({ what, differing: [] });
          }
          // All native (the JS versions round differently), and the scale mattered.
          const after = onednnStats().native;
          expect((after[FUSED_KERNELS.sgdMomentum] ?? 0) - (calls[FUSED_KERNELS.sgdMomentum] ?? 0)).toBe(3 * sizes.length);
          expect((after[FUSED_KERNELS.sgdMomentumMulti] ?? 0) - (calls[FUSED_KERNELS.sgdMomentumMulti] ?? 0)).toBe(3);
          expect(clipped.every((c, i) => bitDifferences(c, plain[i] ?? new Float32Array()).count > 0)).toBe(true);
          expect(tf.memory().numTensors).toBe(before);
        },
      ),
      { numRuns: 5 },
    );
  });

  test('ResNetSumSquares is Σx² over all inputs: within (n − 1)·2⁻⁵² of a float64 sum in order, the bits of its JS version, no tensor left', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(fc.integer({ min: 0, max: 100 }), fc.integer({ min: 32760, max: 33000 }), fc.integer({ min: 65530, max: 70000 })),
          {
            minLength: 1,
            maxLength: 4,
          },
        ),
        seedArb,
        fc.array(fc.constantFrom(1e-6, 1, 1e3), { minLength: 4, maxLength: 4 }),
        (sizes, seed, magnitudes) => {
          tf.setBackend('onednn');
          const before = tf.memory().numTensors;
          const arrays = sizes.map((n, i) => input([n], seed + i).values.map((x) => x * (magnitudes[i] ?? 1)));
          // Each square is exact in float64; recursive summation of n ≥ 0 terms in any order is
          // within (n − 1)·u·Σ of the exact sum (u = 2⁻⁵³), so two orders within 2(n − 1)·u·Σ.
          let reference = 0;
          for (const a of arrays) for (const x of a) reference += x * x;
          const n = sizes.reduce((a, b) => a + b, 0);
          const calls = onednnStats().native[FUSED_KERNELS.sumSquares] ?? 0;
          const sum = tf.tidy(() => {
            const inputs = Object.fromEntries(arrays.map((a, i) => [`x${i}`, tf.tensor(a)]));
            const words = tf.engine().runKernel(FUSED_KERNELS.sumSquares, inputs) as tf.Tensor;
            expect([words.dtype, words.shape]).toEqual(['int32', [2]]);
            return float64Of(words);
          });
          expect(onednnStats().native[FUSED_KERNELS.sumSquares]).toBe(calls + 1);
          expect({ n, withinBound: Math.abs(sum - reference) <= Math.max(n - 1, 0) * 2 ** -52 * reference }).toEqual({
            n,
            withinBound: true,
          });
          expect(Object.is(sum, sumSquaresJs(arrays))).toBe(true);
          expect(tf.memory().numTensors).toBe(before);
        },
      ),
      { numRuns: 12 },
    );
  });

  test('ResNetSumSquares runs its JS version for a non-float32 input, with the native bits (NaN and infinity through)', () => {
    tf.setBackend('onednn');
    const whole = Float32Array.from({ length: 40_000 }, (_, i) => (i % 201) - 100);
    const run = (dtype: 'float32' | 'int32', extra: readonly number[]) =>
      tf.tidy(() =>
        float64Of(
          tf.engine().runKernel(FUSED_KERNELS.sumSquares, {
            x0: tf.tensor(extra, [extra.length], 'float32'),
            x1: tf.tensor(whole, [whole.length], dtype),
          }) as tf.Tensor,
        ),
      );
    const before = onednnStats().fallback[FUSED_KERNELS.sumSquares]?.['inputs are not float32'] ?? 0;
    expect([run('float32', [0.5, -3]), run('int32', [0.5, -3])]).toEqual([
      sumSquaresJs([Float32Array.of(0.5, -3), whole]),
      sumSquaresJs([Float32Array.of(0.5, -3), whole]),
    ]);
    expect(onednnStats().fallback[FUSED_KERNELS.sumSquares]?.['inputs are not float32']).toBe(before + 1);
    expect([run('float32', [1, NaN]), run('float32', [1, -Infinity]), run('int32', [NaN])]).toEqual([NaN, Infinity, NaN]);
  });

  test('ResNetAddRelu is relu(a + b) and ResNetReluGrad is dy where y > 0, else 0 (as tfjs ops on cpu; NaN through the forward pass)', () => {
    fc.assert(
      fc.property(fc.oneof(fc.integer({ min: 1, max: 100 }), fc.integer({ min: 65536, max: 66000 })), seedArb, (n, seed) => {
        const [a, b, dy] = [input([n], seed), input([n], seed + 1), input([n], seed + 2)];
        a.values[0] = NaN;
        tf.setBackend('cpu');
        const expected = tf.tidy(() => {
          const [as, bs, d] = [tensor(a), tensor(b), tensor(dy)];
          const y = tf.relu(tf.add(as, bs));
          // tfjs's own ReLU gradient: dy · step(x), with x = a + b.
          return read([y, tf.mul(d, tf.step(tf.add(as, bs)))]);
        });
        tf.setBackend('onednn');
        const actual = tf.tidy(() => {
          const y = tf.engine().runKernel(FUSED_KERNELS.addRelu, { a: tensor(a), b: tensor(b) }) as tf.Tensor;
          return read([y, tf.engine().runKernel(FUSED_KERNELS.reluGrad, { dy: tensor(dy), y }) as tf.Tensor]);
        });
        expect(Number.isNaN(actual[0]?.[0])).toBe(true);
        // The gradient at a NaN input is 0 here and NaN in tfjs (NaN · step); compare the rest.
        const rest = (xs: Float32Array[]) => xs.map((x) => Array.from(x.subarray(1), (v) => v + 0)); // + 0: −0 equals 0
        expect(rest(actual)).toEqual(rest(expected));
      }),
      { numRuns: 6 },
    );
  });

  test('every one of the six kernels but ResNetSumSquares (below) falls back to its JS version for a non-float32 input, with the native results (SGD with gradScale 0.3)', () => {
    tf.setBackend('onednn');
    const f = (values: readonly number[], shape: number[] = [values.length]) => tf.tensor(values, shape, 'float32');
    // One input per kernel holds whole numbers, given once as float32 (native) and once as int32 (the JS version).
    const whole = (values: readonly number[], dtype: 'float32' | 'int32') => tf.tensor(values, [values.length], dtype);
    const [x, dy] = [input([4, 3], 11), input([4, 3], 12)];
    const sgdAttrs = { lr: 0.1, momentum: 0.9, weightDecay: 5e-4, nesterov: true, gradScale: 0.3 };
    const cases: readonly [string, (dtype: 'float32' | 'int32') => tf.NamedTensorMap, Record<string, unknown>][] = [
      [FUSED_KERNELS.batchNormTrain, (d) => ({ x: tensor(x), scale: f([0.5, 1, 2]), offset: whole([0, 1, -2], d) }), { epsilon: EPSILON }],
      [
        FUSED_KERNELS.batchNormGrad,
        (d) => ({ dy: tensor(dy), x: tensor(x), scale: whole([1, 2, -1], d), mean: f([0.1, -0.2, 0.3]), variance: f([1, 0.5, 2]) }),
        { epsilon: EPSILON },
      ],
      [
        FUSED_KERNELS.sgdMomentum,
        (d) => ({ param: f([0.5, -1, 2, 0.25]), grad: f([0.1, 0.2, -0.3, 0.4]), velocity: whole([1, 0, -1, 2], d) }),
        sgdAttrs,
      ],
      [
        FUSED_KERNELS.sgdMomentumMulti,
        (d) => ({
          p0: f([0.5, -1]),
          g0: f([0.1, 0.2]),
          v0: whole([1, -1], d),
          p1: f([2, 3, 4]),
          g1: f([-0.5, 0, 0.5]),
          v1: f([0, 0.1, 0.2]),
        }),
        { lr: 0.1, momentum: 0.9, nesterov: false, weightDecays: [5e-4, 0], gradScale: 0.3 },
      ],
      [FUSED_KERNELS.reluGrad, (d) => ({ dy: f([0.5, -1, 2, 3]), y: whole([0, 1, 0, 2], d) }), {}],
      [FUSED_KERNELS.addRelu, (d) => ({ a: f([0.5, -1, 2, -3]), b: whole([1, 0, -3, 2], d) }), {}],
    ];
    for (const [kernel, inputs, attrs] of cases) {
      const run = (d: 'float32' | 'int32') =>
        tf.tidy(() => {
          const out = tf.engine().runKernel(kernel, inputs(d), attrs as tf.NamedAttrMap);
          return read(Array.isArray(out) ? out : [out as tf.Tensor]);
        });
      const before = onednnStats();
      const native = run('float32');
      const middle = onednnStats();
      const js = run('int32');
      const after = onednnStats();
      expect({
        kernel,
        native: (middle.native[kernel] ?? 0) - (before.native[kernel] ?? 0),
        js: (after.fallback[kernel]?.['inputs are not float32'] ?? 0) - (middle.fallback[kernel]?.['inputs are not float32'] ?? 0),
      }).toEqual({ kernel, native: 1, js: 1 });
      expectClose(js, native, `${kernel} JS version`);
    }
  });

  test('non-float32 inputs run the JS version of each kernel, with the same results', () => {
    tf.setBackend('onednn');
    const [x, scale, offset] = [input([4, 3], 1), input([3], 2), input([3], 3)];
    const native = tf.tidy(() =>
      read(
        tf
          .engine()
          .runKernel(
            FUSED_KERNELS.batchNormTrain,
            { x: tensor(x), scale: tensor(scale), offset: tensor(offset) },
            { epsilon: EPSILON },
          ) as tf.Tensor[],
      ),
    );
    const before = onednnStats().fallback[FUSED_KERNELS.batchNormTrain]?.['inputs are not float32'] ?? 0;
    // An int32 offset of zeros: the native kernel refuses it, the JS version converts.
    const js = tf.tidy(() =>
      read(
        tf
          .engine()
          .runKernel(
            FUSED_KERNELS.batchNormTrain,
            { x: tensor(x), scale: tensor(scale), offset: tf.zeros([3], 'int32') },
            { epsilon: EPSILON },
          ) as tf.Tensor[],
      ),
    );
    expect(onednnStats().fallback[FUSED_KERNELS.batchNormTrain]?.['inputs are not float32']).toBe(before + 1);
    const shifted = native[0]?.map((v, i) => v - (offset.values[i % 3] ?? 0)) ?? new Float32Array();
    expectClose(
      [js[0] ?? new Float32Array(), js[1] ?? new Float32Array(), js[2] ?? new Float32Array()],
      [shifted, native[1] ?? new Float32Array(), native[2] ?? new Float32Array()],
      'fallback',
    );
  });
});
