// Broadcasting binary ops (Add, Sub, Multiply, RealDiv, Maximum, Minimum), reductions
// (Sum, Mean, Max, Min), Tile, Relu, Step, Square and FusedBatchNorm, natively: tfjs-backend-cpu runs these in single-threaded
// JS, and its broadcasting path (used by batch-norm gradients) computes an index per element.
import {
  Add,
  backend_util,
  FusedBatchNorm,
  Max,
  Maximum,
  Mean,
  Min,
  Minimum,
  Multiply,
  RealDiv,
  Relu,
  Square,
  Step,
  Sub,
  Sum,
  Tile,
  util,
  type FusedBatchNormAttrs,
  type KernelConfig,
  type StepAttrs,
  type TileAttrs,
} from '@tensorflow/tfjs-core';
import type { OnednnAddon } from './_addon.ts';
import { floats, outputFloats, native, onednnKernel, settings, sizeOf, type Args, type Outcome } from './_kernel.ts';

const MAX_RANK = 8;

function leftPad(shape: readonly number[], rank: number): number[] {
  return [...Array<number>(rank - shape.length).fill(1), ...shape];
}

/**
 * Operands for oneDNN's binary primitive, whose first operand must already have the output
 * shape (only the second broadcasts): swaps commutative operands when needed, else a reason.
 *
 * @example binaryPlan([4, 1], [1, 3], true) // 'both operands broadcast'
 */
export function binaryPlan(
  a: readonly number[],
  b: readonly number[],
  commutative: boolean,
): { swap: boolean; outShape: number[]; shapes: Int32Array } | string {
  let outShape: number[];
  try {
    outShape = backend_util.assertAndGetBroadcastShape([...a], [...b]);
  } catch {
    return 'shapes do not broadcast';
  }
  if (sizeOf(outShape) === 0) return 'empty tensor';
  const rank = Math.max(1, outShape.length);
  if (rank > MAX_RANK) return `rank ${rank} above ${MAX_RANK}`;
  const out = leftPad(outShape, rank),
    pa = leftPad(a, rank),
    pb = leftPad(b, rank);
  const swap = pa.join() !== out.join();
  if (swap && (!commutative || pb.join() !== out.join())) return commutative ? 'both operands broadcast' : 'first operand broadcasts';
  return { swap, outShape, shapes: Int32Array.of(rank, ...out, ...(swap ? pa : pb)) };
}

function binary(addon: OnednnAddon, args: Args, algorithm: number, commutative: boolean): Outcome {
  const { a, b } = args.inputs;
  const av = floats(args.backend, a),
    bv = floats(args.backend, b);
  if (a === undefined || b === undefined || av === undefined || bv === undefined) return 'inputs are not float32';
  const plan = binaryPlan(a.shape, b.shape, commutative);
  if (typeof plan === 'string') return plan;
  if (sizeOf(plan.outShape) < settings.minElementwiseSize) return 'small tensor';
  const out = outputFloats(args.backend, sizeOf(plan.outShape));
  const [first, second] = plan.swap ? [bv, av] : [av, bv];
  const error = native(() => addon.binary(algorithm, first, second, out, plan.shapes));
  return error ?? args.backend.makeTensorInfo(plan.outShape, 'float32', out);
}

/**
 * Shapes for oneDNN's reduction (input dims, then the same dims with reduced axes set to 1)
 * and tfjs's output shape, or a reason (empty, rank too high). Reducing only axes of size 1
 * (a global average pool over a 1×1 map) is a plan too: the addon copies x.
 *
 * @example reducePlan([2, 3, 4], [0, 2], false) // { outShape: [3], shapes: Int32Array [3, 2, 3, 4, 1, 3, 1] }
 */
export function reducePlan(
  shape: readonly number[],
  axis: number | number[] | null,
  keepDims: boolean,
): { outShape: number[]; shapes: Int32Array } | string {
  if (shape.length === 0) return 'scalar input';
  if (shape.length > MAX_RANK) return `rank ${shape.length} above ${MAX_RANK}`;
  if (sizeOf(shape) === 0) return 'empty tensor';
  const axes = util.parseAxisParam(axis ?? shape.map((_, i) => i), [...shape]); // null: every axis (tf.sum(x))
  const kept = shape.map((d, i) => (axes.includes(i) ? 1 : d));
  const outShape = keepDims ? kept : shape.filter((_, i) => !axes.includes(i));
  return { outShape, shapes: Int32Array.of(shape.length, ...shape, ...kept) };
}

function reduce(addon: OnednnAddon, args: Args, algorithm: number): Outcome {
  const { x } = args.inputs;
  const xv = floats(args.backend, x);
  if (x === undefined || xv === undefined) return 'input is not float32';
  const attrs = args.attrs as { axis?: number | number[]; reductionIndices?: number | number[]; keepDims?: boolean };
  const plan = reducePlan(x.shape, attrs.axis ?? attrs.reductionIndices ?? null, attrs.keepDims ?? false);
  if (typeof plan === 'string') return plan;
  if (sizeOf(x.shape) < settings.minElementwiseSize) return 'small tensor';
  const out = outputFloats(args.backend, sizeOf(plan.outShape));
  const error = native(() => addon.reduce(algorithm, xv, out, plan.shapes));
  return error ?? args.backend.makeTensorInfo(plan.outShape, 'float32', out);
}

function tile(addon: OnednnAddon, args: Args): Outcome {
  const { x } = args.inputs;
  const xv = floats(args.backend, x);
  const { reps } = args.attrs as unknown as TileAttrs;
  if (x === undefined || xv === undefined) return 'input is not float32';
  if (x.shape.length === 0 || x.shape.length > MAX_RANK || reps.length !== x.shape.length) return 'rank';
  const outShape = x.shape.map((d, i) => d * (reps[i] ?? 1));
  if (sizeOf(outShape) === 0) return 'empty tensor';
  if (sizeOf(outShape) < settings.minElementwiseSize) return 'small tensor';
  const out = outputFloats(args.backend, sizeOf(outShape));
  const error = native(() => addon.tile(xv, out, Int32Array.of(x.shape.length, ...x.shape, ...reps)));
  return error ?? args.backend.makeTensorInfo(outShape, 'float32', out);
}

function unary(addon: OnednnAddon, args: Args, op: number): Outcome {
  const { x } = args.inputs;
  const xv = floats(args.backend, x);
  if (x === undefined || xv === undefined) return 'input is not float32';
  if (xv.length < Math.max(1, settings.minElementwiseSize)) return 'small tensor';
  const alpha = op === addon.ops.unary.step ? (args.attrs as unknown as StepAttrs).alpha : 0;
  const out = outputFloats(args.backend, xv.length);
  const error = native(() => addon.unary(op, xv, out, alpha));
  return error ?? args.backend.makeTensorInfo(x.shape, 'float32', out);
}

function batchNorm(addon: OnednnAddon, args: Args): Outcome {
  const { x, mean, variance, offset, scale } = args.inputs;
  const [xv, mv, vv] = [floats(args.backend, x), floats(args.backend, mean), floats(args.backend, variance)];
  const ov = floats(args.backend, offset),
    sv = floats(args.backend, scale);
  if (x === undefined || xv === undefined || mv === undefined || vv === undefined) return 'inputs are not float32';
  if ((offset !== undefined && ov === undefined) || (scale !== undefined && sv === undefined)) return 'inputs are not float32';
  if ([mv, vv, ov, sv].some((p) => p !== undefined && p.length === 0)) return 'empty parameter';
  if (xv.length < Math.max(1, settings.minElementwiseSize)) return 'small tensor';
  const epsilon = (args.attrs as unknown as FusedBatchNormAttrs).varianceEpsilon ?? 0.001;
  const out = outputFloats(args.backend, xv.length);
  const error = native(() => addon.batchNorm(xv, mv, vv, ov ?? null, sv ?? null, out, epsilon));
  return error ?? args.backend.makeTensorInfo(x.shape, 'float32', out);
}

/** Binary, reduction, Tile, unary and batch-norm kernels for the onednn backend (float32; other dtypes use cpu). */
export function elementwiseKernels(addon: OnednnAddon): KernelConfig[] {
  const { binary: b, reduce: r, unary: u } = addon.ops;
  const binaries: [string, number, boolean][] = [
    [Add, b.add, true],
    [Sub, b.sub, false],
    [Multiply, b.mul, true],
    [RealDiv, b.div, false],
    [Maximum, b.max, true],
    [Minimum, b.min, true],
  ];
  const reductions: [string, number][] = [
    [Sum, r.sum],
    [Mean, r.mean],
    [Max, r.max],
    [Min, r.min],
  ];
  return [
    ...binaries.map(([name, algorithm, commutative]) => onednnKernel(name, (args) => binary(addon, args, algorithm, commutative))),
    ...reductions.map(([name, algorithm]) => onednnKernel(name, (args) => reduce(addon, args, algorithm))),
    onednnKernel(Tile, (args) => tile(addon, args)),
    onednnKernel(Relu, (args) => unary(addon, args, u.relu)),
    onednnKernel(Step, (args) => unary(addon, args, u.step)),
    onednnKernel(Square, (args) => unary(addon, args, u.square)),
    onednnKernel(FusedBatchNorm, (args) => batchNorm(addon, args)),
  ];
}
