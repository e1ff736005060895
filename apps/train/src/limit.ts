/** `--train-limit` / `--test-limit`: the first N examples of a split. */
import type { Split } from '@resnet/fashion-mnist';

/**
 * The first `limit` examples (all when null or larger than the split).
 * @example limitSplit(train, 256).count // 256
 */
export function limitSplit(split: Split, limit: number | null): Split {
  if (limit === null || limit >= split.count) return split;
  const pixels = split.height * split.width;
  return { ...split, images: split.images.subarray(0, limit * pixels), labels: split.labels.subarray(0, limit), count: limit };
}
