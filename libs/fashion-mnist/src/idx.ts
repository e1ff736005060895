/**
 * The IDX format of (Fashion-)MNIST, pure over bytes: a big-endian 32-bit magic number
 * (0x00000803 = unsigned bytes, 3 dimensions), one big-endian 32-bit size per
 * dimension, then the data, row-major. No I/O here: callers read and gunzip.
 */
import * as E from 'fp-ts/Either';
import { dataError, type DataError } from './data_error.ts';

/** What an IDX file of Fashion-MNIST holds. */
export type IdxKind = 'images' | 'labels';

/** Expected magic number per kind: 2051 (0x803, ubyte × 3 dims) and 2049 (0x801, ubyte × 1 dim). */
export const IDX_MAGIC = { images: 2051, labels: 2049 } as const satisfies Record<IdxKind, number>;

/** Number of dimensions per kind: images are (count, rows, cols), labels (count). */
export const IDX_RANK = { images: 3, labels: 1 } as const satisfies Record<IdxKind, number>;

/** A decoded IDX array of unsigned bytes. `data.length` is the product of `dims`. */
export interface IdxArray {
  readonly kind: IdxKind;
  readonly dims: readonly number[];
  readonly data: Uint8Array;
}

/** Where the bytes came from, for error messages, and what they should hold. */
export interface ParseIdxOptions {
  readonly kind: IdxKind;
  /** Path or name of the file, quoted in every error. */
  readonly file: string;
}

/**
 * Decodes an uncompressed IDX file, checking the magic number, the header and that the
 * length is exactly header + product of dims. `data` is a view into `bytes`, not a copy.
 * @example
 * parseIdx(encodeIdx({ kind: 'labels', dims: [2], data: Uint8Array.of(3, 7) }), { kind: 'labels', file: 'l.idx' })
 * // Right({ kind: 'labels', dims: [2], data: Uint8Array [3, 7] })
 * parseIdx(Uint8Array.of(0, 0, 8, 1, 0, 0, 0, 5), { kind: 'images', file: 'train-images-idx3-ubyte.gz' })
 * // Left({ _tag: 'BadMagic', message: 'train-images-idx3-ubyte.gz: wrong magic number 2049 (IDX labels …), expected 2051 (IDX images …) …' })
 */
export function parseIdx(bytes: Uint8Array, options: ParseIdxOptions): E.Either<DataError, IdxArray> {
  const { kind, file } = options;
  const rank = IDX_RANK[kind];
  const headerBytes = 4 * (1 + rank);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length < 4) {
    return E.left(
      dataError(
        'Truncated',
        file,
        `header is truncated: expected at least ${headerBytes} bytes (magic number and ${rank} dimension${rank === 1 ? '' : 's'}), got ${bytes.length}`,
      ),
    );
  }
  const magic = view.getUint32(0);
  if (magic !== IDX_MAGIC[kind]) {
    return E.left(
      dataError(
        'BadMagic',
        file,
        `wrong magic number ${magic} (${describeMagic(bytes)}), expected ${IDX_MAGIC[kind]} (${describeMagic(magicBytes(IDX_MAGIC[kind]))}); is this the ${kind} file, uncompressed?`,
      ),
    );
  }
  if (bytes.length < headerBytes) {
    return E.left(
      dataError(
        'Truncated',
        file,
        `header is truncated: expected ${headerBytes} bytes (magic number and ${rank} dimension${rank === 1 ? '' : 's'}), got ${bytes.length}`,
      ),
    );
  }
  const dims = Array.from({ length: rank }, (_, i) => view.getUint32(4 * (i + 1)));
  const zero = dims.indexOf(0);
  if (zero !== -1) {
    return E.left(
      dataError(
        'ZeroDimension',
        file,
        `dimension ${zero} of [${dims.join(', ')}] is 0: an IDX ${kind} file must hold at least one value along each axis`,
      ),
    );
  }
  // A product of three uint32 can exceed 2^53; it is then only approximate, but still far larger than any file.
  const expected = headerBytes + dims.reduce((a, b) => a * b, 1);
  if (bytes.length < expected) {
    return E.left(
      dataError(
        'Truncated',
        file,
        `data is truncated: dims [${dims.join(', ')}] need ${expected} bytes (${headerBytes} header + ${expected - headerBytes} data), got ${bytes.length}; the file is incomplete, fetch it again`,
      ),
    );
  }
  if (bytes.length > expected) {
    return E.left(
      dataError(
        'TrailingBytes',
        file,
        `${bytes.length - expected} trailing bytes: dims [${dims.join(', ')}] need exactly ${expected} bytes, got ${bytes.length}`,
      ),
    );
  }
  return E.right({ kind, dims, data: new Uint8Array(bytes.buffer, bytes.byteOffset + headerBytes, expected - headerBytes) });
}

/**
 * Encodes an IDX array: magic number of its kind, dims, data, as given. It does not
 * validate, so tests can also build malformed files; {@link parseIdx} is the validator.
 * @example encodeIdx({ kind: 'labels', dims: [2], data: Uint8Array.of(3, 7) }) // Uint8Array [0, 0, 8, 1, 0, 0, 0, 2, 3, 7]
 */
export function encodeIdx(array: IdxArray): Uint8Array {
  const headerBytes = 4 * (1 + array.dims.length);
  const out = new Uint8Array(headerBytes + array.data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, IDX_MAGIC[array.kind]);
  array.dims.forEach((d, i) => view.setUint32(4 * (i + 1), d));
  out.set(array.data, headerBytes);
  return out;
}

function magicBytes(magic: number): Uint8Array {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, magic);
  return out;
}

/** Says what the first four bytes look like, so a wrong-magic error hints at the mix-up. */
function describeMagic(bytes: Uint8Array): string {
  const [b0 = 0, b1 = 0, type = 0, rank = 0] = bytes;
  if (b0 === 0x1f && b1 === 0x8b) return 'gzip data: gunzip it first';
  if (b0 !== 0 || b1 !== 0) return 'not an IDX file';
  if (type === 0x08 && rank === 3) return 'IDX images: unsigned bytes, 3 dimensions';
  if (type === 0x08 && rank === 1) return 'IDX labels: unsigned bytes, 1 dimension';
  return `IDX type 0x${type.toString(16).padStart(2, '0')} with ${rank} dimension${rank === 1 ? '' : 's'}`;
}
