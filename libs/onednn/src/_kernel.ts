// Wraps a oneDNN kernel so that anything it cannot do runs tfjs-backend-cpu's kernel
// instead, and counts both, so tests can prove the native path really ran.
import {
  getKernel,
  type KernelConfig,
  type KernelFunc,
  type NamedAttrMap,
  type NamedTensorInfoMap,
  type TensorInfo,
} from '@tensorflow/tfjs-core';
import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import { PooledCpuBackend } from './_buffers.ts';

/** The backend name under which the kernels are registered. */
export const BACKEND = 'onednn';

/** What a oneDNN kernel receives: the tfjs-backend-cpu instance that owns the tensors. */
export interface Args {
  readonly inputs: NamedTensorInfoMap;
  readonly backend: MathBackendCPU;
  readonly attrs: NamedAttrMap;
}

/** A kernel returns its output(s), or a reason why tfjs-backend-cpu (or the fallback) must do it. */
export type Outcome = TensorInfo | TensorInfo[] | string;

/**
 * Elementwise kernels below this many output elements stay on tfjs-backend-cpu: a native
 * call costs microseconds, plus an OpenMP hand-off that a busy machine can stretch to ms.
 */
export const settings: { minElementwiseSize: number; precision: 'fp32' | 'bf16' | 'bf16-everywhere' } = {
  minElementwiseSize: 16384,
  precision: 'fp32',
};

const nativeCalls = new Map<string, number>();
const fallbacks = new Map<string, Map<string, number>>();
const warned = new Set<string>();

/** Counts per kernel: native calls, and fallbacks to the cpu kernel by reason. */
export function stats(): { native: Record<string, number>; fallback: Record<string, Record<string, number>> } {
  return {
    native: Object.fromEntries(nativeCalls),
    fallback: Object.fromEntries([...fallbacks].map(([k, reasons]) => [k, Object.fromEntries(reasons)])),
  };
}

/** Zeroes the counters of `stats()`. */
export function resetStats(): void {
  nativeCalls.clear();
  fallbacks.clear();
}

function recordFallback(kernelName: string, reason: string): void {
  const reasons = fallbacks.get(kernelName) ?? new Map<string, number>();
  reasons.set(reason, (reasons.get(reason) ?? 0) + 1);
  fallbacks.set(kernelName, reasons);
}

/** Runs a call into the addon; a thrown error becomes the reason string. */
export function native(call: () => void): string | undefined {
  try {
    call();
    return undefined;
  } catch (e) {
    return `native error: ${e instanceof Error ? e.message : String(e)}`;
  }
}

/** A float32 tensor's storage, shared with tfjs-backend-cpu (no copy), or undefined. */
export function floats(backend: MathBackendCPU, t: TensorInfo | undefined): Float32Array | undefined {
  if (t === undefined || t.dtype !== 'float32') return undefined;
  const values = backend.data.get(t.dataId)?.values;
  return values instanceof Float32Array ? values : undefined;
}

/**
 * Storage for a kernel's output of `length` float32 elements, contents arbitrary (the
 * kernel writes every element): reused storage of a disposed tensor on the onednn backend.
 */
export function outputFloats(backend: MathBackendCPU, length: number): Float32Array {
  return backend instanceof PooledCpuBackend ? backend.buffers.take(length) : new Float32Array(length);
}

/** Element count of a shape. */
export function sizeOf(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/**
 * A kernel config for the onednn backend: `impl` first, tfjs-backend-cpu's kernel of the
 * same name (or `fallback`, for kernels cpu does not have) when `impl` returns a reason
 * (unsupported dtype, layout, activation, error).
 */
export function onednnKernel(kernelName: string, impl: (args: Args) => Outcome, fallback?: KernelFunc): KernelConfig {
  const cpu = fallback === undefined ? getKernel(kernelName, 'cpu') : { kernelFunc: fallback };
  if (cpu === undefined)
    throw new Error(`tfjs-backend-cpu has no kernel "${kernelName}": import '@tensorflow/tfjs-backend-cpu' before registering onednn`);
  const kernelFunc: KernelFunc = (params) => {
    const outcome = impl({ inputs: params.inputs, backend: params.backend as MathBackendCPU, attrs: params.attrs ?? {} });
    if (typeof outcome !== 'string') {
      nativeCalls.set(kernelName, (nativeCalls.get(kernelName) ?? 0) + 1);
      return outcome;
    }
    recordFallback(kernelName, outcome);
    if (outcome.startsWith('native error') && !warned.has(kernelName)) {
      warned.add(kernelName);
      console.warn(`[onednn] ${kernelName} fell back to the cpu kernel: ${outcome}`);
    }
    return cpu.kernelFunc(params);
  };
  return { kernelName, backendName: BACKEND, kernelFunc };
}
