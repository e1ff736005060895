import fc from 'fast-check';
import * as E from 'fp-ts/Either';
import type { IdxArray } from './idx.ts';
import { CLASS_NAMES, IMAGE_SIZE, toSplit } from './split.ts';

const FILES = { images: 'f/t10k-images-idx3-ubyte.gz', labels: 'f/t10k-labels-idx1-ubyte.gz' };
const PIXELS = IMAGE_SIZE * IMAGE_SIZE;

function images(count: number, rows = IMAGE_SIZE, cols = IMAGE_SIZE): IdxArray {
  return { kind: 'images', dims: [count, rows, cols], data: new Uint8Array(count * rows * cols) };
}
function labels(values: readonly number[]): IdxArray {
  return { kind: 'labels', dims: [values.length], data: Uint8Array.from(values) };
}
function message(result: E.Either<{ message: string }, unknown>): string {
  if (E.isRight(result)) throw new Error('expected a Left, got a Right');
  return result.left.message;
}

describe('dataset split', () => {
  test('the ten class names are Fashion-MNIST’s, in label order', () => {
    expect(CLASS_NAMES).toEqual(['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot']);
  });

  test('28×28 images with as many labels in 0..9 make a split holding the same bytes', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 8 }).chain((count) =>
          fc.record({
            pixels: fc.uint8Array({ minLength: count * PIXELS, maxLength: count * PIXELS }),
            labels: fc.array(fc.integer({ min: 0, max: 9 }), { minLength: count, maxLength: count }),
          }),
        ),
        ({ pixels, labels: values }) => {
          const count = values.length;
          const split = toSplit({ kind: 'images', dims: [count, IMAGE_SIZE, IMAGE_SIZE], data: pixels }, labels(values), FILES);
          expect(split).toEqual(E.right({ images: pixels, labels: Uint8Array.from(values), count, height: IMAGE_SIZE, width: IMAGE_SIZE }));
        },
      ),
      { numRuns: 50 },
    );
  });

  test('different image and label counts are rejected, naming both files', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 20 }), fc.integer({ min: 1, max: 19 }), (n, k) => {
        const m = k >= n ? k + 1 : k; // any count but n
        expect(message(toSplit(images(n), labels(Array.from({ length: m }, () => 0)), FILES))).toBe(
          `${FILES.images}: holds ${n} images but ${FILES.labels} holds ${m} labels; the two files must come from the same split`,
        );
      }),
    );
  });

  test('a label outside 0..9 is rejected with its value and index', () => {
    fc.assert(
      fc.property(fc.integer({ min: 10, max: 255 }), fc.integer({ min: 0, max: 4 }), (bad, at) => {
        const values = [0, 1, 2, 3, 4].map((v, i) => (i === at ? bad : v));
        expect(message(toSplit(images(5), labels(values), FILES))).toBe(
          `${FILES.labels}: label ${bad} at index ${at} is out of range: Fashion-MNIST labels are 0..9`,
        );
      }),
    );
  });

  test('images that are not 28×28 are rejected with their size', () => {
    expect(message(toSplit(images(2, 27, 28), labels([0, 1]), FILES))).toBe(
      `${FILES.images}: images are 27×28, expected 28×28 (Fashion-MNIST)`,
    );
    expect(message(toSplit(images(2, 28, 32), labels([0, 1]), FILES))).toContain('images are 28×32');
  });

  test('images and labels swapped are rejected, naming the file', () => {
    expect(message(toSplit(labels([0]), labels([0]), FILES))).toContain(`${FILES.images}: expected an images array`);
    expect(message(toSplit(images(1), images(1), FILES))).toContain(`${FILES.labels}: expected a labels array`);
  });
});
