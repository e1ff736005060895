// The memory estimate (libs/tfjs/src/memory.ts) against tfjs's own count of real training
// steps: the replay of the training pass must find the peak the step really reaches.
import * as E from 'fp-ts/Either';
import * as tf from '@tensorflow/tfjs';
import { registerOnednn } from '@resnet/onednn';
import { disposeModel, estimateStepMemory, initModel, largestBatch } from '@resnet/tfjs';
import { resnet } from '@resnet/variants';
import { createSgdState, disposeSgdState } from './sgd.ts';
import { trainStep } from './loop.ts';

const status = registerOnednn();
const describeOnednn = status.ok ? describe : process.env['CI'] === 'true' ? describe : describe.skip;

function net(depth: number) {
  const spec = resnet(depth, { version: 'v1.5', inChannels: 1, classes: 10 });
  if (E.isLeft(spec)) throw new Error(spec.left.message);
  return spec.right.net;
}

describeOnednn('estimateStepMemory', () => {
  test.each([
    [18, 32, 8],
    [50, 32, 8],
    [34, 64, 4],
  ])(
    'ResNet-%i at %i px square, batch %i: the estimated tensor peak is within 3% of tfjs’s count over a real step',
    async (depth, size, batch) => {
      await tf.setBackend('onednn');
      const spec = net(depth);
      const model = initModel(spec, { seed: 1 });
      const sgd = createSgdState(model.params);
      const x = tf.randomNormal([batch, size, size, 1], 0, 1, 'float32', 3) as tf.Tensor4D;
      const y = tf.tensor1d(
        Array.from({ length: batch }, (_, i) => i % 10),
        'int32',
      );
      const step = () => {
        const r = trainStep({
          model,
          sgd,
          x,
          y,
          lr: 0.1,
          options: { sgd: { momentum: 0.9, nesterov: true, weightDecay: 5e-4 }, classes: 10, labelSmoothing: 0 },
        });
        tf.dispose([r.loss, r.correct]);
      };
      step(); // velocities and primitives exist from the second step on, as in training
      const measured = (await tf.profile(step)).peakBytes; // a number: tf.profile's object is shared
      const estimate = estimateStepMemory(spec, [batch, size, size, 1]);
      if (E.isLeft(estimate)) throw new Error(estimate.left.message);
      expect(estimate.right.modelBytes).toBe(tf.memory().numBytes - x.size * 4 - y.size * 4);
      console.log(
        `ResNet-${depth} ${size} px batch ${batch}: estimated tensor peak ${(estimate.right.peakTensorBytes / 1e6).toFixed(2)} MB, tfjs counted ${(measured / 1e6).toFixed(2)} MB`,
      );
      expect(Math.abs(estimate.right.peakTensorBytes - measured) / measured).toBeLessThan(0.03);
      tf.dispose([x, y]);
      disposeSgdState(sgd);
      disposeModel(model);
    },
    120_000,
  );
});

describe('largestBatch', () => {
  test('is the largest batch whose estimate fits: one more does not', () => {
    const spec = net(50);
    const input = [512, 96, 96, 1];
    const budget = 6e9;
    const b = largestBatch(spec, input, budget);
    const at = (n: number) => {
      const m = estimateStepMemory(spec, [n, 96, 96, 1]);
      return E.isRight(m) ? m.right.peakRssBytes : NaN;
    };
    expect(b).toBeGreaterThan(0);
    expect(b).toBeLessThan(512);
    expect(at(b)).toBeLessThanOrEqual(budget);
    expect(at(b + 1)).toBeGreaterThan(budget);
    expect(largestBatch(spec, input, 1e6)).toBe(0);
    expect(largestBatch(spec, [16, 28, 28, 1], 1e12)).toBe(16);
  });

  test('the estimate grows with batch and depth, and an invalid input is a SpecError', () => {
    const m = (depth: number, batch: number) => {
      const r = estimateStepMemory(net(depth), [batch, 28, 28, 1]);
      return E.isRight(r) ? r.right.peakTensorBytes : NaN;
    };
    expect(m(18, 256)).toBeGreaterThan(m(18, 128));
    expect(m(152, 128)).toBeGreaterThan(m(50, 128));
    expect(E.isLeft(estimateStepMemory(net(18), [0, 28, 28, 1]))).toBe(true);
  });
});
