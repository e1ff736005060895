// The `onednn` tfjs backend: tfjs-backend-cpu's storage and kernels, with the hot kernels
// (convolutions, matmul, pooling) replaced by oneDNN primitives through an N-API addon.
import '@tensorflow/tfjs-backend-cpu';
import { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import {
  findBackendFactory,
  getKernel,
  getKernelsForBackend,
  registerBackend,
  registerKernel,
  type KernelConfig,
} from '@tensorflow/tfjs-core';
import { addon, type OnednnAddon, type OnednnInfo } from './_addon.ts';
import { convKernels } from './_conv.ts';
import { elementwiseKernels } from './_elementwise.ts';
import { fusedKernels } from './_fused.ts';
import { PooledCpuBackend } from './_buffers.ts';
import { BACKEND } from './_kernel.ts';
import { matmulKernels } from './_matmul.ts';
import { poolKernels } from './_pool.ts';

/** Whether the onednn backend can run here, and if not, why and how to fix it. */
export type OnednnStatus = { readonly ok: true; readonly info: OnednnInfo } | { readonly ok: false; readonly reason: string };

/** The name to pass to `tf.setBackend`. */
export const ONEDNN_BACKEND = BACKEND;

/** Priority above tfjs-backend-cpu (1) and below tfjs-node (3): chosen by default once registered. */
const PRIORITY = 2;

/**
 * Whether the addon loads, with oneDNN's version, threading and ISA, or the reason it does not.
 *
 * @example
 * const status = onednnStatus();
 * if (!status.ok) console.warn(status.reason); // "… not found: … Fix: apt-get install -y libdnnl-dev && node tools/build_native.cjs"
 */
export function onednnStatus(): OnednnStatus {
  const loaded = addon();
  return loaded.ok ? { ok: true, info: loaded.addon.info() } : loaded;
}

/**
 * True when the addon is built and loads.
 *
 * @example const backend = isOnednnAvailable() && registerOnednn().ok ? 'onednn' : 'cpu';
 */
export function isOnednnAvailable(): boolean {
  return addon().ok;
}

/** Every oneDNN-backed kernel, for the given addon. */
export function onednnKernelConfigs(native: OnednnAddon): KernelConfig[] {
  return [...convKernels(native), ...matmulKernels(native), ...poolKernels(native), ...elementwiseKernels(native), ...fusedKernels(native)];
}

function newBackend(): MathBackendCPU {
  const backend = new PooledCpuBackend();
  const loaded = addon();
  if (loaded.ok) backend.forgetKey = (key) => loaded.addon.forget(key);
  return backend;
}

/**
 * Registers the `onednn` backend (idempotent). It stores tensors exactly like `cpu`, runs
 * every cpu kernel, and overrides Conv2D, Conv2DBackpropInput, Conv2DBackpropFilter,
 * FusedConv2D, BatchMatMul, _FusedMatMul, MaxPool, MaxPoolGrad, AvgPool, AvgPoolGrad,
 * Add, Sub, Multiply, RealDiv, Maximum, Minimum, Sum, Mean, Max, Min, Tile, Relu, Step,
 * Square and FusedBatchNorm (float32; small elementwise tensors stay on the cpu kernels), and
 * adds the fused training kernels of `FUSED_KERNELS` (batch norm with its gradient, SGD).
 *
 * @example
 * const status = registerOnednn();
 * if (status.ok) await tf.setBackend('onednn');
 * else console.warn(`onednn unavailable: ${status.reason}`);
 */
export function registerOnednn(): OnednnStatus {
  const loaded = addon();
  if (!loaded.ok) return loaded;
  if (findBackendFactory(BACKEND) === null) registerBackend(BACKEND, newBackend, PRIORITY);
  const overrides = onednnKernelConfigs(loaded.addon);
  const overridden = new Set(overrides.map((k) => k.kernelName));
  const inherited = getKernelsForBackend('cpu')
    .filter((k) => !overridden.has(k.kernelName))
    .map((k) => ({ ...k, backendName: BACKEND }));
  for (const config of [...inherited, ...overrides]) {
    if (getKernel(config.kernelName, BACKEND) === undefined) registerKernel(config);
  }
  return { ok: true, info: loaded.addon.info() };
}
