// Thread counts do not change a number: the fused batch norm (forward and backward), the
// multi-tensor SGD (clipped: gradScale) and the sum of squares on shapes large enough to be split
// across threads (16×8×8×256 activations, 400k parameters; the native code splits from 32,768
// elements) give bit-identical results at 1, 2 and 4 OpenMP threads. The native code sums
// per-thread partials in double and combines them in thread order (native/fused.cc
// ChannelSums), the sum of squares adds fixed 32,768-element blocks' sums in block order; the
// SGD update is elementwise. So do the convolutions whose own loops native/gemm_conv.cc splits (below).
import * as tf from '@tensorflow/tfjs';
import { FUSED_KERNELS } from '@resnet/kernels';
import { configureOnednn } from './diagnostics.ts';
import { describeOnednn, randomValues, status } from './_testing.ts';

/** Runs `compute` (inside tf.tidy) at 1, 2 and 4 OpenMP threads and expects the same bits from each; `names` name its arrays. */
function expectSameBitsAtThreadCounts(names: readonly string[], compute: () => Float32Array[]): void {
  const results = new Map<number, Float32Array[]>();
  try {
    for (const threads of [1, 2, 4]) {
      configureOnednn({ threads });
      results.set(threads, tf.tidy(compute));
    }
  } finally {
    // Back to what the suite runs with (jest.config.cjs: OMP_NUM_THREADS, default 1).
    configureOnednn({ threads: status.ok ? status.info.threads : 1 });
  }
  const one = results.get(1) ?? [];
  for (const threads of [2, 4]) {
    const differing = (results.get(threads) ?? []).flatMap((a, i) =>
      Buffer.from(a.buffer).equals(Buffer.from((one[i] ?? new Float32Array()).buffer)) ? [] : [names[i]],
    );
    expect({ threads, differing }).toEqual({ threads, differing: [] });
  }
}

describeOnednn('threads', () => {
  test('batch norm forward and backward, the multi-tensor SGD with a gradient scale and the sum of squares give the same bits at 1, 2 and 4 threads', async () => {
    await tf.setBackend('onednn');
    const shape = [16, 8, 8, 256];
    const n = shape.reduce((a, b) => a * b, 1);
    // Per-channel means away from 0 (as after a convolution): where summation order shows.
    const x = tf.tensor(
      randomValues(n, 1).map((v, i) => v + (i % 256) / 64),
      shape,
    );
    const dy = tf.tensor(randomValues(n, 2), shape);
    const [scale, offset] = [tf.tensor(randomValues(256, 3)), tf.tensor(randomValues(256, 4))];
    const [p, g, v] = [tf.tensor(randomValues(400_000, 5)), tf.tensor(randomValues(400_000, 6)), tf.tensor(randomValues(400_000, 7))];
    try {
      const names = ['y', 'mean', 'variance', 'dx', 'dscale', 'doffset', 'param', 'velocity', 'sumSquares'];
      expectSameBitsAtThreadCounts(names, () => {
        const out = tf.engine().runKernel(FUSED_KERNELS.batchNormTrain, { x, scale, offset }, { epsilon: 1e-5 }) as tf.Tensor[];
        const [, mean, variance] = out as [tf.Tensor, tf.Tensor, tf.Tensor];
        const grads = tf
          .engine()
          .runKernel(FUSED_KERNELS.batchNormGrad, { dy, x, scale, mean, variance }, { epsilon: 1e-5 }) as tf.Tensor[];
        const sgd = tf
          .engine()
          .runKernel(
            FUSED_KERNELS.sgdMomentumMulti,
            { p0: p, g0: g, v0: v },
            { lr: 0.1, momentum: 0.9, nesterov: true, weightDecays: [5e-4], gradScale: 0.37 },
          ) as tf.Tensor[];
        // Σ g² + Σ x²: 13 + 32 blocks; its float64 as two int32 words, read as two float32s' bits.
        const words = tf.engine().runKernel(FUSED_KERNELS.sumSquares, { x0: g, x1: x }) as tf.Tensor;
        const sumSquares = new Float32Array(Int32Array.from(words.dataSync()).buffer);
        return [...[...out, ...grads, ...sgd].map((t) => t.dataSync() as Float32Array), sumSquares];
      });
    } finally {
      tf.dispose([x, dy, scale, offset, p, g, v]);
    }
  }, 120_000);
});

describeOnednn('threads, convolutions on the GEMM path', () => {
  // native/gemm_conv.cc splits its own loops across threads by input channel (building the
  // unrolled matrix U, folding dU into the filter gradient) and by filter row (the taps a tiny
  // map never reads, zeroed): every element is written by one thread, in the order one thread
  // would, so the bits cannot depend on the thread count.
  test.each([
    ['3×3 128→128 on 2×2 maps (the unrolled U)', [8, 2, 2, 128], 128, 1],
    ['3×3 128→128 on 1×1 maps (one tap of nine)', [8, 1, 1, 128], 128, 1],
    ['3×3/2 128→128 from 2×2 to 1×1 (four taps)', [8, 2, 2, 128], 128, 2],
  ] as const)(
    '%s: forward, backward data and the filter gradient give the same bits at 1, 2 and 4 threads',
    async (_, shape, outC, stride) => {
      await tf.setBackend('onednn');
      const x = tf.tensor(
        randomValues(
          shape.reduce<number>((a, b) => a * b, 1),
          11,
        ),
        [...shape],
      ) as tf.Tensor4D;
      const w = tf.tensor(randomValues(9 * shape[3] * outC, 12), [3, 3, shape[3], outC]) as tf.Tensor4D;
      try {
        expectSameBitsAtThreadCounts(['y', 'dx', 'dw'], () => {
          const y = tf.conv2d(x, w, stride, 'same');
          const dy = tf.tensor(randomValues(y.size, 13), y.shape) as tf.Tensor4D;
          const dx = tf.conv2dTranspose(dy, w, x.shape, stride, 'same');
          const dw = tf.grad((f: tf.Tensor) => tf.sum(tf.mul(tf.conv2d(x, f as tf.Tensor4D, stride, 'same'), dy)))(w);
          return [y, dx, dw].map((t) => t.dataSync() as Float32Array);
        });
      } finally {
        tf.dispose([x, w]);
      }
    },
    120_000,
  );
});
