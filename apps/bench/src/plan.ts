/**
 * What `bench:serve` measures: pure planning from flags, so it is tested without timing anything.
 */

/** One measurement's shape: a variant trained at one image size and batch size. */
export interface BenchConfig {
  readonly variant: number;
  readonly imageSize: number;
  readonly batchSize: number;
}

/** The default suite: ResNet-18/34/50 at 28×28 with batch 128, and ResNet-18 at 96×96 with batch 64. */
export const SUITE: readonly BenchConfig[] = [
  { variant: 18, imageSize: 28, batchSize: 128 },
  { variant: 34, imageSize: 28, batchSize: 128 },
  { variant: 50, imageSize: 28, batchSize: 128 },
  { variant: 18, imageSize: 96, batchSize: 64 },
];

/** Batch size when only the image size is given: 128 up to 32×32 (Fashion-MNIST's 28), 64 above. */
export function defaultBatchSize(imageSize: number): number {
  return imageSize <= 32 ? 128 : 64;
}

/**
 * The configurations to measure. No `variants` and no `imageSize`: the suite (with
 * `batchSize` replacing its batch sizes when given). Otherwise the cross product of
 * `variants` (default 18, 34, 50) and `imageSize` (default 28), at `batchSize` or
 * {@link defaultBatchSize}.
 * @example planConfigs({ variants: [18], imageSize: null, batchSize: null }) // [{ variant: 18, imageSize: 28, batchSize: 128 }]
 */
export function planConfigs(flags: { readonly variants: readonly number[]; readonly imageSize: number | null; readonly batchSize: number | null }): BenchConfig[] {
  const { variants, imageSize, batchSize } = flags;
  if (variants.length === 0 && imageSize === null) return SUITE.map((c) => ({ ...c, batchSize: batchSize ?? c.batchSize }));
  const size = imageSize ?? 28;
  return (variants.length === 0 ? [18, 34, 50] : variants).map((variant) => ({ variant, imageSize: size, batchSize: batchSize ?? defaultBatchSize(size) }));
}

/** Median of a non-empty list (mean of the middle two for even lengths). */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[mid] ?? NaN) : ((sorted[mid - 1] ?? NaN) + (sorted[mid] ?? NaN)) / 2;
}
