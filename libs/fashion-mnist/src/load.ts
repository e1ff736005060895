/**
 * Loading Fashion-MNIST: locate the four files, read them, verify their MD5s, gunzip,
 * parse the IDX, pair images with labels. Pixels stay raw uint8; normalising is the
 * input pipeline's job.
 */
import { readFile } from 'node:fs/promises';
import * as E from 'fp-ts/Either';
import { FASHION_MNIST_FILES, gunzipVerified, type FileRole, type Verification } from './checksums.ts';
import { fromBuffer } from './_bytes.ts';
import { dataError, type DataError } from './data_error.ts';
import { parseIdx, type IdxArray } from './idx.ts';
import { locateFashionMnist, type LocateOptions, type Located } from './locate.ts';
import { toSplit, type Split } from './split.ts';

/** Where to look ({@link LocateOptions}) and whether to verify checksums. */
export interface LoadOptions extends LocateOptions {
  /** Check every file's MD5 against the manifest. Default true; false only for synthetic fixtures. */
  readonly verify?: boolean;
}

/** Where the data came from and how each file was verified. */
export interface DataSource extends Located {
  readonly verification: Readonly<Record<FileRole, Verification>>;
}

/** Both splits and their source. */
export interface FashionMnist {
  readonly train: Split;
  readonly test: Split;
  readonly source: DataSource;
}

/**
 * Locates, verifies and parses Fashion-MNIST (60,000 train and 10,000 test images, 28×28).
 * @example
 * const data = await loadFashionMnist({ dataDir: flags['data-dir'], dataDirName: '--data-dir', download: true });
 * if (E.isLeft(data)) { console.error(data.left.message); process.exit(1); }
 * console.log(describeSource(data.right.source)); // data: /usr/share/datasets/fashion-mnist (package dataset-fashion-mnist, verified md5)
 */
export async function loadFashionMnist(options: LoadOptions = {}): Promise<E.Either<DataError, FashionMnist>> {
  const located = await locateFashionMnist(options);
  if (E.isLeft(located)) return located;
  const manifest = options.manifest ?? FASHION_MNIST_FILES;
  const verify = options.verify ?? true;

  const open = async (role: FileRole): Promise<E.Either<DataError, Opened>> => {
    const file = located.right.files[role];
    const bytes = await readBytes(file);
    if (E.isLeft(bytes)) return bytes;
    const gunzipped = gunzipVerified(bytes.right, { file, expected: verify ? manifest[role] : null });
    if (E.isLeft(gunzipped)) return gunzipped;
    const idx = parseIdx(gunzipped.right.idx, { kind: role.endsWith('Images') ? 'images' : 'labels', file });
    return E.isLeft(idx) ? idx : E.right({ idx: idx.right, verification: gunzipped.right.verification });
  };
  const [trainImages, trainLabels, testImages, testLabels] = await Promise.all([
    open('trainImages'),
    open('trainLabels'),
    open('testImages'),
    open('testLabels'),
  ]);
  // Report the first failure in the README's file order.
  if (E.isLeft(trainImages)) return trainImages;
  if (E.isLeft(trainLabels)) return trainLabels;
  if (E.isLeft(testImages)) return testImages;
  if (E.isLeft(testLabels)) return testLabels;
  const files = located.right.files;
  const train = toSplit(trainImages.right.idx, trainLabels.right.idx, { images: files.trainImages, labels: files.trainLabels });
  if (E.isLeft(train)) return train;
  const test = toSplit(testImages.right.idx, testLabels.right.idx, { images: files.testImages, labels: files.testLabels });
  if (E.isLeft(test)) return test;
  const verification: Record<FileRole, Verification> = {
    trainImages: trainImages.right.verification,
    trainLabels: trainLabels.right.verification,
    testImages: testImages.right.verification,
    testLabels: testLabels.right.verification,
  };
  return E.right({ train: train.right, test: test.right, source: { ...located.right, verification } });
}

interface Opened {
  readonly idx: IdxArray;
  readonly verification: Verification;
}

/**
 * One line for an app to print: the folder, how it was found, whether MD5s were verified.
 * @example describeSource(data.source) // 'data: /usr/share/datasets/fashion-mnist (package dataset-fashion-mnist, verified md5)'
 */
export function describeSource(source: DataSource): string {
  const checks = Object.values(source.verification);
  const verified = checks.every((v) => v !== 'off') ? 'verified md5' : 'md5 NOT verified';
  return `data: ${source.dir} (${source.label}, ${verified})`;
}

async function readBytes(file: string): Promise<E.Either<DataError, Uint8Array>> {
  try {
    return E.right(fromBuffer(await readFile(file)));
  } catch (e) {
    return E.left(
      dataError('ReadFailed', file, `cannot be read (${e instanceof Error ? e.message : String(e)}); check that it exists and is readable`),
    );
  }
}
