import { existsSync } from 'node:fs';
import { join } from 'node:path';
import * as E from 'fp-ts/Either';
import { fixtureGz, fixtureIdx, gzip, serveFiles, tempDir, writeFixtureDir, left } from './_fixtures.ts';
import { FASHION_MNIST_FILES, FILE_ROLES } from './checksums.ts';
import { encodeIdx } from './idx.ts';
import { describeSource, loadFashionMnist, type FashionMnist } from './load.ts';
import { DATA_DIR_OPTION, SYSTEM_DIR } from './locate.ts';
import { CLASS_NAMES } from './split.ts';

const COUNTS = { train: 3, test: 2 };
const { gz, manifest } = fixtureGz(COUNTS);
const idx = fixtureIdx(COUNTS);

let temp: Awaited<ReturnType<typeof tempDir>>;
beforeEach(async () => {
  temp = await tempDir();
});
afterEach(() => temp.cleanup());

function right(result: E.Either<{ message: string }, FashionMnist>): FashionMnist {
  if (E.isLeft(result)) throw new Error(result.left.message);
  return result.right;
}
function histogram(labels: Uint8Array): number[] {
  const counts = CLASS_NAMES.map(() => 0);
  for (const label of labels) counts[label] = (counts[label] ?? 0) + 1;
  return counts;
}

describe('loading synthetic fixtures', () => {
  test('with verify: false, both splits hold the fixture bytes, and the source says md5 was not verified', async () => {
    await writeFixtureDir(temp.dir, gz);
    const data = right(await loadFashionMnist({ dataDir: temp.dir, verify: false }));
    expect(data.train).toEqual({
      images: idx.trainImages.subarray(16),
      labels: idx.trainLabels.subarray(8),
      count: 3,
      height: 28,
      width: 28,
    });
    expect(data.test).toEqual({ images: idx.testImages.subarray(16), labels: idx.testLabels.subarray(8), count: 2, height: 28, width: 28 });
    expect(data.source.verification).toEqual({ trainImages: 'off', trainLabels: 'off', testImages: 'off', testLabels: 'off' });
    expect(describeSource(data.source)).toBe(`data: ${temp.dir} (${DATA_DIR_OPTION}, md5 NOT verified)`);
  });

  test('verification is on by default: files that are not the official ones are rejected, naming the file', async () => {
    await writeFixtureDir(temp.dir, gz);
    const error = left(await loadFashionMnist({ dataDir: temp.dir }));
    const file = join(temp.dir, 'train-images-idx3-ubyte.gz');
    expect(error).toMatchObject({ _tag: 'ChecksumMismatch', file });
    expect(error.message).toContain(`${file}: MD5 mismatch`);
    expect(error.message).toContain(`expected ${FASHION_MNIST_FILES.trainImages.gzMd5}`);
  });

  test('files matching the manifest are reported as verified', async () => {
    await writeFixtureDir(temp.dir, gz);
    const data = right(await loadFashionMnist({ dataDir: temp.dir, dataDirName: '--data-dir', manifest }));
    expect(data.source.verification).toEqual({ trainImages: 'gz-md5', trainLabels: 'gz-md5', testImages: 'gz-md5', testLabels: 'gz-md5' });
    expect(describeSource(data.source)).toBe(`data: ${temp.dir} (--data-dir, verified md5)`);
  });

  test('a corrupted .gz is rejected with its path, verified or not', async () => {
    await writeFixtureDir(temp.dir, { ...gz, testLabels: gz.testLabels.subarray(0, 12) });
    const file = join(temp.dir, 't10k-labels-idx1-ubyte.gz');
    expect(left(await loadFashionMnist({ dataDir: temp.dir, manifest }))).toMatchObject({ _tag: 'ChecksumMismatch', file });
    expect(left(await loadFashionMnist({ dataDir: temp.dir, verify: false }))).toMatchObject({ _tag: 'CorruptGzip', file });
  });

  test('a malformed IDX inside a valid .gz is rejected with its path', async () => {
    await writeFixtureDir(temp.dir, { ...gz, trainLabels: gzip(idx.trainImages) });
    const error = left(await loadFashionMnist({ dataDir: temp.dir, verify: false }));
    expect(error._tag).toBe('BadMagic');
    expect(error.message).toContain(`${join(temp.dir, 'train-labels-idx1-ubyte.gz')}: wrong magic number 2051`);
  });

  test('images and labels of different counts are rejected, naming both files', async () => {
    await writeFixtureDir(temp.dir, { ...gz, testLabels: gzip(encodeIdx({ kind: 'labels', dims: [3], data: Uint8Array.of(0, 1, 2) })) });
    const error = left(await loadFashionMnist({ dataDir: temp.dir, verify: false }));
    expect(error.message).toBe(
      `${join(temp.dir, 't10k-images-idx3-ubyte.gz')}: holds 2 images but ${join(temp.dir, 't10k-labels-idx1-ubyte.gz')} holds 3 labels; the two files must come from the same split`,
    );
  });

  test('end to end: nothing local, download allowed, served from a loopback mirror, then loaded verified', async () => {
    const server = await serveFiles(Object.fromEntries(FILE_ROLES.map((role) => [manifest[role].name, gz[role]])));
    try {
      const data = right(
        await loadFashionMnist({
          env: {},
          workspaceRoot: temp.dir,
          systemDir: join(temp.dir, 'none'),
          manifest,
          download: true,
          downloader: { mirror: server.mirror },
        }),
      );
      expect(data.source.kind).toBe('download');
      expect(describeSource(data.source)).toBe(`data: ${join(temp.dir, 'data', 'fashion-mnist')} (downloaded, verified md5)`);
      expect(data.train.count + data.test.count).toBe(5);
    } finally {
      await server.close();
    }
  });
});

// The real dataset: installed by `apt-get install dataset-fashion-mnist`. Skipped with a
// notice when absent, except on CI (CI=true), which installs the package and must run it.
const REAL_PRESENT = FILE_ROLES.every((role) => existsSync(join(SYSTEM_DIR, FASHION_MNIST_FILES[role].name)));
const ON_CI = process.env['CI'] === 'true';
if (!REAL_PRESENT && !ON_CI) {
  console.warn(`SKIPPED: the real Fashion-MNIST test, because ${SYSTEM_DIR} lacks the files. Run: apt-get install dataset-fashion-mnist`);
}
const realTest = REAL_PRESENT || ON_CI ? test : test.skip;

describe(`the real Fashion-MNIST in ${SYSTEM_DIR}`, () => {
  realTest(
    `loads 60,000 + 10,000 verified 28×28 images, 6,000 and 1,000 per class${REAL_PRESENT || ON_CI ? '' : ' (SKIPPED: apt-get install dataset-fashion-mnist)'}`,
    async () => {
      if (!REAL_PRESENT)
        throw new Error(`CI=true but ${SYSTEM_DIR} lacks the Fashion-MNIST files: CI must apt-get install dataset-fashion-mnist`);
      // An empty env and workspace, so only the system folder can be found.
      const data = right(await loadFashionMnist({ env: {}, workspaceRoot: temp.dir }));
      expect(data.source.kind).toBe('system');
      expect(describeSource(data.source)).toBe(`data: ${SYSTEM_DIR} (package dataset-fashion-mnist, verified md5)`);
      expect(Object.values(data.source.verification)).not.toContain('off');
      for (const [split, count] of [
        [data.train, 60_000],
        [data.test, 10_000],
      ] as const) {
        expect([split.count, split.height, split.width, split.images.length, split.labels.length]).toEqual([
          count,
          28,
          28,
          count * 28 * 28,
          count,
        ]);
        expect(histogram(split.labels)).toEqual(CLASS_NAMES.map(() => count / 10));
      }
      // The widely used normalisation constant: mean training pixel 0.2860 (of 255).
      const sum = data.train.images.reduce((a, b) => a + b, 0);
      expect(sum / data.train.images.length / 255).toBeCloseTo(0.286, 3);
    },
  );
});
