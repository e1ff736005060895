// Test helpers: gate suites on the addon, build seeded data, and run one kernel on both
// `cpu` and `onednn` so each test compares the two.
import * as tf from '@tensorflow/tfjs-core';
import fc from 'fast-check';
import { configureOnednn, onednnStats } from './diagnostics.ts';
import { registerOnednn } from './register.ts';

/** Registration result shared by every suite of this lib. */
export const status = registerOnednn();
// Small generated tensors must still exercise the native elementwise paths.
configureOnednn({ minElementwiseSize: 0 });

/**
 * `describe` when the addon loads. Otherwise the suite is skipped with a printed notice,
 * except under CI=true, where a failing test says why (CI installs libdnnl-dev).
 */
export function describeOnednn(name: string, body: () => void): void {
  if (status.ok) {
    describe(name, body);
  } else if (process.env['CI'] === 'true') {
    describe(name, () => {
      test('the onednn addon is built (required when CI=true)', () => {
        throw new Error(status.reason);
      });
    });
  } else {
    console.warn(`[onednn] SKIPPED "${name}": ${status.reason}`);
    describe.skip(name, body);
  }
}

/** Deterministic uniform values in [-1, 1) (mulberry32), so a fast-check seed replays data too. */
export function randomValues(size: number, seed: number): Float32Array {
  let s = seed >>> 0;
  const out = new Float32Array(size);
  for (let i = 0; i < size; i++) {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = (((t ^ (t >>> 14)) >>> 0) / 4294967296) * 2 - 1;
  }
  return out;
}

/** A seed for `randomValues`. */
export const seedArb = fc.integer({ min: 0, max: 0x7fffffff });

/** max|a - b| / max(1, max|b|): absolute error for small values, relative for large ones; Infinity if only one side is NaN or infinite. */
export function relativeError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Infinity;
  let diff = 0,
    scale = 1;
  for (let i = 0; i < a.length; i++) {
    const x = a[i] ?? NaN,
      y = b[i] ?? NaN;
    if (Object.is(x, y) || x === y) continue; // equal infinities, NaN for NaN (tfjs emits both for empty windows)
    diff = Math.max(diff, Number.isNaN(x - y) ? Infinity : Math.abs(x - y));
    if (Number.isFinite(y)) scale = Math.max(scale, Math.abs(y));
  }
  return diff / scale;
}

/** A tensor given by shape and data, created anew on each backend. */
export interface Input {
  readonly shape: number[];
  readonly values: Float32Array;
}

/** `shape` filled by `randomValues`. */
export function input(shape: number[], seed: number): Input {
  return {
    shape,
    values: randomValues(
      shape.reduce((a, b) => a * b, 1),
      seed,
    ),
  };
}

/** Result of one kernel on one backend. */
export interface Output {
  readonly shape: number[];
  readonly values: Float32Array;
}

function nativeCount(kernelName: string): number {
  return onednnStats().native[kernelName] ?? 0;
}

/** Runs `kernelName` on `backend` via the engine (exact attrs, no op-level checks). */
export function runKernel(backend: string, kernelName: string, inputs: Readonly<Record<string, Input>>, attrs: object): Output {
  tf.setBackend(backend);
  return tf.tidy(() => {
    const tensors = Object.fromEntries(Object.entries(inputs).map(([name, t]) => [name, tf.tensor(t.values, t.shape, 'float32')]));
    const out = tf.engine().runKernel(kernelName, tensors, attrs as tf.NamedAttrMap) as tf.Tensor;
    return { shape: out.shape, values: out.dataSync() as Float32Array };
  });
}

/**
 * Runs a kernel on `cpu` and on `onednn`; expects equal shapes, relative error ≤ 1e-4,
 * and (unless `requireNative` is false) that onednn really ran natively, not a fallback.
 * `expected` replaces the cpu kernel's output with one computed otherwise (where the cpu kernel is too slow).
 */
export function expectKernelsAgree(
  kernelName: string,
  inputs: Readonly<Record<string, Input>>,
  attrs: object,
  options: { requireNative?: boolean; tolerance?: number; expected?: Output } = {},
): void {
  const expected = options.expected ?? runKernel('cpu', kernelName, inputs, attrs);
  const before = nativeCount(kernelName);
  const actual = runKernel('onednn', kernelName, inputs, attrs);
  if (options.requireNative ?? true) {
    const fallbacks = onednnStats().fallback[kernelName] ?? {};
    expect({ kernelName, native: nativeCount(kernelName) - before, fallbacks }).toEqual({ kernelName, native: 1, fallbacks });
  }
  expect(actual.shape).toEqual(expected.shape);
  const error = relativeError(actual.values, expected.values);
  const tolerance = options.tolerance ?? 1e-4;
  if (!(error <= tolerance))
    throw new Error(
      `${kernelName}: relative error ${error} > ${tolerance} for attrs ${JSON.stringify(attrs)}, shapes ${JSON.stringify(Object.values(inputs).map((t) => t.shape))}`,
    );
}

/**
 * tfjs-core sizes numeric pads with the filter height and stride height on both axes
 * (conv_util's computeOutputShape2D), so a non-square window or stride with a numeric pad
 * can get a width no padding reproduces; onednn then defers to the cpu kernel.
 */
export function numericPadQuirk(c: ConvCase): boolean {
  return typeof c.pad === 'number' && ((c.kh - 1) * c.dilations[0] !== (c.kw - 1) * c.dilations[1] || c.strides[0] !== c.strides[1]);
}

/** tfjs padding forms: 'same', 'valid', a number, or explicit NHWC pairs. */
export type Pad = 'same' | 'valid' | number | [[number, number], [number, number], [number, number], [number, number]];
/** tfjs rounding modes for numeric and explicit pads. */
export type Rounding = 'floor' | 'round' | 'ceil';

/** A valid 2-D convolution (or pooling window) over an NHWC input. */
export interface ConvCase {
  readonly batch: number;
  readonly inH: number;
  readonly inW: number;
  readonly inC: number;
  readonly outC: number;
  readonly kh: number;
  readonly kw: number;
  readonly strides: [number, number];
  readonly dilations: [number, number];
  readonly pad: Pad;
  readonly dimRoundingMode?: Rounding;
}

function padSum(pad: Pad, axis: 1 | 2): number {
  if (typeof pad === 'number') return 2 * pad;
  if (Array.isArray(pad)) return pad[axis][0] + pad[axis][1];
  return 0;
}

// Smallest input that leaves at least one window: any size for 'same', else kernel minus
// padding (for numeric pads tfjs sizes both axes with the filter height; see numericPadQuirk).
function minInput(pad: Pad, axis: 1 | 2, kernels: [number, number]): number {
  const kernel = typeof pad === 'number' ? Math.max(...kernels) : (kernels[axis - 1] ?? 1);
  return pad === 'same' ? 1 : Math.max(1, kernel - padSum(pad, axis));
}

function padArb(maxPad: (axis: 1 | 2) => number): fc.Arbitrary<Pad> {
  const side = (axis: 1 | 2): fc.Arbitrary<number> => fc.integer({ min: 0, max: maxPad(axis) });
  return fc.oneof(
    fc.constant<Pad>('same'),
    fc.constant<Pad>('valid'),
    fc.integer({ min: 0, max: Math.min(maxPad(1), maxPad(2)) }),
    fc.tuple(side(1), side(1), side(2), side(2)).map(([t, b, l, r]): Pad => [
      [0, 0],
      [t, b],
      [l, r],
      [0, 0],
    ]),
  );
}

/**
 * Convolutions tfjs accepts: strides or dilations (not both, as tfjs requires) up to 3,
 * kernels up to 4, pads up to 2, rounding only with numeric or explicit pads, and inputs
 * built large enough for at least one output.
 */
export function convCaseArb(options: { dilations: boolean }): fc.Arbitrary<ConvCase> {
  const steps = fc.tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 }));
  const stepping = options.dilations
    ? fc.oneof(
        steps.map((s) => ({ strides: s, dilations: [1, 1] as [number, number] })),
        steps.map((d) => ({ strides: [1, 1] as [number, number], dilations: d })),
      )
    : steps.map((s) => ({ strides: s, dilations: [1, 1] as [number, number] }));
  return fc
    .record({
      batch: fc.integer({ min: 1, max: 3 }),
      // Up to 12 channels: below, at and past oneDNN's 8-wide AVX2 blocks.
      inC: fc.integer({ min: 1, max: 12 }),
      outC: fc.integer({ min: 1, max: 12 }),
      kh: fc.integer({ min: 1, max: 4 }),
      kw: fc.integer({ min: 1, max: 4 }),
      stepping,
      pad: padArb(() => 2),
      rounding: fc.constantFrom<Rounding | undefined>(undefined, 'floor', 'round', 'ceil'),
      extraH: fc.integer({ min: 0, max: 8 }),
      extraW: fc.integer({ min: 0, max: 8 }),
    })
    .map(({ batch, inC, outC, kh, kw, stepping: { strides, dilations }, pad, rounding, extraH, extraW }) => ({
      batch,
      inC,
      outC,
      kh,
      kw,
      strides,
      dilations,
      pad,
      inH: minInput(pad, 1, [(kh - 1) * dilations[0] + 1, (kw - 1) * dilations[1] + 1]) + extraH,
      inW: minInput(pad, 2, [(kh - 1) * dilations[0] + 1, (kw - 1) * dilations[1] + 1]) + extraW,
      ...(rounding !== undefined && typeof pad !== 'string' ? { dimRoundingMode: rounding } : {}),
    }));
}

/**
 * Pooling windows tfjs accepts, with every pad below the window so no window is all padding;
 * with 'round'/'ceil' the stride stays within kernel − trailing pad for the same reason.
 */
export const poolCaseArb: fc.Arbitrary<ConvCase> = fc
  .record({ kh: fc.integer({ min: 1, max: 4 }), kw: fc.integer({ min: 1, max: 4 }) })
  .chain(({ kh, kw }) =>
    fc.record({
      batch: fc.integer({ min: 1, max: 3 }),
      inC: fc.integer({ min: 1, max: 12 }),
      kh: fc.constant(kh),
      kw: fc.constant(kw),
      strides: fc.tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 })),
      pad: padArb((axis) => (axis === 1 ? kh : kw) - 1),
      rounding: fc.constantFrom<Rounding | undefined>(undefined, 'floor', 'round', 'ceil'),
      extraH: fc.integer({ min: 0, max: 8 }),
      extraW: fc.integer({ min: 0, max: 8 }),
    }),
  )
  .map(({ batch, inC, kh, kw, strides, pad, rounding, extraH, extraW }) => {
    const rounded = rounding !== undefined && typeof pad !== 'string';
    // The last rounded-up window starts before the input ends when stride ≤ kernel − trailing pad.
    const maxStart = (axis: 1 | 2): number =>
      (axis === 1 ? kh : kw) - (Array.isArray(pad) ? pad[axis][1] : typeof pad === 'number' ? pad : 0);
    return {
      batch,
      inC,
      outC: inC,
      kh,
      kw,
      pad,
      dilations: [1, 1] as [number, number],
      strides: rounded ? ([Math.min(strides[0], maxStart(1)), Math.min(strides[1], maxStart(2))] as [number, number]) : strides,
      inH: minInput(pad, 1, [kh, kw]) + extraH,
      inW: minInput(pad, 2, [kh, kw]) + extraW,
      ...(rounded ? { dimRoundingMode: rounding } : {}),
    };
  });

/**
 * Channel counts up to 64, with 16, 32, 48 and 64 drawn as often as all others together: at
 * 16 channels and more oneDNN switches to its blocked layouts (nChw16c activations, 16x16
 * filter blocks, native/conv.cc's AutoLayout), whose block and tail indexing the ≤ 12-channel
 * arbitraries above never reach.
 */
export const wideChannelsArb: fc.Arbitrary<number> = fc.oneof(fc.constantFrom(16, 32, 48, 64), fc.integer({ min: 1, max: 64 }));

/**
 * Convolutions at ResNet widths: batch 1–2, maps of 3–8 pixels (the 7x7 stem's 7–12),
 * 1x1, 3x3 and 7x7 kernels, strides 1 and 2, 'same', 'valid', numeric or explicit pads.
 * Kernels and strides are square, so numeric pads avoid tfjs's sizing quirk (numericPadQuirk).
 */
export const wideConvCaseArb: fc.Arbitrary<ConvCase> = fc
  .oneof({ arbitrary: fc.constant(3), weight: 3 }, { arbitrary: fc.constant(1), weight: 2 }, { arbitrary: fc.constant(7), weight: 1 })
  .chain((k) =>
    fc.record({
      batch: fc.integer({ min: 1, max: 2 }),
      // The stem reads 1 (Fashion-MNIST) or 3 (ImageNet) channels into a wide output.
      inC: k === 7 ? fc.constantFrom(1, 3) : wideChannelsArb,
      outC: wideChannelsArb,
      k: fc.constant(k),
      stride: fc.constantFrom(1, 2),
      pad: padArb(() => k >> 1),
      // The stem's maps are at least its window (28 or 224 px in ResNets): smaller ones are not the stem.
      inH: fc.integer({ min: k === 7 ? 7 : 3, max: k === 7 ? 12 : 8 }),
      inW: fc.integer({ min: k === 7 ? 7 : 3, max: k === 7 ? 12 : 8 }),
    }),
  )
  .map(({ batch, inC, outC, k, stride, pad, inH, inW }) => ({
    batch,
    inC,
    outC,
    kh: k,
    kw: k,
    strides: [stride, stride] as [number, number],
    dilations: [1, 1] as [number, number],
    pad,
    inH: Math.max(inH, minInput(pad, 1, [k, k])),
    inW: Math.max(inW, minInput(pad, 2, [k, k])),
  }));

/** Pooling at ResNet widths: windows of 1–3 (the stem's 3x3/2 among them), strides 1–2, maps of 3–8 pixels, pads below the window. */
export const widePoolCaseArb: fc.Arbitrary<ConvCase> = fc
  .record({ kh: fc.integer({ min: 1, max: 3 }), kw: fc.integer({ min: 1, max: 3 }) })
  .chain(({ kh, kw }) =>
    fc.record({
      batch: fc.integer({ min: 1, max: 2 }),
      inC: wideChannelsArb,
      kh: fc.constant(kh),
      kw: fc.constant(kw),
      strides: fc.tuple(fc.integer({ min: 1, max: 2 }), fc.integer({ min: 1, max: 2 })),
      pad: padArb((axis) => (axis === 1 ? kh : kw) - 1),
      inH: fc.integer({ min: 3, max: 8 }),
      inW: fc.integer({ min: 3, max: 8 }),
    }),
  )
  .map((c) => ({ ...c, outC: c.inC, dilations: [1, 1] as [number, number] }));
