import * as tf from '@tensorflow/tfjs';
import { batchNorm, sequential } from '@resnet/spec';
import { disposeModel, initModel, weight } from './model.ts';
import { forward } from './forward.ts';
import { useBackend } from './_test_support.ts';

beforeAll(useBackend);

describe('batch norm in training and inference mode', () => {
  const net = sequential('net', [batchNorm('bn', { channels: 3, momentum: 0.1 })]);

  test('training mode normalises each channel with batch statistics and moves the running statistics by momentum', () => {
    const model = initModel(net);
    const x = tf.add(tf.mul(tf.randomNormal([4, 5, 5, 3], 0, 1, 'float32', 11), tf.tensor1d([1, 2, 3])), tf.tensor1d([10, -5, 0]));
    const y = forward(model, x, { training: true });
    const { mean, variance } = tf.moments(y, [0, 1, 2]);
    mean.dataSync().forEach((m) => expect(Math.abs(m)).toBeLessThan(1e-4));
    variance.dataSync().forEach((v) => expect(Math.abs(v - 1)).toBeLessThan(1e-3));

    const batch = tf.moments(x, [0, 1, 2]);
    const n = 4 * 5 * 5;
    const expectedMean = tf.mul(batch.mean, 0.1).dataSync();
    const expectedVar = tf.add(0.9, tf.mul(batch.variance, (0.1 * n) / (n - 1))).dataSync();
    weight(model.state, 'net.bn/running_mean')
      .dataSync()
      .forEach((m, i) => expect(m).toBeCloseTo(expectedMean[i] ?? NaN, 4));
    weight(model.state, 'net.bn/running_var')
      .dataSync()
      .forEach((v, i) => expect(v).toBeCloseTo(expectedVar[i] ?? NaN, 4));
    disposeModel(model);
  });

  test('inference mode uses the running statistics and leaves them unchanged', () => {
    const model = initModel(net);
    weight(model.state, 'net.bn/running_mean').assign(tf.tensor1d([1, 2, 3]));
    weight(model.state, 'net.bn/running_var').assign(tf.tensor1d([4, 4, 4]));
    const x = tf.fill([1, 1, 1, 3], 5);
    const y = forward(model, x, { training: false }).dataSync();
    [4, 3, 2].forEach((d, i) => expect(y[i]).toBeCloseTo(d / Math.sqrt(4 + 1e-5), 5));
    expect(weight(model.state, 'net.bn/running_mean').dataSync()).toEqual(new Float32Array([1, 2, 3]));
    disposeModel(model);
  });
});
