import * as tf from '@tensorflow/tfjs';
import { bottleneck } from '@resnet/variants';
import { disposeModel, initModel } from './model.ts';
import { forward } from './forward.ts';
import { tinyResNet, useBackend } from './_test_support.ts';

beforeAll(useBackend);

test('tf.memory().numTensors stays flat across SGD steps and inference', () => {
  const model = initModel(tinyResNet(bottleneck), { seed: 2 });
  const optimizer = tf.train.momentum(0.05, 0.9);
  const x = tf.randomNormal([4, 8, 8, 1], 0, 1, 'float32', 1);
  const labels = tf.oneHot(tf.tensor1d([0, 1, 2, 3], 'int32'), 10);
  const step = () => {
    const loss = optimizer.minimize(() => tf.losses.softmaxCrossEntropy(labels, forward(model, x, { training: true })) as tf.Scalar, true);
    const value = loss?.dataSync()[0];
    loss?.dispose();
    tf.tidy(() => forward(model, x, { training: false })).dispose();
    return value ?? NaN;
  };
  const first = step(); // the optimizer allocates its momentum slots on the first step
  const counts: number[] = [];
  let last = first;
  for (let i = 0; i < 5; i++) {
    last = step();
    counts.push(tf.memory().numTensors);
  }
  expect(new Set(counts).size).toBe(1);
  expect(last).toBeLessThan(first); // and it learns: the same batch gets easier
  optimizer.dispose();
  tf.dispose([x, labels]);
  disposeModel(model);
});
