/**
 * A dataset split (train or test): images and labels checked against each other and
 * against Fashion-MNIST's shape (28×28 grey, 10 classes). Pure; no I/O.
 */
import * as E from 'fp-ts/Either';
import { dataError, type DataError } from './data_error.ts';
import type { IdxArray } from './idx.ts';

/** Fashion-MNIST's ten classes, indexed by label (Xiao et al. 2017, Table 1). */
export const CLASS_NAMES = [
  'T-shirt/top',
  'Trouser',
  'Pullover',
  'Dress',
  'Coat',
  'Sandal',
  'Shirt',
  'Sneaker',
  'Bag',
  'Ankle boot',
] as const;

/** Height and width of every image. */
export const IMAGE_SIZE = 28;

/**
 * Images and labels of one split, as raw bytes (normalisation belongs to the input
 * pipeline). Image `i` is `images.subarray(i * height * width, (i + 1) * height * width)`, row-major.
 */
export interface Split {
  /** `count × height × width` grey levels 0..255, row-major. */
  readonly images: Uint8Array;
  /** `count` labels 0..9, indexes into {@link CLASS_NAMES}. */
  readonly labels: Uint8Array;
  readonly count: number;
  readonly height: number;
  readonly width: number;
}

/** File names quoted in errors. */
export interface SplitFiles {
  readonly images: string;
  readonly labels: string;
}

/**
 * Pairs parsed images with parsed labels: same count, 28×28 images, labels 0..9.
 * @example
 * toSplit(images, labels, { images: 't10k-images-idx3-ubyte.gz', labels: 't10k-labels-idx1-ubyte.gz' })
 * // Right({ images, labels, count: 10000, height: 28, width: 28 })
 * // or Left({ _tag: 'CountMismatch', message: 't10k-images-idx3-ubyte.gz: holds 10000 images but t10k-labels-idx1-ubyte.gz holds 9999 labels …' })
 */
export function toSplit(
  images: IdxArray,
  labels: IdxArray,
  files: SplitFiles = { images: 'images', labels: 'labels' },
): E.Either<DataError, Split> {
  if (images.kind !== 'images' || images.dims.length !== 3) {
    return E.left(
      dataError(
        'BadImageSize',
        files.images,
        `expected an images array (count, rows, cols), got ${images.kind} with dims [${images.dims.join(', ')}]`,
      ),
    );
  }
  if (labels.kind !== 'labels' || labels.dims.length !== 1) {
    return E.left(
      dataError('BadLabel', files.labels, `expected a labels array (count), got ${labels.kind} with dims [${labels.dims.join(', ')}]`),
    );
  }
  const [count = 0, height = 0, width = 0] = images.dims;
  const [labelCount = 0] = labels.dims;
  if (count !== labelCount) {
    return E.left(
      dataError(
        'CountMismatch',
        files.images,
        `holds ${count} images but ${files.labels} holds ${labelCount} labels; the two files must come from the same split`,
      ),
    );
  }
  if (height !== IMAGE_SIZE || width !== IMAGE_SIZE) {
    return E.left(
      dataError('BadImageSize', files.images, `images are ${height}×${width}, expected ${IMAGE_SIZE}×${IMAGE_SIZE} (Fashion-MNIST)`),
    );
  }
  const bad = labels.data.findIndex((label) => label >= CLASS_NAMES.length);
  if (bad !== -1) {
    return E.left(
      dataError(
        'BadLabel',
        files.labels,
        `label ${labels.data[bad]} at index ${bad} is out of range: Fashion-MNIST labels are 0..${CLASS_NAMES.length - 1}`,
      ),
    );
  }
  return E.right({ images: images.data, labels: labels.data, count, height, width });
}
