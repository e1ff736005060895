/**
 * Fused kernel names and their contracts.
 * - `ResNetBatchNormTrain`: inputs `{x, scale, offset}` (channels last, `scale`/`offset` of the
 *   last axis' size), attrs `epsilon` and optional `relu` (default false) → `[y, mean, variance]`
 *   (biased batch variance); with `relu`, y is `relu` of the normalised value (NaN passing
 *   through), in the same pass. Its gradient is `ResNetBatchNormGrad` given that y.
 * - `ResNetBatchNormGrad`: inputs `{dy, x, scale, mean, variance}` and optional `y`, attr `epsilon` →
 *   `[dx, dScale, dOffset]`, the gradient of `ResNetBatchNormTrain`'s `y` through the batch
 *   statistics; with `y` (the output of `ResNetBatchNormTrain` with `relu`), the gradient of that
 *   output: dy is taken through the ReLU first (0 where y ≤ 0), in the same passes.
 * - `ResNetBatchNormRunningStats`: inputs `{runningMean, runningVariance, mean, variance}` (four
 *   tensors of one size), attrs `momentum` (m) and `count` (n, the elements per channel the batch
 *   statistics came from) → `[newRunningMean, newRunningVariance]` with `mean' = (1 − m)·running +
 *   m·mean` and `variance' = (1 − m)·running + m·(variance·n/(n − 1))` (n ≤ 1: the variance as
 *   it is), PyTorch's update with the unbiased batch variance; every product and sum rounded to
 *   float32, each constant too, so the bits equal those of the same update composed from tfjs
 *   ops. One kernel where the composition is ~15 tfjs calls per batch norm.
 * - `ResNetSgdMomentum`: inputs `{param, grad, velocity}`, attrs `lr, momentum, weightDecay,
 *   nesterov` and optional `gradScale` (s, default 1) → `[newParam, newVelocity]` with
 *   `d = s·g + wd·p`, `v' = m·v + d`, `p' = p − lr·(nesterov ? d + m·v' : v')`, in float32: s is
 *   a clipped step's factor, so the scaled gradient is never a tensor; s = 1 gives the bits of
 *   the update without it, and any s the bits of the update on the float32 product s·g.
 * - `ResNetSgdMomentumMulti`: the same update for many tensors in one kernel (one native
 *   multithreaded pass): inputs `{p0, g0, v0, p1, g1, v1, …}`, attrs `lr, momentum, nesterov,
 *   weightDecays` (one per tensor) and optional `gradScale` (one for all) →
 *   `[newP0, newV0, newP1, newV1, …]`, each element bit-for-bit what `ResNetSgdMomentum` gives.
 * - `ResNetSumSquares`: inputs `{x0, x1, …}` (float32, any shapes) → an int32 tensor `[2]`
 *   holding the bits of the float64 Σᵢ Σ xᵢ² in the host's byte order (tfjs has no float64
 *   tensor, and a float32 sum would round the clipping norm): read it as
 *   `new Float64Array(Int32Array.from(words).buffer)[0]`. A step's squared gradient norm.
 * - `ResNetReluGrad`: inputs `{dy, y}` with `y = relu(x)` → `dx = y > 0 ? dy : 0` (ReLU's
 *   gradient from its output, one pass).
 * - `ResNetAddRelu`: inputs `{a, b}` of the same shape → `relu(a + b)` (a residual join; its
 *   gradient is `ResNetReluGrad` of the output, for both inputs).
 * @example tf.engine().runKernel(FUSED_KERNELS.sgdMomentum, { param, grad, velocity }, { lr, momentum, weightDecay, nesterov })
 */
export const FUSED_KERNELS = {
  batchNormTrain: 'ResNetBatchNormTrain',
  batchNormGrad: 'ResNetBatchNormGrad',
  batchNormRunningStats: 'ResNetBatchNormRunningStats',
  sgdMomentum: 'ResNetSgdMomentum',
  sgdMomentumMulti: 'ResNetSgdMomentumMulti',
  reluGrad: 'ResNetReluGrad',
  addRelu: 'ResNetAddRelu',
  sumSquares: 'ResNetSumSquares',
} as const;

/**
 * Parameters per `ResNetSgdMomentumMulti` call, at most this many elements (a larger tensor
 * alone): each call's new weights and velocities exist beside the old ones until assigned, so
 * one call for all of ResNet-152's 60M parameters would add 2×240 MB at a step's end. The
 * optimiser (@resnet/training's sgd.ts) calls it so; the memory estimate (@resnet/tfjs's
 * memory.ts) counts it.
 */
export const SGD_CHUNK_ELEMENTS = 2 ** 22;

/** One of {@link FUSED_KERNELS}' names. */
export type FusedKernelName = (typeof FUSED_KERNELS)[keyof typeof FUSED_KERNELS];
