// What the onednn backend did and how it is tuned: counters, primitive names, layouts, threads.
import { addon, type OnednnOps } from './_addon.ts';
import { findBackend } from '@tensorflow/tfjs-core';
import { bufferSettings, DEFAULT_BUFFER_MIN_LENGTH, PooledCpuBackend, type BufferStats } from './_buffers.ts';

export { DEFAULT_BUFFER_MIN_LENGTH };
import { BACKEND as ONEDNN, resetStats, settings, stats } from './_kernel.ts';

/**
 * Native calls per kernel, fallbacks to tfjs-backend-cpu per kernel and reason, and how
 * kernel outputs got their storage (reused from disposed tensors, or freshly allocated).
 */
export interface OnednnStats {
  readonly native: Readonly<Record<string, number>>;
  readonly fallback: Readonly<Record<string, Readonly<Record<string, number>>>>;
  readonly buffers: BufferStats;
}

// The backend instance, once tfjs has created it (its pool lives there).
function pooledBackend(): PooledCpuBackend | undefined {
  const backend = findBackend(ONEDNN);
  return backend instanceof PooledCpuBackend ? backend : undefined;
}

/**
 * Counters since the last reset. A kernel that should be native but shows up under
 * `fallback` names the reason (dtype, layout, activation, or a native error).
 *
 * @example onednnStats() // { native: { Conv2D: 12 }, fallback: { FusedConv2D: { 'activation "prelu"': 1 } } }
 */
export function onednnStats(): OnednnStats {
  return { ...stats(), buffers: pooledBackend()?.buffers.stats() ?? { reused: 0, reusedLonger: 0, allocated: 0, pooledBytes: 0 } };
}

/** Zeroes the counters of `onednnStats()`. @example resetOnednnStats(); */
export function resetOnednnStats(): void {
  resetStats();
  pooledBackend()?.buffers.resetStats();
}

/**
 * Calls per oneDNN implementation among cached primitives, e.g. `{ 'jit:avx2': 40, 'gemm:jit': 3 }`.
 * Empty when the addon is unavailable.
 *
 * @example onednnPrimitives()['jit:avx2']
 */
export function onednnPrimitives(): Record<string, number> {
  const loaded = addon();
  return loaded.ok ? loaded.addon.primitives() : {};
}

/**
 * Memory layouts a convolution may use: `plain` keeps tfjs's NHWC/HWIO (no copies);
 * `blocked-weights` lets oneDNN reorder the filter only; `blocked` reorders every operand;
 * `auto` (the default) picks per shape from measurements (see tools/bench_kernels.ts).
 */
export type ConvLayout = 'auto' | 'plain' | 'blocked-weights' | 'blocked';

// Each ConvLayout in the addon's layout bits (`ops.layout`).
const LAYOUT_BITS: Readonly<Record<ConvLayout, (bits: OnednnOps['layout']) => number>> = {
  auto: (b) => b.auto,
  plain: (b) => b.plain,
  'blocked-weights': (b) => b.weightsAny,
  blocked: (b) => b.srcAny | b.weightsAny | b.dstAny,
};

/** Tuning knobs; each field is optional and applies to later calls. */
export interface OnednnOptions {
  /** OpenMP threads used by oneDNN (default: all cores, or OMP_NUM_THREADS). */
  readonly threads?: number;
  /** Layout per convolution direction (defaults measured by tools/bench_kernels.ts). */
  readonly convLayout?: { readonly forward?: ConvLayout; readonly backwardInput?: ConvLayout; readonly backwardFilter?: ConvLayout };
  /** Elementwise/reduction outputs smaller than this stay on the cpu kernels (default 16384). */
  readonly minElementwiseSize?: number;
  /**
   * Give kernel outputs the storage of disposed tensors instead of fresh memory (default
   * true; false: every output is a fresh allocation, as on tfjs-backend-cpu). See _buffers.ts.
   */
  readonly reuseBuffers?: boolean;
  /** Outputs shorter than this many elements are never pooled (default {@link DEFAULT_BUFFER_MIN_LENGTH}; tests set 0 to pool every output). */
  readonly bufferMinLength?: number;
  /**
   * What convolutions and matmuls compute in (default fp32). `bf16` is mixed precision: bf16
   * inputs, fp32 accumulation and outputs, per primitive where measured faster (README,
   * Precision); `bf16-everywhere` ignores that rule, for measuring it. bf16 throws on a CPU
   * without native bf16 (`onednnInfo().bf16`), naming its ISA.
   */
  readonly precision?: OnednnPrecision;
}

/** `configureOnednn`'s precision choices. */
export type OnednnPrecision = 'fp32' | 'bf16' | 'bf16-everywhere';

/**
 * Sets threads, precision, convolution layouts and the elementwise size threshold; returns
 * false when the addon is unavailable. Changing threads or a layout empties the primitive cache.
 *
 * @example configureOnednn({ threads: 1, convLayout: { forward: 'blocked' } });
 */
export function configureOnednn(options: OnednnOptions): boolean {
  const loaded = addon();
  if (!loaded.ok) return false;
  if (options.threads !== undefined) loaded.addon.setNumThreads(options.threads);
  if (options.precision !== undefined) {
    const { precision } = loaded.addon.ops;
    loaded.addon.setPrecision(
      { fp32: precision.fp32, bf16: precision.bf16, 'bf16-everywhere': precision.bf16Everywhere }[options.precision],
    );
    settings.precision = options.precision;
  }
  if (options.minElementwiseSize !== undefined) settings.minElementwiseSize = options.minElementwiseSize;
  if (options.reuseBuffers !== undefined) bufferSettings.reuse = options.reuseBuffers;
  if (options.bufferMinLength !== undefined) bufferSettings.minLength = options.bufferMinLength;
  const layouts = options.convLayout ?? {};
  const { conv, layout: bits } = loaded.addon.ops;
  const kinds: [ConvLayout | undefined, number][] = [
    [layouts.forward, conv.forward],
    [layouts.backwardInput, conv.backwardData],
    [layouts.backwardFilter, conv.backwardFilter],
  ];
  for (const [layout, kind] of kinds) {
    if (layout !== undefined) loaded.addon.setConvLayout(kind, LAYOUT_BITS[layout](bits));
  }
  return true;
}

/**
 * While `on`, an output with no spare array of its own length in the buffer pool gets a view of
 * a longer spare one (up to 16× its length) instead of fresh storage: for steps smaller than the
 * ones before (a training epoch's smaller last batch), whose lengths the pooled arrays do not
 * match and would otherwise sit beside. Off for steady steps (each length has its own arrays).
 * @example reuseLongerBuffers(true)
 */
export function reuseLongerBuffers(on: boolean): void {
  const backend = pooledBackend();
  if (backend !== undefined) backend.buffers.allowLonger = on;
}

/**
 * The float32 storage of tensor data the onednn backend holds, lent without handing it out of
 * the output-buffer pool (`dataSync` marks storage as the user's for good, so it is never reused,
 * and after the tensor's disposal waits for the garbage collector while a new array takes its
 * place). The borrower must neither keep nor write it, and must be done before the next tfjs
 * operation. undefined: the backend holds no float32 data under `dataId`.
 * @example const values = lentValues(variable.dataId); if (values !== undefined) writeSync(fd, values)
 */
export function lentValues(dataId: object): Float32Array | undefined {
  const values = pooledBackend()?.data.get(dataId)?.values;
  return values instanceof Float32Array ? values : undefined;
}

/** Drops cached primitives, scratch buffers and the output-buffer pool's spare arrays (all rebuilt on demand). @example clearOnednnCache(); */
export function clearOnednnCache(): void {
  const loaded = addon();
  if (loaded.ok) loaded.addon.clearCache();
  pooledBackend()?.buffers.clear();
}
