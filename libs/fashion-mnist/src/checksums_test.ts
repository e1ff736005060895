import fc from 'fast-check';
import * as E from 'fp-ts/Either';
import { fixtureIdx, gzip, left } from './_fixtures.ts';
import { gunzipVerified, md5Hex, type FileChecksum } from './checksums.ts';

const FILE = '/data/t10k-labels-idx1-ubyte.gz';

function checksum(gz: Uint8Array, idx: Uint8Array): FileChecksum {
  return { name: 't10k-labels-idx1-ubyte.gz', gzMd5: md5Hex(gz), idxMd5: md5Hex(idx) };
}

describe('checksums', () => {
  test('md5Hex is RFC 1321 MD5 in lower-case hex', () => {
    expect(md5Hex(new Uint8Array())).toBe('d41d8cd98f00b204e9800998ecf8427e');
    expect(md5Hex(new TextEncoder().encode('abc'))).toBe('900150983cd24fb0d6963f7d28e17f72');
  });

  test('a .gz whose MD5 is the published one is accepted as gz-md5', () => {
    const idx = fixtureIdx({ train: 1, test: 4 }).testLabels;
    const gz = gzip(idx);
    expect(gunzipVerified(gz, { file: FILE, expected: checksum(gz, idx) })).toEqual(E.right({ idx, verification: 'gz-md5' }));
  });

  test('a recompressed .gz with the same content is accepted by its decompressed MD5 (as Debian repackages)', () => {
    const idx = fixtureIdx({ train: 1, test: 4 }).testImages;
    const published = gzip(idx, 9);
    const repacked = gzip(idx, 1);
    expect(md5Hex(repacked)).not.toBe(md5Hex(published));
    expect(gunzipVerified(repacked, { file: FILE, expected: checksum(published, idx) })).toEqual(E.right({ idx, verification: 'idx-md5' }));
  });

  test('any change to the content is an MD5 mismatch naming the file, both MD5s and the fix', () => {
    const idx = fixtureIdx({ train: 1, test: 8 }).testLabels;
    const expected = checksum(gzip(idx), idx);
    fc.assert(
      fc.property(fc.nat({ max: idx.length - 1 }), fc.integer({ min: 1, max: 255 }), (at, delta) => {
        const changed = Uint8Array.from(idx);
        changed[at] = ((changed[at] ?? 0) + delta) & 0xff;
        const gz = gzip(changed);
        const error = left(gunzipVerified(gz, { file: FILE, expected }));
        expect(error._tag).toBe('ChecksumMismatch');
        expect(error.file).toBe(FILE);
        expect(error.message).toContain(`${FILE}: MD5 mismatch: the file's MD5 is ${md5Hex(gz)}, expected ${expected.gzMd5}`);
        expect(error.message).toContain(`decompresses to MD5 ${md5Hex(changed)}, expected ${expected.idxMd5}`);
        expect(error.message).toContain('apt-get install --reinstall dataset-fashion-mnist');
      }),
      { numRuns: 50 },
    );
  });

  test('a corrupted .gz is rejected with the file named, whether or not checksums are verified', () => {
    const idx = fixtureIdx({ train: 1, test: 4 }).testLabels;
    const gz = gzip(idx);
    const corrupt = gz.subarray(0, gz.length - 6); // cut inside the CRC/size trailer
    const verified = left(gunzipVerified(corrupt, { file: FILE, expected: checksum(gz, idx) }));
    expect(verified._tag).toBe('ChecksumMismatch');
    expect(verified.message).toContain(`${FILE}: MD5 mismatch`);
    expect(verified.message).toContain('is not valid gzip');
    const unverified = left(gunzipVerified(corrupt, { file: FILE, expected: null }));
    expect(unverified._tag).toBe('CorruptGzip');
    expect(unverified.message).toMatch(new RegExp(`^${FILE}: is not valid gzip`));
  });

  test('with verification off, any valid gzip is accepted as unverified', () => {
    const idx = fixtureIdx({ train: 1, test: 3 }).testLabels;
    expect(gunzipVerified(gzip(idx), { file: FILE, expected: null })).toEqual(E.right({ idx, verification: 'off' }));
  });
});
