// Shared by this lib's tests: fake packages and a fake oneDNN that register plain
// MathBackendCPU instances under the real backend names, and a snapshot that restores tfjs and env.
import * as tf from '@tensorflow/tfjs';
import { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import type { OnednnInfo, OnednnStatus } from '@resnet/onednn';
import type { BackendLoaders } from './_loaders.ts';

export const GPU = '@tensorflow/tfjs-node-gpu';
export const NODE = '@tensorflow/tfjs-node';
export const WASM = '@tensorflow/tfjs-backend-wasm';

/** The error Node's `require` throws for a package that is not installed. */
export function notFound(id: string): Error {
  return Object.assign(new Error(`Cannot find module '${id}'\nRequire stack:\n- /fake`), { code: 'MODULE_NOT_FOUND' });
}

/** What a fake package does when required: register a backend, register nothing, or throw. */
export type FakePackage =
  { readonly registers: string } | { readonly registers: null } | { readonly throws: Error } | ((util: Record<string, unknown>) => void);

/** Registers a plain MathBackendCPU as `name`, like a package that loaded. */
export function registerFake(name: string): void {
  if (tf.findBackendFactory(name) === null) tf.registerBackend(name, () => new MathBackendCPU(), 0);
}

/** A fake `require`: packages not listed are not installed. Records every id asked for in `calls`. */
export function fakeRequire(
  packages: Readonly<Record<string, FakePackage>>,
  calls: string[],
  util: Record<string, unknown> = {},
): (id: string) => unknown {
  return (id) => {
    calls.push(id);
    const fake = packages[id];
    if (fake === undefined) throw notFound(id);
    if (typeof fake === 'function') fake(util);
    else if ('throws' in fake) throw fake.throws;
    else if (fake.registers !== null) registerFake(fake.registers);
    return {};
  };
}

export const FAKE_INFO: OnednnInfo = {
  version: '2.6.3',
  cpuRuntime: 'OpenMP',
  threads: 2,
  isa: 'avx2',
  loopsIsa: 'avx2',
  bf16: false,
  precision: 'fp32',
  convLayouts: [-1, -1, -1],
  cacheEntries: 0,
  arenaBytes: 0,
  gemmConvCalls: 0,
  unrolledConvCalls: 0,
  convertedBytes: 0,
  convertedEntries: 0,
  mmapThreshold: 1048576,
};

export const UNAVAILABLE_REASON =
  'libs/onednn/build/Release/onednn.node not found: libdnnl-dev is not installed, so the addon was not built. Fix: apt-get install -y libdnnl-dev && node tools/build_native.cjs';

/** A fake `registerOnednn`: ok registers a fresh MathBackendCPU as `onednn` (banner not silenced). */
export function fakeOnednn(ok: boolean, calls: string[] = []): () => OnednnStatus {
  return () => {
    calls.push('registerOnednn');
    if (!ok) return { ok: false, reason: UNAVAILABLE_REASON };
    registerFake('onednn');
    return { ok: true, info: FAKE_INFO };
  };
}

/** Loaders where nothing optional is installed and oneDNN is unavailable. */
export function bareLoaders(overrides: Partial<BackendLoaders> = {}): Partial<BackendLoaders> {
  return { require: fakeRequire({}, []), registerOnednn: fakeOnednn(false), util: {}, ...overrides };
}

const ENV = 'TF_FORCE_GPU_ALLOW_GROWTH';

/**
 * Captures the active backend, the registered backends and the env; the returned function
 * puts them back, removing every backend registered since (fakes, and the real onednn).
 */
export function snapshot(): () => Promise<void> {
  const backend = tf.getBackend();
  const registered = new Set(Object.keys(tf.engine().registryFactory));
  const growth = process.env[ENV];
  return async () => {
    await tf.setBackend(backend);
    for (const name of Object.keys(tf.engine().registryFactory)) if (!registered.has(name)) tf.removeBackend(name);
    if (growth === undefined) delete process.env[ENV];
    else process.env[ENV] = growth;
  };
}
