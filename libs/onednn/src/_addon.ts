// Loads the N-API addon built by tools/build_native.cjs and says why when it cannot.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';

/** What `info()` of the addon reports about the oneDNN it was linked against. */
export interface OnednnInfo {
  readonly version: string;
  readonly cpuRuntime: string;
  readonly threads: number;
  readonly isa: string;
  readonly convLayouts: readonly number[];
  readonly cacheEntries: number;
  readonly arenaBytes: number;
  /** Convolutions run as one GEMM over a patch matrix (tiny outputs, pointwise kernels) so far. */
  readonly gemmConvCalls: number;
}

/** Conv primitive kinds, in the addon's numbering. */
export const CONV_FORWARD = 0;
export const CONV_BACKWARD_DATA = 1;
export const CONV_BACKWARD_FILTER = 2;

/** Raw entry points of native/onednn.cc; all synchronous, all write into `out`. */
export interface OnednnAddon {
  conv(kind: number, a: Float32Array, b: Float32Array, bias: Float32Array | null, out: Float32Array, params: Int32Array, alpha: number): void;
  matmul(a: Float32Array, b: Float32Array, bias: Float32Array | null, out: Float32Array, params: Int32Array, alpha: number): void;
  pool(backward: boolean, x: Float32Array | null, dy: Float32Array | null, out: Float32Array, params: Int32Array): void;
  binary(algorithm: number, a: Float32Array, b: Float32Array, out: Float32Array, shapes: Int32Array): void;
  reduce(algorithm: number, x: Float32Array, out: Float32Array, shapes: Int32Array): void;
  tile(x: Float32Array, out: Float32Array, shapes: Int32Array): void;
  unary(op: number, x: Float32Array, out: Float32Array, alpha: number): void;
  batchNorm(x: Float32Array, mean: Float32Array, variance: Float32Array, offset: Float32Array | null, scale: Float32Array | null, out: Float32Array, epsilon: number): void;
  batchNormTrain(x: Float32Array, scale: Float32Array, offset: Float32Array, y: Float32Array, mean: Float32Array, variance: Float32Array, epsilon: number): void;
  batchNormGrad(dy: Float32Array, x: Float32Array, scale: Float32Array, mean: Float32Array, variance: Float32Array, dx: Float32Array, dScale: Float32Array, dOffset: Float32Array, epsilon: number): void;
  sgd(param: Float32Array, grad: Float32Array, velocity: Float32Array, newParam: Float32Array, newVelocity: Float32Array, lr: number, momentum: number, weightDecay: number, nesterov: boolean): void;
  sgdMulti(params: Float32Array[], grads: Float32Array[], velocities: Float32Array[], newParams: Float32Array[], newVelocities: Float32Array[], decays: Float32Array, lr: number, momentum: number, nesterov: boolean): void;
  reluGrad(dy: Float32Array, y: Float32Array, dx: Float32Array): void;
  addRelu(a: Float32Array, b: Float32Array, y: Float32Array): void;
  info(): OnednnInfo;
  primitives(): Record<string, number>;
  setConvLayout(kind: number, bits: number): void;
  setNumThreads(threads: number): void;
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

function isAddon(x: unknown): x is OnednnAddon {
  const names = ['conv', 'matmul', 'pool', 'binary', 'reduce', 'tile', 'unary', 'batchNorm', 'batchNormTrain', 'batchNormGrad', 'sgd', 'sgdMulti', 'reluGrad', 'addRelu', 'info', 'primitives', 'setConvLayout', 'setNumThreads', 'clearCache'];
  return typeof x === 'object' && x !== null && names.every((n) => typeof (x as Record<string, unknown>)[n] === 'function');
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
  return isAddon(exports) ? { ok: true, addon: exports } : { ok: false, reason: `${path} is not the onednn addon (missing functions). Fix: node tools/build_native.cjs` };
}

let cached: AddonResult | undefined;

/** The addon at `addonPath()`, loaded once per process. */
export function addon(): AddonResult {
  cached ??= loadAddon(addonPath());
  return cached;
}
