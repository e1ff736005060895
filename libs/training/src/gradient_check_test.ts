// The gradients training uses, element by element, on the onednn backend with its fused
// kernels (batch norm forward and backward, the ReLU gradient, the residual add + ReLU) at
// 20–96 channels, where oneDNN uses its blocked layouts: each checked against float64 central
// differences of a second interpreter of the spec (checkGradients, @resnet/tfjs/testing).
import * as tf from '@tensorflow/tfjs';
import { FUSED_KERNELS } from '@resnet/kernels';
import { registerOnednn } from '@resnet/onednn';
import { batchNorm, conv2d, dense, globalAvgPool, relu, sequential, type Layer } from '@resnet/spec';
import { disposeModel, forward, initModel, modelGradients, type Model } from '@resnet/tfjs';
import { checkGradients, gradientFailures, gradientSummary } from '@resnet/tfjs/testing';
import { basicBlock, bottleneckBlock } from '@resnet/variants';
import { tinyNet } from './_test_support.ts';

const status = registerOnednn();
const describeOnednn = status.ok ? describe : process.env['CI'] === 'true' ? describe : describe.skip;
if (!status.ok) console.warn(`[onednn] ${process.env['CI'] === 'true' ? 'REQUIRED' : 'SKIPPED'}: ${status.reason}`);

function head(channels: number): Layer {
  return sequential('head', [globalAvgPool('pool'), dense('fc', { inFeatures: channels, outFeatures: 10 })]);
}

/** Stem 3×3 (3 → 24), a basic block on the identity shortcut, one 24 → 32 with stride 2 and a projection. */
function wideBasic(): Layer {
  return sequential('wide_basic', [
    sequential('conv1', [
      conv2d('conv', { inChannels: 3, outChannels: 24, kernel: 3, padding: 1 }),
      batchNorm('bn', { channels: 24 }),
      relu('relu'),
    ]),
    basicBlock('block1', { inChannels: 24, width: 24, stride: 1 }),
    basicBlock('block2', { inChannels: 24, width: 32, stride: 2 }),
    head(32),
  ]);
}

/** One bottleneck block on the input (24 → 24 → 24 → 96, stride 2, projection shortcut): v1 strides its first 1×1, v1.5 its 3×3. */
function wideBottleneck(strideOn: '1x1' | '3x3'): Layer {
  return sequential(`wide_bottleneck_${strideOn}`, [
    bottleneckBlock('block', { inChannels: 24, width: 24, stride: 2 }, strideOn),
    head(96),
  ]);
}

/** Batch-norm scales and offsets away from their initial 1 and 0 (seeded), so no gradient is special by symmetry. */
function spreadNorms(model: Model): void {
  [...model.params].forEach(([key, v], i) => {
    if (v.rank !== 1 || key.includes('.head.')) return;
    const drawn = tf.randomNormal(v.shape, 0, 0.3, 'float32', 100 + i);
    v.assign(tf.tidy(() => (key.endsWith('/weight') ? tf.add(drawn, 1) : drawn)));
    drawn.dispose();
  });
}

// name, net, input shape, how many input coordinates the loss must not depend on (checked to have gradient 0)
const CASES: readonly (readonly [string, () => Layer, readonly [number, number, number, number], 'none' | 'some'])[] = [
  ['basic blocks (stem 3 → 24, identity and projection shortcuts, 32 channels)', wideBasic, [3, 8, 8, 3], 'none'],
  // v1's stride-2 1×1s (main path and shortcut) read one input pixel in four: the others' gradient must be 0.
  ['a bottleneck v1 block (24 → 96, stride on the first 1×1)', () => wideBottleneck('1x1'), [3, 8, 8, 24], 'some'],
  ['a bottleneck v1.5 block (24 → 96, stride on the 3×3)', () => wideBottleneck('3x3'), [3, 8, 8, 24], 'none'],
  ['the tiny ResNet (4 and 8 channels, 7×7 stem, max pool)', tinyNet, [4, 28, 28, 1], 'none'],
];

describeOnednn('gradients on onednn with the fused kernels, element by element against float64 central differences', () => {
  test.each(CASES)(
    '%s: 24 coordinates of every parameter and of the input, from the tape and from the interpreter’s backward pass',
    async (name, net, shape, inputZeros) => {
      await tf.setBackend('onednn');
      const model = initModel(net(), { seed: 5 });
      spreadNorms(model);
      const x = tf.randomNormal([...shape], 0, 1, 'float32', 11) as tf.Tensor4D;
      const labels = Array.from({ length: shape[0] }, (_, i) => (3 * i) % 10);
      // Both gradient passes really run the fused kernels.
      const sum = (z: tf.Tensor2D) => ({ loss: tf.sum(z) as tf.Scalar, dlogits: tf.onesLike(z) });
      for (const pass of [
        () => tf.dispose(tf.variableGrads(() => tf.sum(forward(model, x, { training: true })), [...model.params.values()]).grads),
        () => {
          const r = modelGradients(model, x, sum);
          tf.dispose([r.loss, r.logits, ...r.grads.values()]);
        },
      ]) {
        const kernels = new Set((await tf.profile(pass)).kernels.map((k) => k.name));
        const fused = [FUSED_KERNELS.reluGrad, FUSED_KERNELS.addRelu, FUSED_KERNELS.batchNormTrain, FUSED_KERNELS.batchNormGrad];
        expect(fused.filter((k) => !kernels.has(k))).toEqual([]);
      }
      const before = tf.memory().numTensors;
      const report = checkGradients(model, x, { labels, coordinates: 24, seed: 3 });
      console.log(`${name}: ${gradientSummary(report)}`);
      expect(gradientFailures(report)).toEqual([]);
      expect(report.tensors.length).toBe(2 * model.params.size + 1);
      const input = report.tensors.find((t) => t.key === 'input');
      expect(input !== undefined && input.zeros > 0 ? 'some' : 'none').toBe(inputZeros);
      expect(tf.memory().numTensors).toBe(before);
      tf.dispose(x);
      disposeModel(model);
    },
  );
});
