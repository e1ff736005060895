/**
 * The classification loss and the accuracy count, as tfjs ops (differentiable where
 * it matters). Call inside `tf.tidy` or an optimizer step; each returns one scalar.
 */
import * as tf from '@tensorflow/tfjs';

/** Options of {@link crossEntropy}. */
export interface CrossEntropyOptions {
  /** K, the width of the logits. */
  readonly numClasses: number;
  /** ε in [0, 1]: the target is (1 − ε)·onehot + ε/K, as PyTorch's `label_smoothing`. */
  readonly labelSmoothing: number;
}

/**
 * Mean softmax cross-entropy of `logits` `[B, K]` against integer `labels` `[B]`, with
 * label smoothing as in PyTorch's `nn.CrossEntropyLoss(label_smoothing=ε)`. Computed
 * through `logSoftmax`, so it stays finite for logits of any magnitude.
 * @example
 * const loss = crossEntropy(logits, y, { numClasses: 10, labelSmoothing: 0.1 }); // tf.Scalar
 */
export function crossEntropy(logits: tf.Tensor2D, labels: tf.Tensor1D, options: CrossEntropyOptions): tf.Scalar {
  const { numClasses, labelSmoothing: epsilon } = options;
  checkArguments(logits, options);
  return tf.tidy(() => {
    const logProbs = tf.logSoftmax(logits);
    const target = tf.oneHot(labels, numClasses, 1 - epsilon + epsilon / numClasses, epsilon / numClasses, 'float32');
    return tf.neg(tf.mean(tf.sum(tf.mul(target, logProbs), 1))) as tf.Scalar;
  });
}

/**
 * {@link crossEntropy} and its gradient with respect to the logits, `(softmax(z) − target)/B`
 * (the target's rows sum to 1), in one pass: the loss head of `modelGradients`.
 * @example
 * const { loss, dlogits } = crossEntropyWithGradient(logits, y, { numClasses: 10, labelSmoothing: 0 });
 */
export function crossEntropyWithGradient(
  logits: tf.Tensor2D,
  labels: tf.Tensor1D,
  options: CrossEntropyOptions,
): { readonly loss: tf.Scalar; readonly dlogits: tf.Tensor2D } {
  const { numClasses, labelSmoothing: epsilon } = options;
  checkArguments(logits, options);
  const [loss, dlogits] = tf.tidy(() => {
    const logProbs = tf.logSoftmax(logits);
    const target = tf.oneHot(labels, numClasses, 1 - epsilon + epsilon / numClasses, epsilon / numClasses, 'float32');
    return [
      tf.neg(tf.mean(tf.sum(tf.mul(target, logProbs), 1))) as tf.Scalar,
      tf.div(tf.sub(tf.exp(logProbs), target), logits.shape[0]) as tf.Tensor2D,
    ];
  });
  return { loss, dlogits };
}

/**
 * How many rows of `logits` `[B, K]` have their largest value at the row's label (int32 scalar).
 * @example accuracyCount(tf.tensor2d([[2, 1], [0, 3]]), tf.tensor1d([0, 0], 'int32')) // 1
 */
export function accuracyCount(logits: tf.Tensor2D, labels: tf.Tensor1D): tf.Scalar {
  return tf.tidy(() => tf.sum(tf.cast(tf.equal(tf.argMax(logits, 1), tf.cast(labels, 'int32')), 'int32')));
}

// What both losses refuse: a head of the wrong width, a smoothing outside [0, 1].
function checkArguments(logits: tf.Tensor2D, { numClasses, labelSmoothing: epsilon }: CrossEntropyOptions): void {
  if (logits.shape[1] !== numClasses)
    throw new Error(
      `crossEntropy: logits have ${logits.shape[1]} classes but numClasses is ${numClasses}; the model's head must match the dataset`,
    );
  if (!(epsilon >= 0 && epsilon <= 1)) throw new RangeError(`crossEntropy: labelSmoothing must be in [0, 1], got ${epsilon}`);
}
