// BatchMatMul and _FusedMatMul on the oneDNN matmul primitive; transposes are strides.
import {
  BatchMatMul,
  broadcast_util,
  _FusedMatMul,
  type BatchMatMulAttrs,
  type KernelConfig,
  type TensorInfo,
  type _FusedMatMulAttrs,
} from '@tensorflow/tfjs-core';
import { codeOf, type OnednnAddon } from './_addon.ts';
import { channelBias } from './_conv.ts';
import { floats, outputFloats, native, onednnKernel, sizeOf, type Args, type Outcome } from './_kernel.ts';

interface Plan {
  readonly params: Int32Array;
  readonly outShape: number[];
}

/**
 * Batched matmul geometry as the addon wants it (BA BB M K N TA TB ACT), or a reason.
 * Batch dimensions must be equal, or one side must have a single batch (it broadcasts).
 */
export function matmulPlan(
  a: readonly number[],
  b: readonly number[],
  transposeA: boolean,
  transposeB: boolean,
  activation: number,
): Plan | string {
  const ra = a.length,
    rb = b.length;
  if (ra < 2 || rb < 2) return 'rank below 2';
  const [a0, a1] = [a[ra - 2] ?? 0, a[ra - 1] ?? 0];
  const [b0, b1] = [b[rb - 2] ?? 0, b[rb - 1] ?? 0];
  const [m, k] = transposeA ? [a1, a0] : [a0, a1];
  const [kb, n] = transposeB ? [b1, b0] : [b0, b1];
  if (k !== kb) return 'inner dimensions differ';
  if (m === 0 || k === 0 || n === 0) return 'empty matrix';
  const outerA = a.slice(0, -2),
    outerB = b.slice(0, -2);
  let outer: number[];
  try {
    outer = broadcast_util.assertAndGetBroadcastShape([...outerA], [...outerB]);
  } catch {
    return 'batch dimensions do not broadcast';
  }
  const batchA = sizeOf(outerA),
    batchB = sizeOf(outerB),
    batch = sizeOf(outer);
  if (!(batch === Math.max(batchA, batchB) && (batchA === batchB || batchA === 1 || batchB === 1))) return 'batch broadcast on both sides';
  if (batch === 0) return 'empty batch';
  return { params: Int32Array.of(batchA, batchB, m, k, n, transposeA ? 1 : 0, transposeB ? 1 : 0, activation), outShape: [...outer, m, n] };
}

function matmul(addon: OnednnAddon, args: Args, fused: boolean): Outcome {
  const { a, b, bias } = args.inputs;
  const attrs = args.attrs as unknown as _FusedMatMulAttrs | BatchMatMulAttrs;
  const activationName = fused && 'activation' in attrs ? attrs.activation : 'linear';
  const activation = codeOf(addon.ops.activation, activationName);
  if (activation === undefined) return `activation "${activationName}"`;
  const alpha = 'leakyreluAlpha' in attrs ? attrs.leakyreluAlpha : undefined;
  if (activationName === 'leakyrelu' && typeof alpha !== 'number') return 'leakyrelu without alpha';
  const av = floats(args.backend, a),
    bv = floats(args.backend, b);
  if (a === undefined || b === undefined || av === undefined || bv === undefined) return 'inputs are not float32';
  const plan = matmulPlan(a.shape, b.shape, attrs.transposeA, attrs.transposeB, activation);
  if (typeof plan === 'string') return plan;
  const n = plan.outShape[plan.outShape.length - 1] ?? 0;
  const biasValues = fused ? channelBias(args, bias as TensorInfo | undefined, n) : undefined;
  if (typeof biasValues === 'string') return biasValues;
  const out = outputFloats(args.backend, sizeOf(plan.outShape));
  const error = native(() => addon.matmul(av, bv, biasValues ?? null, out, plan.params, alpha ?? 0));
  return error ?? args.backend.makeTensorInfo(plan.outShape, 'float32', out);
}

/** BatchMatMul and _FusedMatMul for the onednn backend. */
export function matmulKernels(addon: OnednnAddon): KernelConfig[] {
  return [onednnKernel(BatchMatMul, (args) => matmul(addon, args, false)), onednnKernel(_FusedMatMul, (args) => matmul(addon, args, true))];
}
