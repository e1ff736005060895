/**
 * What `bench:serve` measures: pure planning from flags, so it is tested without timing anything.
 */

import type { BenchMode } from '@resnet/run-dir';

export type { BenchMode };

/** One measurement's shape: a variant trained (or run for inference) at one image size and batch size. */
export interface BenchConfig {
  readonly mode: BenchMode;
  readonly variant: number;
  readonly imageSize: number;
  readonly batchSize: number;
}

/**
 * The default suites. Training: ResNet-18/34/50 at 28×28 with batch 128, ResNet-18 at 96×96
 * with batch 64. Inference: the same networks at batch 256, the test pass's batch.
 */
export const SUITES: Readonly<Record<BenchMode, readonly BenchConfig[]>> = {
  train: [
    { mode: 'train', variant: 18, imageSize: 28, batchSize: 128 },
    { mode: 'train', variant: 34, imageSize: 28, batchSize: 128 },
    { mode: 'train', variant: 50, imageSize: 28, batchSize: 128 },
    { mode: 'train', variant: 18, imageSize: 96, batchSize: 64 },
  ],
  infer: [
    { mode: 'infer', variant: 18, imageSize: 28, batchSize: 256 },
    { mode: 'infer', variant: 34, imageSize: 28, batchSize: 256 },
    { mode: 'infer', variant: 50, imageSize: 28, batchSize: 256 },
    { mode: 'infer', variant: 18, imageSize: 96, batchSize: 256 },
  ],
};

/**
 * Batch size when only the image size is given: for training 128 up to 32×32 (Fashion-MNIST's
 * 28) and 64 above; for inference 256 (the test pass's batch).
 */
export function defaultBatchSize(imageSize: number, mode: BenchMode = 'train'): number {
  if (mode === 'infer') return 256;
  return imageSize <= 32 ? 128 : 64;
}

/**
 * The configurations to measure. No `variants` and no `imageSize`: the mode's suite (with
 * `batchSize` replacing its batch sizes when given). Otherwise the cross product of
 * `variants` (default 18, 34, 50) and `imageSize` (default 28), at `batchSize` or
 * {@link defaultBatchSize}.
 * @example planConfigs({ mode: 'train', variants: [18], imageSize: null, batchSize: null }) // [{ mode: 'train', variant: 18, imageSize: 28, batchSize: 128 }]
 */
export function planConfigs(flags: {
  readonly mode: BenchMode;
  readonly variants: readonly number[];
  readonly imageSize: number | null;
  readonly batchSize: number | null;
}): BenchConfig[] {
  const { mode, variants, imageSize, batchSize } = flags;
  if (variants.length === 0 && imageSize === null) return SUITES[mode].map((c) => ({ ...c, batchSize: batchSize ?? c.batchSize }));
  const size = imageSize ?? 28;
  return (variants.length === 0 ? [18, 34, 50] : variants).map((variant) => ({
    mode,
    variant,
    imageSize: size,
    batchSize: batchSize ?? defaultBatchSize(size, mode),
  }));
}

/** Median of a non-empty list (mean of the middle two for even lengths). */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[mid] ?? NaN) : ((sorted[mid - 1] ?? NaN) + (sorted[mid] ?? NaN)) / 2;
}
