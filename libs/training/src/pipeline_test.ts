import fc from 'fast-check';
import * as tf from '@tensorflow/tfjs';
import { FASHION_MNIST_MEAN, FASHION_MNIST_STD, type Split } from '@resnet/fashion-mnist';
import {
  augmentImage,
  CROP_PADDING,
  epochOrder,
  IDENTITY,
  makeBatch,
  NO_AUGMENT,
  normalisePixel,
  placements,
  planBatches,
  type Placement,
} from './pipeline.ts';

const SIDE = 28;
const PIXELS = SIDE * SIDE;

beforeAll(async () => {
  await tf.setBackend('cpu');
  // Silence tfjs's one-time "install the node backend" banner.
  (tf.backend() as unknown as { firstUse?: boolean }).firstUse = false;
});

/** Byte-wise equality; compares cheaply and lets jest print the difference only on failure. */
function expectSameBytes(actual: Uint8Array, expected: Uint8Array): void {
  if (actual.length !== expected.length || actual.some((v, i) => v !== expected[i])) {
    expect(Array.from(actual)).toEqual(Array.from(expected));
  }
}

/** A split of the given images (each 784 bytes) with labels i mod 10. */
function splitOf(images: readonly Uint8Array[]): Split {
  const bytes = new Uint8Array(images.length * PIXELS);
  images.forEach((image, i) => bytes.set(image, i * PIXELS));
  return { images: bytes, labels: Uint8Array.from(images, (_, i) => i % 10), count: images.length, height: SIDE, width: SIDE };
}

/** Image `i` of a split: pixel (r, c) is (31·i + 7·r + 3·c) mod 256, so no two neighbours agree. */
function patterned(count: number): Split {
  return splitOf(
    Array.from({ length: count }, (_, i) =>
      Uint8Array.from({ length: PIXELS }, (_, p) => (31 * i + 7 * floorDiv(p, SIDE) + 3 * (p % SIDE)) % 256),
    ),
  );
}

function floorDiv(a: number, b: number): number {
  return Math.floor(a / b);
}

/** Reads a tensor and frees it. */
function take(t: tf.Tensor): Float32Array | Int32Array | Uint8Array {
  const values = t.dataSync() as Float32Array | Int32Array | Uint8Array;
  t.dispose();
  return values;
}

const image = fc.uint8Array({ minLength: PIXELS, maxLength: PIXELS });
const draw = fc.record({ seed: fc.integer(), epoch: fc.nat(1000), step: fc.nat(1000) });
const placement: fc.Arbitrary<Placement> = fc.record({
  dy: fc.integer({ min: -CROP_PADDING, max: CROP_PADDING }),
  dx: fc.integer({ min: -CROP_PADDING, max: CROP_PADDING }),
  flip: fc.boolean(),
});

describe('epochOrder', () => {
  test('is a permutation of 0..count−1 for any count, seed and epoch', () => {
    fc.assert(
      fc.property(fc.nat(300), fc.integer(), fc.nat(10_000), (count, seed, epoch) => {
        const order = epochOrder(count, { seed, epoch, shuffle: true });
        expect(order.length).toBe(count);
        expect(Array.from(order).sort((a, b) => a - b)).toEqual(Array.from({ length: count }, (_, i) => i));
      }),
    );
  });

  test('depends only on (seed, epoch): the same pair gives the same order', () => {
    fc.assert(
      fc.property(fc.nat(300), fc.integer(), fc.nat(10_000), (count, seed, epoch) => {
        expect(epochOrder(count, { seed, epoch, shuffle: true })).toEqual(epochOrder(count, { seed, epoch, shuffle: true }));
      }),
    );
  });

  test('differs across epochs and across seeds once there are at least 10 examples', () => {
    // 10! orders: two independent shuffles agree with probability below 3e-7.
    fc.assert(
      fc.property(
        fc.integer({ min: 10, max: 300 }),
        fc.integer({ min: -1e9, max: 1e9 }),
        fc.nat(10_000),
        fc.integer({ min: 1, max: 1000 }),
        (count, seed, epoch, delta) => {
          const order = epochOrder(count, { seed, epoch, shuffle: true });
          expect(epochOrder(count, { seed, epoch: epoch + delta, shuffle: true })).not.toEqual(order);
          expect(epochOrder(count, { seed: seed + delta, epoch, shuffle: true })).not.toEqual(order);
        },
      ),
    );
  });

  test('is the identity when not shuffled', () => {
    fc.assert(
      fc.property(fc.nat(300), fc.integer(), fc.nat(10_000), (count, seed, epoch) => {
        expect(Array.from(epochOrder(count, { seed, epoch, shuffle: false }))).toEqual(Array.from({ length: count }, (_, i) => i));
      }),
    );
  });

  test('puts each example first about equally often over many epochs', () => {
    const firsts = new Array<number>(5).fill(0);
    for (let epoch = 0; epoch < 5000; epoch++) {
      const first = epochOrder(5, { seed: 7, epoch, shuffle: true })[0] ?? -1;
      firsts[first] = (firsts[first] ?? 0) + 1;
    }
    // Binomial(5000, 1/5): mean 1000, sd 28; ±150 is more than 5 sd.
    for (const n of firsts) expect(Math.abs(n - 1000)).toBeLessThan(150);
  });
});

describe('planBatches', () => {
  const plan = fc.record({
    order: fc.nat(200).map((n) => epochOrder(n, { seed: n, epoch: 0, shuffle: true })),
    batchSize: fc.integer({ min: 1, max: 64 }),
  });

  test('covers every index exactly once, in order, in batches of batchSize except a smaller last one', () => {
    fc.assert(
      fc.property(plan, ({ order, batchSize }) => {
        const batches = planBatches(order, batchSize);
        expect(batches.flatMap((b) => Array.from(b))).toEqual(Array.from(order));
        expect(batches.length).toBe(Math.ceil(order.length / batchSize));
        batches.forEach((b, i) => {
          expect(b.length).toBeGreaterThan(0);
          expect(b.length).toBeLessThanOrEqual(batchSize);
          if (i < batches.length - 1) expect(b.length).toBe(batchSize);
        });
      }),
    );
  });

  test('with dropLast every batch is full and only the trailing order.length mod batchSize indices are left out', () => {
    fc.assert(
      fc.property(plan, ({ order, batchSize }) => {
        const batches = planBatches(order, batchSize, { dropLast: true });
        const kept = Math.floor(order.length / batchSize) * batchSize;
        expect(batches.flatMap((b) => Array.from(b))).toEqual(Array.from(order.subarray(0, kept)));
        batches.forEach((b) => expect(b.length).toBe(batchSize));
      }),
    );
  });

  test('rejects a batch size below 1', () => {
    expect(() => planBatches(Int32Array.of(0, 1), 0)).toThrow('planBatches: batchSize must be an integer ≥ 1, got 0');
  });
});

describe('augmentImage', () => {
  test('crops as torchvision does: pad by 4 black pixels, take the 28×28 window at (4 + dy, 4 + dx), then maybe mirror', () => {
    fc.assert(
      fc.property(image, placement, (pixels, p) => {
        const side = SIDE + 2 * CROP_PADDING;
        const padded = new Uint8Array(side * side);
        for (let r = 0; r < SIDE; r++) padded.set(pixels.subarray(r * SIDE, (r + 1) * SIDE), (r + CROP_PADDING) * side + CROP_PADDING);
        const expected = Uint8Array.from({ length: PIXELS }, (_, i) => {
          const r = floorDiv(i, SIDE);
          const c = p.flip ? SIDE - 1 - (i % SIDE) : i % SIDE;
          return padded[(r + CROP_PADDING + p.dy) * side + c + CROP_PADDING + p.dx] ?? -1;
        });
        expectSameBytes(augmentImage(pixels, { height: SIDE, width: SIDE }, p), expected);
      }),
      { numRuns: 50 },
    );
  });

  test('offset 0 without flip is the identity, and flipping twice is too', () => {
    fc.assert(
      fc.property(image, (pixels) => {
        const size = { height: SIDE, width: SIDE };
        expectSameBytes(augmentImage(pixels, size, IDENTITY), pixels);
        const flip = { dy: 0, dx: 0, flip: true };
        expectSameBytes(augmentImage(augmentImage(pixels, size, flip), size, flip), pixels);
      }),
      { numRuns: 50 },
    );
  });

  test('flip mirrors each row', () => {
    expect(Array.from(augmentImage(Uint8Array.of(1, 2, 3, 4, 5, 6), { height: 2, width: 3 }, { dy: 0, dx: 0, flip: true }))).toEqual([
      3, 2, 1, 6, 5, 4,
    ]);
  });
});

describe('placements', () => {
  test('are reproducible from (seed, epoch, step), stay within the padding, and are the identity when augmentation is off', () => {
    fc.assert(
      fc.property(draw, fc.nat(64), fc.boolean(), fc.boolean(), (at, count, crop, flip) => {
        const drawn = placements(count, { ...at, augment: { crop, flip } });
        expect(placements(count, { ...at, augment: { crop, flip } })).toEqual(drawn);
        expect(drawn.length).toBe(count);
        const reach = crop ? CROP_PADDING : 0;
        expect(drawn.filter((p) => Math.abs(p.dy) > reach || Math.abs(p.dx) > reach || (p.flip && !flip))).toEqual([]);
        // Turning one augmentation off leaves the other's draws alone.
        const both = placements(count, { ...at, augment: { crop: true, flip: true } });
        expect(drawn).toEqual(both.map((p) => ({ dy: crop ? p.dy : 0, dx: crop ? p.dx : 0, flip: flip && p.flip })));
      }),
    );
  });

  test('flip half the images and use every one of the 9×9 crop offsets', () => {
    const drawn = placements(8100, { seed: 3, epoch: 0, step: 0, augment: { crop: true, flip: true } });
    const flips = drawn.filter((p) => p.flip).length;
    // Binomial(8100, 1/2): sd 45; ±300 is over 6 sd.
    expect(Math.abs(flips - 4050)).toBeLessThan(300);
    expect(new Set(drawn.map((p) => `${p.dy},${p.dx}`)).size).toBe(81);
  });

  test('differ from step to step', () => {
    const at = { seed: 1, epoch: 2, augment: { crop: true, flip: true } };
    expect(placements(16, { ...at, step: 0 })).not.toEqual(placements(16, { ...at, step: 1 }));
  });
});

describe('makeBatch', () => {
  test('gives x [B, 28, 28, 1] float32 and y [B] int32 holding the labels of the indices', () => {
    const split = patterned(6);
    const { x, y } = makeBatch(split, Int32Array.of(5, 0, 3), { imageSize: SIDE, augment: NO_AUGMENT, seed: 0, epoch: 0, step: 0 });
    expect([x.shape, x.dtype, y.shape, y.dtype]).toEqual([[3, SIDE, SIDE, 1], 'float32', [3], 'int32']);
    expect(Array.from(take(y))).toEqual([5, 0, 3]);
    x.dispose();
  });

  test('normalises each grey level v to (v / 255 − 0.2860) / 0.3530', () => {
    const pixels = new Uint8Array(PIXELS);
    pixels[3 * SIDE + 5] = 200;
    pixels[0] = 255;
    const { x, y } = makeBatch(splitOf([pixels]), [0], { imageSize: SIDE, augment: NO_AUGMENT, seed: 0, epoch: 0, step: 0 });
    const values = take(x);
    expect(values[3 * SIDE + 5]).toBe(Math.fround((200 / 255 - 0.286) / 0.353));
    expect(values[3 * SIDE + 5]).toBeCloseTo(1.41165, 5);
    expect(values[0]).toBe(Math.fround((1 - FASHION_MNIST_MEAN) / FASHION_MNIST_STD));
    expect(values[1]).toBe(Math.fround(-FASHION_MNIST_MEAN / FASHION_MNIST_STD));
    expect(normalisePixel(200)).toBe(values[3 * SIDE + 5]);
    y.dispose();
  });

  test('resizing to 96 gives [B, 96, 96, 1] and keeps a constant image constant', () => {
    const split = splitOf([new Uint8Array(PIXELS).fill(128), new Uint8Array(PIXELS).fill(9)]);
    const { x, y } = makeBatch(split, [1, 0], { imageSize: 96, augment: NO_AUGMENT, seed: 0, epoch: 0, step: 0 });
    expect(x.shape).toEqual([2, 96, 96, 1]);
    const values = take(x);
    expect(values.subarray(0, 96 * 96).every((v) => Math.abs(v - normalisePixel(9)) < 1e-5)).toBe(true);
    expect(values.subarray(96 * 96).every((v) => Math.abs(v - normalisePixel(128)) < 1e-5)).toBe(true);
    y.dispose();
  });

  test('each augmented image is its placement applied to the uint8 image, then normalised; padding reads as normalised black', () => {
    fc.assert(
      fc.property(fc.array(image, { minLength: 1, maxLength: 3 }), draw, fc.boolean(), fc.boolean(), (images, at, crop, flip) => {
        const split = splitOf(images);
        const indices = Array.from({ length: images.length }, (_, i) => images.length - 1 - i);
        const options = { ...at, imageSize: SIDE, augment: { crop, flip } };
        const { x, y } = makeBatch(split, indices, options);
        y.dispose();
        const values = take(x);
        placements(indices.length, options).forEach((p, b) => {
          const source = images[indices[b] ?? -1] ?? new Uint8Array(0);
          const expected = Array.from(augmentImage(source, split, p), normalisePixel);
          expect(Array.from(values.subarray(b * PIXELS, (b + 1) * PIXELS))).toEqual(expected);
        });
      }),
      { numRuns: 30 },
    );
  });

  test('a cropped image holds only values of the image or of black padding', () => {
    fc.assert(
      fc.property(image, draw, (pixels, at) => {
        const { x, y } = makeBatch(splitOf([pixels]), [0], { ...at, imageSize: SIDE, augment: { crop: true, flip: true } });
        y.dispose();
        const allowed = new Set([...Array.from(pixels, normalisePixel), normalisePixel(0)]);
        expect(Array.from(take(x)).every((v) => allowed.has(v))).toBe(true);
      }),
      { numRuns: 30 },
    );
  });

  test('the same (seed, epoch, step) gives identical batches; another step gives other augmentations', () => {
    const split = patterned(8);
    const indices = Int32Array.of(0, 1, 2, 3, 4, 5, 6, 7);
    const options = { imageSize: SIDE, augment: { crop: true, flip: true }, seed: 11, epoch: 3, step: 2 };
    const [a, b, c] = [options, options, { ...options, step: 3 }].map((o) => {
      const { x, y } = makeBatch(split, indices, o);
      y.dispose();
      return Array.from(take(x));
    });
    expect(a).toEqual(b);
    expect(a).not.toEqual(c);
  });

  test('leaves no tensor behind but x and y, with or without resize and augmentation', () => {
    const split = patterned(3);
    for (const imageSize of [SIDE, 40]) {
      const before = tf.memory().numTensors;
      const { x, y } = makeBatch(split, [2, 1], { imageSize, augment: { crop: true, flip: true }, seed: 1, epoch: 0, step: 0 });
      expect(tf.memory().numTensors).toBe(before + 2);
      tf.dispose([x, y]);
      expect(tf.memory().numTensors).toBe(before);
    }
  });

  test('rejects an index outside the split, naming it', () => {
    expect(() => makeBatch(patterned(2), [0, 2], { imageSize: SIDE, augment: NO_AUGMENT, seed: 0, epoch: 0, step: 0 })).toThrow(
      "makeBatch: index 2 at position 1 is outside the split's 2 examples",
    );
  });
});
