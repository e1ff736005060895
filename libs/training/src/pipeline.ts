/**
 * The input pipeline: a per-epoch order, batches of indices, and batches of tensors
 * built from a Fashion-MNIST split's raw bytes (normalise, augment, resize).
 * All randomness is derived from (seed, epoch[, step]), so a resumed run sees the
 * same orders and augmentations without saving any RNG state.
 */
import * as tf from '@tensorflow/tfjs';
import { FASHION_MNIST_MEAN, FASHION_MNIST_STD, type Split } from '@resnet/fashion-mnist';
import { mulberry32 } from '@resnet/tfjs';
import { hashSeed } from './_rng.ts';

// Module-level bindings: global `Math` lookups are many times slower in a vm context (jest).
const { floor, min } = Math;

/** Zero padding of the random crop, in pixels on every side (the CIFAR recipe of He et al. 2016). */
export const CROP_PADDING = 4;

// Distinct stream tags keep the order and the augmentation draws independent.
const ORDER_STREAM = 0x0de5;
const AUGMENT_STREAM = 0xa06e;

// Grey level → normalised float32 value: one table lookup per pixel instead of arithmetic.
const NORMALISED = Float32Array.from({ length: 256 }, (_, v) => (v / 255 - FASHION_MNIST_MEAN) / FASHION_MNIST_STD);

/**
 * The normalised value of a grey level 0..255, `(v / 255 − mean) / std`, as stored in a batch (float32).
 * @example normalisePixel(0) // -0.8101983…  (the crop's zero padding)
 */
export function normalisePixel(grey: number): number {
  return NORMALISED[grey] ?? Number.NaN;
}

/** Where an epoch's randomness comes from. */
export interface OrderOptions {
  /** The run's seed (an integer). */
  readonly seed: number;
  /** 0-based epoch (an integer). */
  readonly epoch: number;
  /** `false`: the identity order (evaluation). */
  readonly shuffle: boolean;
}

/**
 * The order in which an epoch visits examples `0..count − 1`: a Fisher–Yates shuffle
 * seeded by (seed, epoch) only, or the identity when `shuffle` is false.
 * @example epochOrder(5, { seed: 1, epoch: 0, shuffle: true }) // Int32Array [3, 0, 4, 1, 2] (say)
 */
export function epochOrder(count: number, options: OrderOptions): Int32Array {
  requireInteger('epochOrder', 'count', count, 0);
  const order = new Int32Array(count);
  for (let i = 0; i < count; i++) order[i] = i;
  if (!options.shuffle) return order;
  const next = mulberry32(hashSeed([options.seed, options.epoch, ORDER_STREAM]));
  for (let i = count - 1; i > 0; i--) {
    const j = floor(next() * (i + 1));
    const t = order[i] ?? 0;
    order[i] = order[j] ?? 0;
    order[j] = t;
  }
  return order;
}

/** How an epoch is cut into batches. */
export interface PlanOptions {
  /** Drop the last batch when it is smaller than `batchSize`. Default false (keep it). */
  readonly dropLast?: boolean;
}

/**
 * Cuts an order into consecutive batches of `batchSize` indices (views of `order`, no copy);
 * the last batch may be smaller unless `dropLast`.
 * @example planBatches(Int32Array.of(4, 2, 0, 1, 3), 2) // [[4, 2], [0, 1], [3]]
 */
export function planBatches(order: Int32Array, batchSize: number, options: PlanOptions = {}): readonly Int32Array[] {
  requireInteger('planBatches', 'batchSize', batchSize, 1);
  const end = options.dropLast === true ? order.length - (order.length % batchSize) : order.length;
  const batches: Int32Array[] = [];
  for (let start = 0; start < end; start += batchSize) batches.push(order.subarray(start, min(start + batchSize, end)));
  return batches;
}

/** Which augmentations a batch gets (training: both; evaluation: neither, see {@link NO_AUGMENT}). */
export interface Augment {
  /** Random crop of the image padded with {@link CROP_PADDING} black pixels per side. */
  readonly crop: boolean;
  /** Horizontal flip with probability 1/2. */
  readonly flip: boolean;
}

/** No augmentation, for evaluation. */
export const NO_AUGMENT: Augment = { crop: false, flip: false };

/** Where one batch's augmentation randomness comes from. */
export interface DrawOptions {
  readonly seed: number;
  readonly epoch: number;
  /** 0-based step within the epoch. */
  readonly step: number;
}

/**
 * How one image is augmented: the crop window's offset from the image (each in
 * −{@link CROP_PADDING}..{@link CROP_PADDING}; 0 = no shift), then an optional horizontal flip.
 */
export interface Placement {
  readonly dy: number;
  readonly dx: number;
  readonly flip: boolean;
}

/** The placement that leaves an image unchanged. */
export const IDENTITY: Placement = { dy: 0, dx: 0, flip: false };

/**
 * The augmentation of each of a batch's `count` images, drawn from (seed, epoch, step).
 * Every image draws its crop and its flip whether enabled or not, so turning one
 * augmentation off does not change the other's draws.
 * @example placements(2, { augment: { crop: true, flip: false }, seed: 1, epoch: 0, step: 3 })
 * // [{ dy: -2, dx: 4, flip: false }, { dy: 0, dx: -3, flip: false }] (say)
 */
export function placements(count: number, options: DrawOptions & { readonly augment: Augment }): readonly Placement[] {
  const next = mulberry32(hashSeed([options.seed, options.epoch, options.step, AUGMENT_STREAM]));
  const span = 2 * CROP_PADDING + 1;
  const out: Placement[] = [];
  for (let i = 0; i < count; i++) {
    const dy = floor(next() * span) - CROP_PADDING;
    const dx = floor(next() * span) - CROP_PADDING;
    const flip = next() < 0.5;
    out.push(options.augment.crop ? { dy, dx, flip: options.augment.flip && flip } : { dy: 0, dx: 0, flip: options.augment.flip && flip });
  }
  return out;
}

/**
 * Applies a placement to one `height × width` grey image (row-major bytes): the crop
 * reads `image[r + dy][c + dx]`, black (0) outside the image, then the flip mirrors columns.
 * @example augmentImage(Uint8Array.of(1, 2, 3, 4), { height: 2, width: 2 }, { dy: 0, dx: 1, flip: false }) // [2, 0, 4, 0]
 */
export function augmentImage(
  image: Uint8Array,
  size: { readonly height: number; readonly width: number },
  placement: Placement,
): Uint8Array {
  const { height, width } = size;
  const { dy, dx, flip } = placement;
  const out = new Uint8Array(height * width);
  for (let r = 0; r < height; r++) {
    const sr = r + dy;
    if (sr < 0 || sr >= height) continue;
    for (let c = 0; c < width; c++) {
      const sc = (flip ? width - 1 - c : c) + dx;
      if (sc >= 0 && sc < width) out[r * width + c] = image[sr * width + sc] ?? 0;
    }
  }
  return out;
}

/** How to turn a batch of indices into tensors. */
export interface BatchOptions extends DrawOptions {
  /** Side S of the model's input; images are resized bilinearly when S differs from the split's 28. */
  readonly imageSize: number;
  readonly augment: Augment;
}

/** A batch: normalised images `[B, S, S, 1]` float32 and labels `[B]` int32. */
export interface Batch {
  readonly x: tf.Tensor4D;
  readonly y: tf.Tensor1D;
}

/**
 * The batch of examples `indices` of `split`: augmented on the uint8 images (crop,
 * then flip), normalised with {@link FASHION_MNIST_MEAN} / {@link FASHION_MNIST_STD},
 * then resized to `imageSize` (bilinear, half-pixel centres as PyTorch and PIL).
 * Creates exactly two tensors, `x` and `y`; the caller disposes them.
 * @example
 * const { x, y } = makeBatch(train, batch, { imageSize: 96, augment: { crop: true, flip: true }, seed, epoch, step });
 * // x: [B, 96, 96, 1] float32, y: [B] int32
 */
export function makeBatch(split: Split, indices: ArrayLike<number>, options: BatchOptions): Batch {
  requireInteger('makeBatch', 'imageSize', options.imageSize, 1);
  const { height, width } = split;
  const pixels = height * width;
  const n = indices.length;
  const draws = placements(n, options);
  const xs = new Float32Array(n * pixels);
  const ys = new Int32Array(n);
  for (let b = 0; b < n; b++) {
    const index = indices[b] ?? -1;
    if (!Number.isInteger(index) || index < 0 || index >= split.count) {
      throw new RangeError(`makeBatch: index ${index} at position ${b} is outside the split's ${split.count} examples`);
    }
    const placement = draws[b] ?? IDENTITY;
    const image = split.images.subarray(index * pixels, (index + 1) * pixels);
    const source = placement.dy === 0 && placement.dx === 0 && !placement.flip ? image : augmentImage(image, split, placement);
    const at = b * pixels;
    for (let i = 0; i < pixels; i++) xs[at + i] = NORMALISED[source[i] ?? 0] ?? 0;
    ys[b] = split.labels[index] ?? 0;
  }
  const resize = options.imageSize !== height || options.imageSize !== width;
  return tf.tidy(() => {
    const x = tf.tensor4d(xs, [n, height, width, 1]);
    return { x: resize ? tf.image.resizeBilinear(x, [options.imageSize, options.imageSize], false, true) : x, y: tf.tensor1d(ys, 'int32') };
  });
}

function requireInteger(fn: string, name: string, value: number, least: number): void {
  if (!Number.isInteger(value) || value < least) throw new RangeError(`${fn}: ${name} must be an integer ≥ ${least}, got ${value}`);
}
