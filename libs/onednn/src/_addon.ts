// Loads the N-API addon built by tools/build_native.cjs and says why when it cannot.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';

/** What `info()` of the addon reports about the oneDNN it was linked against. */
export interface OnednnInfo {
  readonly version: string;
  readonly cpuRuntime: string;
  readonly threads: number;
  /** The instruction set oneDNN's kernels run on (the CPU's, lowered by ONEDNN_MAX_CPU_ISA), e.g. `avx512_core_bf16`. */
  readonly isa: string;
  /**
   * The instruction set of the addon's own loops (native/loops.cc, the fused training kernels):
   * the widest of `avx512f`, `avx2` and `baseline` (x86-64) that the CPU has and `isa` allows.
   */
  readonly loopsIsa: 'avx512f' | 'avx2' | 'baseline';
  /** Whether oneDNN has native bf16 here (avx512_core_bf16 or AMX): `setPrecision(bf16)` works. */
  readonly bf16: boolean;
  /** What convolutions and matmuls compute in now (`setPrecision`). */
  readonly precision: 'fp32' | 'bf16';
  readonly convLayouts: readonly number[];
  readonly cacheEntries: number;
  readonly arenaBytes: number;
  /** Convolutions run as one GEMM over a patch matrix (tiny outputs, pointwise kernels) so far. */
  readonly gemmConvCalls: number;
  /** Of those, convolutions run unrolled: one GEMM on the whole convolution as a matrix (gemm_conv.cc). */
  readonly unrolledConvCalls: number;
  /** bf16 copies of tensors kept for reuse under bf16 (bytes, count): freed as their tensors are disposed. */
  readonly convertedBytes: number;
  readonly convertedEntries: number;
  /**
   * glibc's mmap threshold as the addon fixed it when loaded (bytes; native/addon.cc says why), or null where it
   * left it alone: not glibc, or the user's own `MALLOC_MMAP_THRESHOLD_` is set.
   */
  readonly mmapThreshold: number | null;
}

/**
 * The names of the addon's op codes, group by group, as native/ops.h declares them. The codes
 * themselves come only from the addon (`addon.ops`, e.g. `ops.binary.add`): ops.h is the one
 * source of the numbering. _addon_test.ts checks that the built addon exports exactly these
 * names, and `loadAddon` refuses an addon built from another table.
 */
export const OP_NAMES = {
  conv: ['forward', 'backwardData', 'backwardFilter'],
  binary: ['add', 'sub', 'mul', 'div', 'max', 'min'],
  reduce: ['sum', 'mean', 'max', 'min'],
  unary: ['relu', 'step', 'square'],
  pool: ['max', 'avgExcludePadding', 'avgIncludePadding'],
  /** Fused into conv and matmul as oneDNN post-ops; tfjs's activation names. */
  activation: ['linear', 'relu', 'relu6', 'leakyrelu', 'elu', 'sigmoid'],
  /** Bits of `setConvLayout` (OR together), or `auto`. */
  layout: ['auto', 'plain', 'srcAny', 'weightsAny', 'dstAny'],
  /** `setPrecision`: bf16 where the per-primitive rule says it pays; bf16Everywhere for measuring the rule. */
  precision: ['fp32', 'bf16', 'bf16Everywhere'],
} as const;

/** The addon's op codes by group and name. @example addon.binary(ops.binary.add, a, b, out, shapes) */
export type OnednnOps = { readonly [G in keyof typeof OP_NAMES]: { readonly [N in (typeof OP_NAMES)[G][number]]: number } };

/**
 * How an op table differs from `OP_NAMES`: missing or unknown groups and names, codes that are
 * not integers, a code used twice in one group. Empty when it matches.
 *
 * @example opTableDifferences({ ...ops, unary: { relu: 0, step: 1 } }) // ['unary: square missing']
 */
export function opTableDifferences(ops: unknown): string[] {
  if (typeof ops !== 'object' || ops === null) return ['no op table'];
  const table = ops as Record<string, unknown>;
  const expected: Readonly<Record<string, readonly string[]>> = OP_NAMES;
  const differences = Object.keys(table)
    .filter((g) => !Object.hasOwn(expected, g))
    .map((g) => `unknown group ${g}`);
  for (const [group, names] of Object.entries(expected)) {
    const codes = table[group];
    if (typeof codes !== 'object' || codes === null) {
      differences.push(`group ${group} missing`);
      continue;
    }
    const entries = Object.entries(codes as Record<string, unknown>);
    differences.push(...names.filter((n) => !Object.hasOwn(codes, n)).map((n) => `${group}: ${n} missing`));
    differences.push(...entries.filter(([n]) => !names.includes(n)).map(([n]) => `${group}: unknown ${n}`));
    differences.push(...entries.filter(([, c]) => !Number.isInteger(c)).map(([n, c]) => `${group}: ${n} is ${String(c)}, not an integer`));
    const seen = new Map<unknown, string>();
    for (const [n, c] of entries) {
      const first = seen.get(c);
      if (first !== undefined) differences.push(`${group}: ${n} and ${first} share code ${String(c)}`);
      else seen.set(c, n);
    }
  }
  return differences;
}

/**
 * The code of `name` in one group of the op table, or undefined when the addon has no such op
 * (tfjs's `prelu` activation, say).
 *
 * @example codeOf(addon.ops.activation, 'relu6')
 */
export function codeOf(group: Readonly<Record<string, number>>, name: string): number | undefined {
  return Object.hasOwn(group, name) ? group[name] : undefined;
}

/** Raw entry points of the addon (native/kernels.h, exported by native/addon.cc); all synchronous, all write into `out`. */
export interface OnednnAddon {
  /** Op codes by name, to pass as `kind`, `algorithm`, `op`, the activation in params, and layout bits. */
  readonly ops: OnednnOps;
  /** keyA, keyB: names of a's and b's data under which the addon may keep their bf16 copies (0: none); see forget. */
  conv(
    kind: number,
    a: Float32Array,
    b: Float32Array,
    bias: Float32Array | null,
    out: Float32Array,
    params: Int32Array,
    alpha: number,
    keyA?: number,
    keyB?: number,
  ): void;
  matmul(a: Float32Array, b: Float32Array, bias: Float32Array | null, out: Float32Array, params: Int32Array, alpha: number): void;
  pool(backward: boolean, x: Float32Array | null, dy: Float32Array | null, out: Float32Array, params: Int32Array): void;
  binary(algorithm: number, a: Float32Array, b: Float32Array, out: Float32Array, shapes: Int32Array): void;
  reduce(algorithm: number, x: Float32Array, out: Float32Array, shapes: Int32Array): void;
  tile(x: Float32Array, out: Float32Array, shapes: Int32Array): void;
  unary(op: number, x: Float32Array, out: Float32Array, alpha: number): void;
  batchNorm(
    x: Float32Array,
    mean: Float32Array,
    variance: Float32Array,
    offset: Float32Array | null,
    scale: Float32Array | null,
    out: Float32Array,
    epsilon: number,
  ): void;
  batchNormTrain(
    x: Float32Array,
    scale: Float32Array,
    offset: Float32Array,
    y: Float32Array,
    mean: Float32Array,
    variance: Float32Array,
    epsilon: number,
    relu?: boolean,
  ): void;
  batchNormGrad(
    dy: Float32Array,
    x: Float32Array,
    scale: Float32Array,
    mean: Float32Array,
    variance: Float32Array,
    dx: Float32Array,
    dScale: Float32Array,
    dOffset: Float32Array,
    epsilon: number,
    y?: Float32Array,
  ): void;
  sgd(
    param: Float32Array,
    grad: Float32Array,
    velocity: Float32Array,
    newParam: Float32Array,
    newVelocity: Float32Array,
    lr: number,
    momentum: number,
    weightDecay: number,
    nesterov: boolean,
    gradScale: number,
  ): void;
  sgdMulti(
    params: Float32Array[],
    grads: Float32Array[],
    velocities: Float32Array[],
    newParams: Float32Array[],
    newVelocities: Float32Array[],
    decays: Float32Array,
    lr: number,
    momentum: number,
    nesterov: boolean,
    gradScale: number,
  ): void;
  /** Σ x² over every element of every array, in float64, the same bits at any thread count and ISA (native/fused.cc). */
  sumSquaresMulti(arrays: Float32Array[]): number;
  reluGrad(dy: Float32Array, y: Float32Array, dx: Float32Array): void;
  addRelu(a: Float32Array, b: Float32Array, y: Float32Array): void;
  info(): OnednnInfo;
  primitives(): Record<string, number>;
  setConvLayout(kind: number, bits: number): void;
  /** Throws (naming the ISA) for bf16 where `info().bf16` is false. */
  setPrecision(precision: number): void;
  setNumThreads(threads: number): void;
  /** Frees the bf16 copy kept under `key` (its tensor was disposed); no-op without one. */
  forget(key: number): void;
  clearCache(): void;
}

/** The addon, or why it is unavailable (with the command that fixes it). */
export type AddonResult = { readonly ok: true; readonly addon: OnednnAddon } | { readonly ok: false; readonly reason: string };

const FIX = 'apt-get install -y libdnnl-dev && node tools/build_native.cjs';
const HEADER = '/usr/include/oneapi/dnnl/dnnl.hpp';

// `__dirname` exists under jest and tsx (CommonJS); fall back to the repo layout elsewhere.
function libDir(): string {
  return typeof __dirname === 'string' ? resolve(__dirname, '..') : resolve(process.cwd(), 'libs', 'onednn');
}

/** Where the addon is expected: `ONEDNN_ADDON` if set, else `libs/onednn/build/Release/onednn.node`. */
export function addonPath(): string {
  return process.env['ONEDNN_ADDON'] ?? join(libDir(), 'build', 'Release', 'onednn.node');
}

/** The addon's functions (every member of {@link OnednnAddon} but `ops`); an addon missing one is refused. */
export const ADDON_FUNCTIONS = [
  'conv',
  'matmul',
  'pool',
  'binary',
  'reduce',
  'tile',
  'unary',
  'batchNorm',
  'batchNormTrain',
  'batchNormGrad',
  'sgd',
  'sgdMulti',
  'sumSquaresMulti',
  'reluGrad',
  'addRelu',
  'info',
  'primitives',
  'setConvLayout',
  'setPrecision',
  'setNumThreads',
  'forget',
  'clearCache',
] as const satisfies readonly Exclude<keyof OnednnAddon, 'ops'>[];

function hasFunctions(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && ADDON_FUNCTIONS.every((n) => typeof (x as Record<string, unknown>)[n] === 'function');
}

/** Loads the addon from `path` without throwing. */
export function loadAddon(path: string): AddonResult {
  if (process.env['ONEDNN_DISABLE'] === '1') {
    return { ok: false, reason: 'disabled by ONEDNN_DISABLE=1; unset it to use the onednn backend' };
  }
  if (!existsSync(path)) {
    const why = existsSync(HEADER) ? 'the addon was not built' : 'libdnnl-dev is not installed, so the addon was not built';
    return { ok: false, reason: `${path} not found: ${why}. Fix: ${FIX}` };
  }
  let exports: unknown;
  try {
    exports = createRequire(path)(path);
  } catch (e) {
    return { ok: false, reason: `${path} failed to load (${e instanceof Error ? e.message : String(e)}). Fix: ${FIX}` };
  }
  if (!hasFunctions(exports))
    return { ok: false, reason: `${path} is not the onednn addon (missing functions). Fix: node tools/build_native.cjs` };
  const differences = opTableDifferences(exports['ops']);
  if (differences.length > 0)
    return {
      ok: false,
      reason: `${path} was built from another op table than this lib's (${differences.join('; ')}). Fix: node tools/build_native.cjs`,
    };
  return { ok: true, addon: exports as unknown as OnednnAddon };
}

let cached: AddonResult | undefined;

/** The addon at `addonPath()`, loaded once per process. */
export function addon(): AddonResult {
  cached ??= loadAddon(addonPath());
  return cached;
}
