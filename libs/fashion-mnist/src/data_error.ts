/**
 * What is wrong with the dataset files, and which file. Parsing, verifying, locating
 * and downloading return `Either<DataError, …>` instead of throwing.
 */

/**
 * A dataset problem, naming the file (or folder) at fault and the fix.
 *
 * @example
 * // { _tag: 'BadMagic', file: 'data/fashion-mnist/train-images-idx3-ubyte.gz',
 * //   message: 'data/fashion-mnist/train-images-idx3-ubyte.gz: wrong magic number 2049 …, expected 2051 …' }
 */
export interface DataError {
  readonly _tag:
    | 'BadMagic'
    | 'Truncated'
    | 'TrailingBytes'
    | 'ZeroDimension'
    | 'CountMismatch'
    | 'BadImageSize'
    | 'BadLabel'
    | 'ChecksumMismatch'
    | 'CorruptGzip'
    | 'ReadFailed'
    | 'MissingFiles'
    | 'NotFound'
    | 'DownloadFailed';
  /** Path or name of the offending file or folder (`''` when no single one is at fault). */
  readonly file: string;
  /** What is wrong and how to fix it; starts with `file` when there is one. */
  readonly message: string;
}

/**
 * Builds a {@link DataError}; the message is prefixed with the file when there is one.
 * @example dataError('Truncated', 'a.idx', 'expected 24 bytes, got 20') // { …, message: 'a.idx: expected 24 bytes, got 20' }
 */
export function dataError(tag: DataError['_tag'], file: string, message: string): DataError {
  return { _tag: tag, file, message: file === '' ? message : `${file}: ${message}` };
}
