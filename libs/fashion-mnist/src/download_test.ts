import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as E from 'fp-ts/Either';
import { fixtureGz, serveFiles, tempDir, left } from './_fixtures.ts';
import { FILE_ROLES, type Manifest } from './checksums.ts';
import { downloadFashionMnist, downloadFile, type FetchLike } from './download.ts';

const { gz, manifest } = fixtureGz();
const served = Object.fromEntries(FILE_ROLES.map((role) => [manifest[role].name, gz[role]]));

let server: Awaited<ReturnType<typeof serveFiles>>;
let temp: Awaited<ReturnType<typeof tempDir>>;
beforeAll(async () => {
  server = await serveFiles(served);
});
afterAll(() => server.close());
beforeEach(async () => {
  temp = await tempDir();
});
afterEach(() => temp.cleanup());

describe('downloader (loopback server, never the network)', () => {
  test('downloads the four files from the mirror, verified, with no temp file left', async () => {
    const dir = join(temp.dir, 'data', 'fashion-mnist'); // created on demand
    const progress: string[] = [];
    const result = await downloadFashionMnist(dir, {
      mirror: server.mirror,
      manifest,
      onProgress: (p) => progress.push(`${p.index}/${p.total} ${p.bytes}`),
    });
    expect(result).toEqual(
      E.right(FILE_ROLES.map((role) => ({ path: join(dir, manifest[role].name), bytes: gz[role].length, verification: 'gz-md5' }))),
    );
    expect((await readdir(dir)).sort()).toEqual(FILE_ROLES.map((role) => manifest[role].name).sort());
    for (const role of FILE_ROLES) expect(new Uint8Array(await readFile(join(dir, manifest[role].name)))).toEqual(gz[role]);
    expect(progress).toEqual(FILE_ROLES.map((role, i) => `${i + 1}/4 ${gz[role].length}`));
  });

  test('downloads only the requested files', async () => {
    const before = server.requests.length;
    await downloadFashionMnist(temp.dir, { mirror: server.mirror, manifest, roles: ['testLabels'] });
    expect(server.requests.slice(before)).toEqual([manifest.testLabels.name]);
    expect(await readdir(temp.dir)).toEqual([manifest.testLabels.name]);
  });

  test('a download with the wrong checksum is rejected, naming the URL and both MD5s, and leaves nothing behind', async () => {
    const wrong: Manifest = { ...manifest, trainLabels: { ...manifest.trainLabels, gzMd5: '0'.repeat(32), idxMd5: '1'.repeat(32) } };
    const error = left(await downloadFashionMnist(temp.dir, { mirror: server.mirror, manifest: wrong, roles: ['trainLabels'] }));
    expect(error._tag).toBe('ChecksumMismatch');
    expect(error.file).toBe(`${server.mirror}${manifest.trainLabels.name}`);
    expect(error.message).toContain(`nothing was written to ${temp.dir}`);
    expect(error.message).toContain(`expected ${'0'.repeat(32)}`);
    expect(await readdir(temp.dir)).toEqual([]);
  });

  test('corrupt bytes never replace a file already in place', async () => {
    const dest = join(temp.dir, manifest.testImages.name);
    await writeFile(dest, 'previous');
    const corrupt: FetchLike = async () => ({
      ok: true,
      status: 200,
      statusText: 'OK',
      arrayBuffer: async () => new Uint8Array(gz.testImages.subarray(0, 40)).buffer,
    });
    const error = left(
      await downloadFile('http://mirror.invalid/t10k-images-idx3-ubyte.gz', dest, { fetch: corrupt, expected: manifest.testImages }),
    );
    expect(error._tag).toBe('ChecksumMismatch');
    expect(error.message).toContain('is not valid gzip');
    expect(await readFile(dest, 'utf8')).toBe('previous');
    expect(await readdir(temp.dir)).toEqual([manifest.testImages.name]);
  });

  test('an HTTP error is reported with its status and the URL, and leaves nothing behind', async () => {
    const missing: Manifest = { ...manifest, testLabels: { ...manifest.testLabels, name: 'no-such-file.gz' } };
    const error = left(await downloadFashionMnist(temp.dir, { mirror: server.mirror, manifest: missing, roles: ['testLabels'] }));
    expect(error).toMatchObject({ _tag: 'DownloadFailed', file: `${server.mirror}no-such-file.gz` });
    expect(error.message).toContain('HTTP 404 Not Found');
    expect(await readdir(temp.dir)).toEqual([]);
  });

  test('an unreachable mirror is reported with the cause, and leaves nothing behind', async () => {
    const offline: FetchLike = () =>
      Promise.reject(new Error('fetch failed', { cause: new Error('getaddrinfo ENOTFOUND mirror.invalid') }));
    const error = left(await downloadFashionMnist(temp.dir, { fetch: offline, mirror: 'http://mirror.invalid/', manifest }));
    expect(error._tag).toBe('DownloadFailed');
    expect(error.message).toContain(
      'http://mirror.invalid/train-images-idx3-ubyte.gz: could not download (fetch failed: getaddrinfo ENOTFOUND mirror.invalid)',
    );
    expect(await readdir(temp.dir)).toEqual([]);
  });

  test('the injected fetch receives the mirror URL of each file', async () => {
    const urls: string[] = [];
    const recording: FetchLike = async (url) => {
      urls.push(url);
      const role = FILE_ROLES.find((r) => url.endsWith(`/${manifest[r].name}`));
      if (role === undefined) return { ok: false, status: 404, statusText: 'Not Found', arrayBuffer: async () => new ArrayBuffer(0) };
      return { ok: true, status: 200, statusText: 'OK', arrayBuffer: async () => new Uint8Array(gz[role]).buffer };
    };
    expect(E.isRight(await downloadFashionMnist(temp.dir, { fetch: recording, mirror: 'https://example.test/fmnist/', manifest }))).toBe(
      true,
    );
    expect(urls).toEqual(FILE_ROLES.map((role) => `https://example.test/fmnist/${manifest[role].name}`));
  });
});
