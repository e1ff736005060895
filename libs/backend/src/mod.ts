/**
 * @resnet/backend — picks the tfjs backend for training and inference apps: tensorflow
 * (tfjs-node-gpu, then tfjs-node), onednn, wasm (inference only) or pure-JS cpu, with a
 * one-line reason for the log and a record for the run's config.json.
 *
 * @example
 * import * as E from 'fp-ts/Either';
 * import { BACKEND_CHOICES, describeBackend, selectBackend } from '@resnet/backend';
 * const flag = { kind: 'enum', values: BACKEND_CHOICES, default: 'auto', help: 'tfjs backend' };
 * const chosen = await selectBackend('auto', { purpose: 'training' });
 * if (E.isLeft(chosen)) throw new Error(chosen.left.message);
 * console.log(chosen.right.reason, describeBackend(chosen.right));
 * @module
 */
export {
  BACKEND_CHOICES,
  CPU_DEVICE,
  activePrecision,
  lendValues,
  smallerBatchAhead,
  WASM_DEVICE,
  onednnDevice,
  selectBackend,
  type BackendChoice,
  type BackendError,
  type BackendName,
  type Purpose,
  type SelectOptions,
} from './select.ts';
export { describeBackend, type BackendDescription } from './describe.ts';
export type { BackendLoaders } from './_loaders.ts';
export { machineMemory, processMemory, resetPeakRss, type MachineMemory, type ProcessMemory } from './memory.ts';
