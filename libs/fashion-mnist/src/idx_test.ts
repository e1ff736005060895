import fc from 'fast-check';
import * as E from 'fp-ts/Either';
import { gzip, left } from './_fixtures.ts';
import { encodeIdx, IDX_MAGIC, IDX_RANK, parseIdx, type IdxArray, type IdxKind } from './idx.ts';

const FILE = 'fixtures/train-images-idx3-ubyte.gz';

// Valid arrays built directly: dims ≥ 1, then exactly product(dims) bytes.
function idxArray(kind: IdxKind, maxDim = 6): fc.Arbitrary<IdxArray> {
  return fc.array(fc.integer({ min: 1, max: maxDim }), { minLength: IDX_RANK[kind], maxLength: IDX_RANK[kind] }).chain((dims) => {
    const n = dims.reduce((a, b) => a * b, 1);
    return fc.uint8Array({ minLength: n, maxLength: n }).map((data): IdxArray => ({ kind, dims, data }));
  });
}
const anyIdx = fc.constantFrom<IdxKind>('images', 'labels').chain((kind) => idxArray(kind));

describe('IDX parsing', () => {
  test('parse(encode(a)) = a for any kind, dims and bytes', () => {
    fc.assert(
      fc.property(anyIdx, (array) => {
        expect(parseIdx(encodeIdx(array), { kind: array.kind, file: FILE })).toEqual(E.right(array));
      }),
      { numRuns: 200 },
    );
  });

  test('encoding is header (magic, big-endian dims) then the data, as in the MNIST spec', () => {
    expect(Array.from(encodeIdx({ kind: 'labels', dims: [2], data: Uint8Array.of(3, 7) }))).toEqual([0, 0, 8, 1, 0, 0, 0, 2, 3, 7]);
    expect(Array.from(encodeIdx({ kind: 'images', dims: [1, 256, 1], data: new Uint8Array(256) }).subarray(0, 16))).toEqual([
      0, 0, 8, 3, 0, 0, 0, 1, 0, 0, 1, 0, 0, 0, 0, 1,
    ]);
  });

  test('a wrong magic number is rejected, naming the file, the number found and the one expected', () => {
    fc.assert(
      fc.property(anyIdx, fc.nat({ max: 0xffff_fffe }), (array, raw) => {
        const expected = IDX_MAGIC[array.kind];
        const magic = raw >= expected ? raw + 1 : raw; // any uint32 but the expected one
        const bytes = encodeIdx(array);
        new DataView(bytes.buffer).setUint32(0, magic);
        const error = left(parseIdx(bytes, { kind: array.kind, file: FILE }));
        expect(error._tag).toBe('BadMagic');
        expect(error.file).toBe(FILE);
        expect(error.message).toContain(FILE);
        expect(error.message).toContain(`wrong magic number ${magic} `);
        expect(error.message).toContain(`expected ${expected} `);
      }),
      { numRuns: 200 },
    );
  });

  test('an images file given where labels are expected is called out as IDX images', () => {
    const images = encodeIdx({ kind: 'images', dims: [1, 2, 2], data: new Uint8Array(4) });
    expect(left(parseIdx(images, { kind: 'labels', file: FILE })).message).toBe(
      `${FILE}: wrong magic number 2051 (IDX images: unsigned bytes, 3 dimensions), expected 2049 (IDX labels: unsigned bytes, 1 dimension); is this the labels file, uncompressed?`,
    );
  });

  test('gzip bytes passed as IDX are rejected with a hint to gunzip first', () => {
    const gz = gzip(encodeIdx({ kind: 'labels', dims: [1], data: Uint8Array.of(4) }));
    expect(left(parseIdx(gz, { kind: 'labels', file: FILE })).message).toContain('gzip data: gunzip it first');
  });

  test('a truncated header is rejected, naming the file and the bytes expected and got', () => {
    fc.assert(
      fc.property(
        anyIdx.chain((array) => fc.record({ array: fc.constant(array), cut: fc.nat({ max: 4 * (1 + IDX_RANK[array.kind]) - 1 }) })),
        ({ array, cut }) => {
          const error = left(parseIdx(encodeIdx(array).subarray(0, cut), { kind: array.kind, file: FILE }));
          expect(error._tag).toBe('Truncated');
          expect(error.message).toContain(`${FILE}: header is truncated`);
          expect(error.message).toContain(`${4 * (1 + IDX_RANK[array.kind])} bytes`);
          expect(error.message).toContain(`got ${cut}`);
        },
      ),
    );
  });

  test('truncated data is rejected with the expected and actual byte counts', () => {
    fc.assert(
      fc.property(
        anyIdx.chain((array) => {
          const header = 4 * (1 + IDX_RANK[array.kind]);
          return fc.record({ array: fc.constant(array), cut: fc.integer({ min: header, max: header + array.data.length - 1 }) });
        }),
        ({ array, cut }) => {
          const full = encodeIdx(array);
          const error = left(parseIdx(full.subarray(0, cut), { kind: array.kind, file: FILE }));
          expect(error._tag).toBe('Truncated');
          expect(error.message).toContain(`${FILE}: data is truncated`);
          expect(error.message).toContain(`need ${full.length} bytes`);
          expect(error.message).toContain(`got ${cut}`);
        },
      ),
    );
  });

  test('trailing bytes are rejected with their count', () => {
    fc.assert(
      fc.property(anyIdx, fc.uint8Array({ minLength: 1, maxLength: 32 }), (array, extra) => {
        const full = encodeIdx(array);
        const bytes = new Uint8Array(full.length + extra.length);
        bytes.set(full);
        bytes.set(extra, full.length);
        const error = left(parseIdx(bytes, { kind: array.kind, file: FILE }));
        expect(error._tag).toBe('TrailingBytes');
        expect(error.message).toBe(
          `${FILE}: ${extra.length} trailing bytes: dims [${array.dims.join(', ')}] need exactly ${full.length} bytes, got ${bytes.length}`,
        );
      }),
    );
  });

  test('a zero dimension is rejected, naming the file and the axis', () => {
    fc.assert(
      fc.property(
        anyIdx.chain((array) => fc.record({ array: fc.constant(array), axis: fc.nat({ max: array.dims.length - 1 }) })),
        ({ array, axis }) => {
          const dims = array.dims.map((d, i) => (i === axis ? 0 : d));
          const error = left(parseIdx(encodeIdx({ ...array, dims, data: new Uint8Array() }), { kind: array.kind, file: FILE }));
          expect(error._tag).toBe('ZeroDimension');
          expect(error.message).toContain(`${FILE}: dimension ${axis} of [${dims.join(', ')}] is 0`);
        },
      ),
    );
  });

  test('parsed data is a view of the input bytes at the header offset, not a copy', () => {
    const bytes = encodeIdx({ kind: 'labels', dims: [3], data: Uint8Array.of(1, 2, 3) });
    const parsed = parseIdx(bytes, { kind: 'labels', file: FILE });
    if (E.isLeft(parsed)) throw new Error(parsed.left.message);
    expect(parsed.right.data.buffer).toBe(bytes.buffer);
    expect(parsed.right.data.byteOffset).toBe(8);
  });
});
