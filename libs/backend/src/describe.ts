/** The active backend as a JSON-serialisable record, for a run's config.json. */
import * as tf from '@tensorflow/tfjs';
import { ONEDNN_BACKEND, onednnStatus, type OnednnInfo } from '@resnet/onednn';
import { CPU_DEVICE, WASM_DEVICE, onednnDevice, type BackendChoice } from './select.ts';

/** What a run records about where it ran. */
export interface BackendDescription {
  readonly name: string;
  readonly device: string;
  readonly tfjsVersion: string;
  readonly node: string;
  /** oneDNN's version, threading and ISA, when the backend is onednn. */
  readonly onednn?: OnednnInfo;
}

/**
 * Describes the active tfjs backend. Pass the `selectBackend` result to record its device
 * (used when its name is still the active backend); otherwise the device is inferred,
 * and for `tensorflow` it is `unknown`.
 *
 * @example
 * const chosen = await selectBackend('auto');
 * if (E.isRight(chosen)) writeFileSync('config.json', JSON.stringify({ backend: describeBackend(chosen.right) }));
 * // { name: 'onednn', device: 'cpu (2 threads, oneDNN 2.6.3, avx2)', tfjsVersion: '4.22.0', node: 'v20.20.2', onednn: { … } }
 */
export function describeBackend(choice?: Pick<BackendChoice, 'name' | 'device'>): BackendDescription {
  // Null until a backend is set or an op runs; the type does not say so.
  const name = (tf.getBackend() as string | null | undefined) ?? 'none';
  const status = name === ONEDNN_BACKEND ? onednnStatus() : null;
  const device = choice !== undefined && choice.name === name ? choice.device : inferDevice(name, status?.ok === true ? status.info : null);
  const base = { name, device, tfjsVersion: tf.version_core ?? '4.22.0', node: process.version };
  return status?.ok === true ? { ...base, onednn: status.info } : base;
}

function inferDevice(name: string, onednn: OnednnInfo | null): string {
  if (onednn !== null) return onednnDevice(onednn);
  return name === 'cpu' ? CPU_DEVICE : name === 'wasm' ? WASM_DEVICE : 'unknown';
}
