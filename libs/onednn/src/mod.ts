/**
 * @resnet/onednn — a tfjs backend named `onednn`: tfjs-backend-cpu's tensors and kernels,
 * with convolutions, matmul and pooling run by oneDNN (Debian's libdnnl-dev) through an
 * N-API addon built by `node tools/build_native.cjs`.
 *
 * @example
 * import * as tf from '@tensorflow/tfjs-core';
 * import { registerOnednn } from '@resnet/onednn';
 * const status = registerOnednn();
 * await tf.setBackend(status.ok ? 'onednn' : 'cpu');
 * @module
 */
export { ONEDNN_BACKEND, isOnednnAvailable, onednnKernelConfigs, onednnStatus, registerOnednn, type OnednnStatus } from './register.ts';
export {
  clearOnednnCache,
  reuseLongerBuffers,
  configureOnednn,
  DEFAULT_BUFFER_MIN_LENGTH,
  lentValues,
  onednnPrimitives,
  onednnStats,
  resetOnednnStats,
  type ConvLayout,
  type OnednnOptions,
  type OnednnPrecision,
  type OnednnStats,
} from './diagnostics.ts';
export type { OnednnInfo } from './_addon.ts';
export type { BufferStats } from './_buffers.ts';
