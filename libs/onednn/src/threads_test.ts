// Thread counts do not change a number: the fused batch norm (forward and backward), the
// multi-tensor SGD (clipped: gradScale) and the sum of squares on shapes large enough to be split
// across threads (16×8×8×256 activations, 400k parameters; the native code splits from 32,768
// elements) give bit-identical results at 1, 2 and 4 OpenMP threads. The native code sums
// per-thread partials in double and combines them in thread order (native/fused.cc
// ChannelSums), the sum of squares adds fixed 32,768-element blocks' sums in block order; the
// SGD update is elementwise.
import * as tf from '@tensorflow/tfjs';
import { FUSED_KERNELS } from '@resnet/kernels';
import { configureOnednn } from './diagnostics.ts';
import { describeOnednn, randomValues, status } from './_testing.ts';

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
    const results = new Map<number, Float32Array[]>();
    try {
      for (const threads of [1, 2, 4]) {
        configureOnednn({ threads });
        results.set(
          threads,
          tf.tidy(() => {
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
          }),
        );
      }
    } finally {
      // Back to what the suite runs with (jest.config.cjs: OMP_NUM_THREADS, default 1).
      configureOnednn({ threads: status.ok ? status.info.threads : 1 });
      tf.dispose([x, dy, scale, offset, p, g, v]);
    }
    const names = ['y', 'mean', 'variance', 'dx', 'dscale', 'doffset', 'param', 'velocity', 'sumSquares'];
    const one = results.get(1) ?? [];
    for (const threads of [2, 4]) {
      const differing = (results.get(threads) ?? []).flatMap((a, i) =>
        Buffer.from(a.buffer).equals(Buffer.from((one[i] ?? new Float32Array()).buffer)) ? [] : [names[i]],
      );
      expect({ threads, differing }).toEqual({ threads, differing: [] });
    }
  }, 120_000);
});
