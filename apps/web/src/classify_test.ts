import fc from 'fast-check';
import { FASHION_MNIST_MEAN, FASHION_MNIST_STD } from '@resnet/fashion-mnist';
import { normalisePixel } from '@resnet/training';
import { normalise, softmax, topK, toFashionMnist } from './classify.ts';

describe('classifier arithmetic', () => {
  test('normalisation equals the training pipeline’s for every grey level', () => {
    const levels = Uint8Array.from({ length: 256 }, (_, v) => v);
    const ours = normalise(levels, { mean: FASHION_MNIST_MEAN, std: FASHION_MNIST_STD });
    expect(Array.from(ours)).toEqual(Array.from(levels, (v) => Math.fround(normalisePixel(v))));
  });

  test('softmax is a probability distribution that keeps the order of the logits', () => {
    fc.assert(
      // Logits on a grid of 1/8: distinct logits have distinct exponentials.
      fc.property(
        fc.array(
          fc.integer({ min: -400, max: 400 }).map((n) => n / 8),
          { minLength: 1, maxLength: 12 },
        ),
        (logits) => {
          const p = softmax(logits);
          expect(p.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 9);
          const best = topK(p, 1)[0]?.index ?? -1;
          expect(logits[best]).toBe(Math.max(...logits));
        },
      ),
      { numRuns: 100 },
    );
  });

  test('top-k lists the k most probable classes, most probable first', () => {
    expect(topK([0.1, 0.6, 0.3], 2)).toEqual([
      { index: 1, p: 0.6 },
      { index: 2, p: 0.3 },
    ]);
  });

  test('a drawing is box-averaged to 28×28 and inverted: black ink becomes a bright pixel', () => {
    const side = 56;
    const rgba = new Uint8Array(side * side * 4).fill(255);
    // Ink the top-left 2×2 source pixels: exactly output pixel (0, 0).
    for (const [x, y] of [
      [0, 0],
      [1, 0],
      [0, 1],
      [1, 1],
    ] as const)
      rgba.fill(0, (y * side + x) * 4, (y * side + x) * 4 + 3);
    const image = toFashionMnist(rgba, side);
    expect(image.length).toBe(784);
    expect(image[0]).toBe(255);
    expect(image.slice(1).every((v) => v === 0)).toBe(true);
  });
});
