/**
 * The four official files and their MD5s, and gunzipping with verification.
 *
 * Two MD5s per file: of the published `.gz` (the README's table, also torchvision's
 * `resources`), and of the decompressed IDX bytes (torchvision-style `raw_data`). The
 * second matters because repackaging may rewrite the gzip header without touching the
 * data: Debian's `dataset-fashion-mnist` ships `.gz` files whose header mtime and name
 * were normalised, so their `.gz` MD5s differ while the IDX content is identical.
 */
import { createHash } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import * as E from 'fp-ts/Either';
import { fromBuffer } from './_bytes.ts';
import { dataError, type DataError } from './data_error.ts';

/** The role of each of the four files. */
export type FileRole = 'trainImages' | 'trainLabels' | 'testImages' | 'testLabels';

/** The four roles, in the order of the official README. */
export const FILE_ROLES: readonly FileRole[] = ['trainImages', 'trainLabels', 'testImages', 'testLabels'];

/** A file's name and its expected MD5s (lower-case hex). */
export interface FileChecksum {
  /** File name, e.g. `train-images-idx3-ubyte.gz`. */
  readonly name: string;
  /** MD5 of the `.gz` file as published. */
  readonly gzMd5: string;
  /** MD5 of its decompressed IDX content. */
  readonly idxMd5: string;
}

/** Names and checksums of the four files. Tests pass their own for synthetic fixtures. */
export type Manifest = Readonly<Record<FileRole, FileChecksum>>;

/**
 * The official Fashion-MNIST release (zalandoresearch/fashion-mnist README).
 * @example FASHION_MNIST_FILES.trainImages.name // 'train-images-idx3-ubyte.gz'
 */
export const FASHION_MNIST_FILES: Manifest = {
  trainImages: {
    name: 'train-images-idx3-ubyte.gz',
    gzMd5: '8d4fb7e6c68d591d4c3dfef9ec88bf0d',
    idxMd5: 'f4a8712d7a061bf5bd6d2ca38dc4d50a',
  },
  trainLabels: {
    name: 'train-labels-idx1-ubyte.gz',
    gzMd5: '25c81989df183df01b3e8a0aad5dffbe',
    idxMd5: '9018921c3c673c538a1fc5bad174d6f9',
  },
  testImages: { name: 't10k-images-idx3-ubyte.gz', gzMd5: 'bef4ecab320f06d8554ea6380940ec79', idxMd5: '8181f5470baa50b63fa0f6fddb340f0a' },
  testLabels: { name: 't10k-labels-idx1-ubyte.gz', gzMd5: 'bb300cfdad3c16e7a12a480ee83cd310', idxMd5: '15d484375f8d13e6eb1aabb0c3f46965' },
};

/** How a file was checked: its `.gz` MD5 matched, its decompressed MD5 matched, or it was not checked. */
export type Verification = 'gz-md5' | 'idx-md5' | 'off';

/** Decompressed IDX bytes and how they were verified. */
export interface Gunzipped {
  readonly idx: Uint8Array;
  readonly verification: Verification;
}

/** Which file the bytes are, and what they must hash to (`null`: do not verify, for synthetic fixtures). */
export interface GunzipOptions {
  /** Path or name quoted in errors. */
  readonly file: string;
  readonly expected: FileChecksum | null;
}

/**
 * Lower-case hex MD5 of some bytes.
 * @example md5Hex(new Uint8Array()) // 'd41d8cd98f00b204e9800998ecf8427e'
 */
export function md5Hex(bytes: Uint8Array): string {
  return createHash('md5').update(bytes).digest('hex');
}

/**
 * Gunzips a `.gz` file's bytes, accepting them when the `.gz` MD5 or the decompressed
 * MD5 is the expected one. A mismatch names the file, both MD5s and the fix.
 * @example
 * gunzipVerified(bytes, { file: '/usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz', expected: FASHION_MNIST_FILES.testLabels })
 * // Right({ idx: Uint8Array(10008), verification: 'idx-md5' })
 */
export function gunzipVerified(gz: Uint8Array, options: GunzipOptions): E.Either<DataError, Gunzipped> {
  const { file, expected } = options;
  const gzMd5 = expected === null ? '' : md5Hex(gz);
  const idx = gunzip(gz);
  if (expected === null) {
    return E.isRight(idx)
      ? E.right({ idx: idx.right, verification: 'off' })
      : E.left(dataError('CorruptGzip', file, `is not valid gzip (${idx.left}); the file is damaged: replace it with a fresh copy`));
  }
  if (gzMd5 === expected.gzMd5 && E.isRight(idx)) return E.right({ idx: idx.right, verification: 'gz-md5' });
  const idxMd5 = E.isRight(idx) ? md5Hex(idx.right) : undefined;
  if (idxMd5 === expected.idxMd5 && E.isRight(idx)) return E.right({ idx: idx.right, verification: 'idx-md5' });
  const content =
    idxMd5 === undefined
      ? `is not valid gzip (${E.isLeft(idx) ? idx.left : ''})`
      : `decompresses to MD5 ${idxMd5}, expected ${expected.idxMd5}`;
  return E.left(
    dataError(
      'ChecksumMismatch',
      file,
      `MD5 mismatch: the file's MD5 is ${gzMd5}, expected ${expected.gzMd5} (official ${expected.name}), and it ${content}. ` +
        `The file is damaged or not Fashion-MNIST: delete it and download it again, or reinstall the package (apt-get install --reinstall dataset-fashion-mnist); ` +
        `for synthetic fixtures, load with verify: false`,
    ),
  );
}

function gunzip(gz: Uint8Array): E.Either<string, Uint8Array> {
  try {
    return E.right(fromBuffer(gunzipSync(gz)));
  } catch (e) {
    return E.left(e instanceof Error ? e.message : String(e));
  }
}
