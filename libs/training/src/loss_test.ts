import fc from 'fast-check';
import * as tf from '@tensorflow/tfjs';
import { accuracyCount, crossEntropy, crossEntropyWithGradient } from './loss.ts';

const { exp, log } = Math;

beforeAll(async () => {
  await tf.setBackend('cpu');
  // Silence tfjs's one-time "install the node backend" banner.
  (tf.backend() as unknown as { firstUse?: boolean }).firstUse = false;
});

/** log-softmax of one row, on plain numbers. */
function logSoftmaxRow(row: readonly number[]): number[] {
  const top = Math.max(...row);
  const logSum = top + log(row.reduce((s, v) => s + exp(v - top), 0));
  return row.map((v) => v - logSum);
}

/** Runs `fn` on small tensors and returns a scalar's value, freeing everything. */
function scalar(fn: () => tf.Scalar): number {
  const value = tf.tidy(fn);
  const [v = Number.NaN] = value.dataSync();
  value.dispose();
  return v;
}

// Small batches of logits with their labels, built valid: labels in 0..K-1.
const problem = fc.record({ b: fc.integer({ min: 1, max: 4 }), k: fc.integer({ min: 2, max: 5 }) }).chain(({ b, k }) =>
  fc.record({
    k: fc.constant(k),
    logits: fc.array(fc.array(fc.double({ min: -5, max: 5, noNaN: true }), { minLength: k, maxLength: k }), { minLength: b, maxLength: b }),
    labels: fc.array(fc.integer({ min: 0, max: k - 1 }), { minLength: b, maxLength: b }),
  }),
);

describe('crossEntropy', () => {
  test('equals the hand computation on a 2×3 example', () => {
    const logits = [
      [1, 2, 3],
      [0.5, -1, 0],
    ];
    const labels = [2, 0];
    // −log softmax at the label, averaged over the two rows.
    const expected = -((logSoftmaxRow([1, 2, 3])[2] ?? Number.NaN) + (logSoftmaxRow([0.5, -1, 0])[0] ?? Number.NaN)) / 2;
    expect(expected).toBeCloseTo(0.50587, 5);
    expect(scalar(() => crossEntropy(tf.tensor2d(logits), tf.tensor1d(labels, 'int32'), { numClasses: 3, labelSmoothing: 0 }))).toBeCloseTo(
      expected,
      5,
    );
  });

  test('with smoothing ε it equals (1 − ε)·CE + ε·mean(−logSoftmax) for any logits and labels', () => {
    fc.assert(
      fc.property(problem, fc.double({ min: 0, max: 1, noNaN: true }), ({ k, logits, labels }, epsilon) => {
        const rows = logits.map(logSoftmaxRow);
        const ce = -rows.reduce((s, row, i) => s + (row[labels[i] ?? 0] ?? 0), 0) / rows.length;
        const uniform = -rows.reduce((s, row) => s + row.reduce((a, v) => a + v, 0) / k, 0) / rows.length;
        const loss = scalar(() =>
          crossEntropy(tf.tensor2d(logits), tf.tensor1d(labels, 'int32'), { numClasses: k, labelSmoothing: epsilon }),
        );
        expect(loss).toBeCloseTo((1 - epsilon) * ce + epsilon * uniform, 4);
      }),
      { numRuns: 50 },
    );
  });

  test('huge logits (±1e4) give a finite loss, with and without smoothing', () => {
    const logits = [
      [1e4, -1e4, 0],
      [-1e4, -1e4, 1e4],
    ];
    for (const labelSmoothing of [0, 0.1]) {
      const loss = scalar(() => crossEntropy(tf.tensor2d(logits), tf.tensor1d([1, 2], 'int32'), { numClasses: 3, labelSmoothing }));
      expect(Number.isFinite(loss)).toBe(true);
      // Row 1 misses by 2e4 nats, row 2 is right: the mean is about 1e4 without smoothing.
      if (labelSmoothing === 0) expect(loss).toBeCloseTo(1e4, 0);
    }
  });

  test('its gradient with respect to the logits is (softmax − target) / B', () => {
    fc.assert(
      fc.property(problem, fc.constantFrom(0, 0.1), ({ k, logits, labels }, epsilon) => {
        const grad = tf.tidy(() =>
          tf.grad((l: tf.Tensor) =>
            crossEntropy(l as tf.Tensor2D, tf.tensor1d(labels, 'int32'), { numClasses: k, labelSmoothing: epsilon }),
          )(tf.tensor2d(logits)),
        );
        const values = Array.from(grad.dataSync());
        grad.dispose();
        const expected = logits.flatMap((row, i) =>
          logSoftmaxRow(row).map((lp, j) => (exp(lp) - ((j === labels[i] ? 1 - epsilon : 0) + epsilon / k)) / logits.length),
        );
        values.forEach((v, i) => expect(v).toBeCloseTo(expected[i] ?? Number.NaN, 5));
      }),
      { numRuns: 30 },
    );
  });

  test('frees every intermediate tensor', () => {
    const logits = tf.tensor2d([[1, 2]]);
    const labels = tf.tensor1d([1], 'int32');
    const before = tf.memory().numTensors;
    crossEntropy(logits, labels, { numClasses: 2, labelSmoothing: 0.1 }).dispose();
    accuracyCount(logits, labels).dispose();
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([logits, labels]);
  });

  test('a head that does not match numClasses is rejected with the fix', () => {
    expect(() =>
      tf.tidy(() => crossEntropy(tf.zeros([1, 3]) as tf.Tensor2D, tf.tensor1d([0], 'int32'), { numClasses: 10, labelSmoothing: 0 })),
    ).toThrow(/3 classes but numClasses is 10/);
  });
});

describe('crossEntropyWithGradient', () => {
  test('gives crossEntropy’s value and tfjs’s gradient of it for any logits, labels and smoothing', () => {
    fc.assert(
      fc.property(problem, fc.double({ min: 0, max: 1, noNaN: true }), ({ k, logits, labels }, epsilon) => {
        const options = { numClasses: k, labelSmoothing: epsilon };
        const z = tf.tensor2d(logits);
        const y = tf.tensor1d(labels, 'int32');
        const { loss, dlogits } = crossEntropyWithGradient(z, y, options);
        const expected = tf.valueAndGrad((t: tf.Tensor) => crossEntropy(t as tf.Tensor2D, y, options))(z);
        expect(loss.dataSync()[0]).toBeCloseTo(expected.value.dataSync()[0] ?? NaN, 5);
        const [got, want] = [dlogits.dataSync(), expected.grad.dataSync()];
        expect(got.length).toBe(want.length);
        want.forEach((w, i) => expect(got[i]).toBeCloseTo(w, 6));
        tf.dispose([z, y, loss, dlogits, expected.value, expected.grad]);
      }),
    );
  });

  test('refuses a head of the wrong width and a smoothing outside [0, 1], as crossEntropy does', () => {
    const z = tf.zeros([2, 3]) as tf.Tensor2D;
    const y = tf.tensor1d([0, 1], 'int32');
    expect(() => crossEntropyWithGradient(z, y, { numClasses: 10, labelSmoothing: 0 })).toThrow(
      'logits have 3 classes but numClasses is 10',
    );
    expect(() => crossEntropyWithGradient(z, y, { numClasses: 3, labelSmoothing: 1.5 })).toThrow('labelSmoothing must be in [0, 1]');
    tf.dispose([z, y]);
  });
});

describe('accuracyCount', () => {
  test('counts the rows whose largest logit is at the label', () => {
    // Rows of distinct integers, so the argmax is unique and the count does not depend on tie-breaking.
    const ranked = fc.record({ b: fc.integer({ min: 1, max: 6 }), k: fc.integer({ min: 2, max: 5 }) }).chain(({ b, k }) =>
      fc.record({
        logits: fc.array(fc.uniqueArray(fc.integer({ min: -50, max: 50 }), { minLength: k, maxLength: k }), { minLength: b, maxLength: b }),
        labels: fc.array(fc.integer({ min: 0, max: k - 1 }), { minLength: b, maxLength: b }),
      }),
    );
    fc.assert(
      fc.property(ranked, ({ logits, labels }) => {
        const expected = logits.filter((row, i) => row.indexOf(Math.max(...row)) === labels[i]).length;
        expect(scalar(() => accuracyCount(tf.tensor2d(logits), tf.tensor1d(labels, 'int32')))).toBe(expected);
      }),
      { numRuns: 30 },
    );
  });
});
