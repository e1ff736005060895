/**
 * Fused kernel names and their contracts.
 * - `ResNetBatchNormTrain`: inputs `{x, scale, offset}` (channels last, `scale`/`offset` of the
 *   last axis' size), attr `epsilon` → `[y, mean, variance]` (biased batch variance).
 * - `ResNetBatchNormGrad`: inputs `{dy, x, scale, mean, variance}`, attr `epsilon` →
 *   `[dx, dScale, dOffset]`, the gradient of `ResNetBatchNormTrain`'s `y` through the batch statistics.
 * - `ResNetSgdMomentum`: inputs `{param, grad, velocity}`, attrs `lr, momentum, weightDecay,
 *   nesterov` → `[newParam, newVelocity]` with `d = g + wd·p`, `v' = m·v + d`,
 *   `p' = p − lr·(nesterov ? d + m·v' : v')`.
 * @example tf.engine().runKernel(FUSED_KERNELS.sgdMomentum, { param, grad, velocity }, { lr, momentum, weightDecay, nesterov })
 */
export const FUSED_KERNELS = {
  batchNormTrain: 'ResNetBatchNormTrain',
  batchNormGrad: 'ResNetBatchNormGrad',
  sgdMomentum: 'ResNetSgdMomentum',
} as const;

/** One of {@link FUSED_KERNELS}' names. */
export type FusedKernelName = (typeof FUSED_KERNELS)[keyof typeof FUSED_KERNELS];
