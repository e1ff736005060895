/**
 * The classifier's arithmetic, shared by the page and its tests: the training pipeline's
 * normalisation, softmax over the model's logits, and the top-k classes. Pure.
 */

/**
 * An image's grey levels as the model's input: `(grey / 255 - mean) / std`, row-major (NHWC, one channel).
 * @example normalise(Uint8Array.of(0, 255), { mean: 0.286, std: 0.353 }) // Float32Array [-0.810…, 2.022…]
 */
export function normalise(grey: ArrayLike<number>, stats: { readonly mean: number; readonly std: number }): Float32Array {
  // Same float32 arithmetic order as the pipeline's table: v / 255 - mean, then / std.
  return Float32Array.from({ length: grey.length }, (_, i) => ((grey[i] ?? 0) / 255 - stats.mean) / stats.std);
}

/**
 * Softmax of logits, computed stably (shifted by the maximum).
 * @example softmax([0, 0]) // [0.5, 0.5]
 */
export function softmax(logits: ArrayLike<number>): number[] {
  const xs = Array.from(logits);
  const max = Math.max(...xs);
  const exps = xs.map((x) => Math.exp(x - max));
  const sum = exps.reduce((a, b) => a + b, 0);
  return exps.map((e) => e / sum);
}

/**
 * The `k` most probable classes, most probable first (ties: lower class index first).
 * @example topK([0.1, 0.7, 0.2], 2) // [{ index: 1, p: 0.7 }, { index: 2, p: 0.2 }]
 */
export function topK(probabilities: readonly number[], k: number): { readonly index: number; readonly p: number }[] {
  return probabilities
    .map((p, index) => ({ index, p }))
    .sort((a, b) => b.p - a.p || a.index - b.index)
    .slice(0, k);
}

/**
 * A drawing on the page's canvas (RGBA, any square size, black strokes on white) as a
 * 28×28 Fashion-MNIST image (light object on black): box-averaged and inverted.
 * @example toFashionMnist(rgba, 280) // Uint8Array(784)
 */
export function toFashionMnist(rgba: ArrayLike<number>, side: number, size = 28): Uint8Array {
  const out = new Uint8Array(size * size);
  const cell = side / size;
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      let sum = 0;
      let n = 0;
      for (let sy = Math.floor(y * cell); sy < Math.floor((y + 1) * cell); sy++) {
        for (let sx = Math.floor(x * cell); sx < Math.floor((x + 1) * cell); sx++) {
          sum += rgba[(sy * side + sx) * 4] ?? 255;
          n++;
        }
      }
      out[y * size + x] = 255 - Math.round(n === 0 ? 255 : sum / n);
    }
  }
  return out;
}
