import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import * as E from 'fp-ts/Either';
import { fixtureGz, tempDir, writeFiles, writeFixtureDir, left } from './_fixtures.ts';
import { FASHION_MNIST_FILES, FILE_ROLES } from './checksums.ts';
import type { FetchLike } from './download.ts';
import { DATA_DIR_OPTION, ENV_VAR, locateFashionMnist, type LocateOptions, type SourceKind } from './locate.ts';

const NAMES = FILE_ROLES.map((role) => FASHION_MNIST_FILES[role].name);
const ORDER = ['data-dir', 'env', 'workspace', 'system'] as const satisfies readonly SourceKind[];
const { gz, manifest } = fixtureGz();

let temp: Awaited<ReturnType<typeof tempDir>>;
beforeEach(async () => {
  temp = await tempDir();
});
afterEach(() => temp.cleanup());

/** Folders for each source under the temp dir; the locator only needs the files to exist. */
function dirs(root: string) {
  return {
    'data-dir': join(root, 'explicit'),
    env: join(root, 'env'),
    workspace: join(root, 'ws', 'data', 'fashion-mnist'),
    system: join(root, 'system'),
  } as const;
}
async function populate(dir: string, names: readonly string[] = NAMES): Promise<void> {
  await writeFiles(dir, Object.fromEntries(names.map((name) => [name, Uint8Array.of(1)])));
}
function options(root: string, extra: Partial<LocateOptions> = {}): LocateOptions {
  return { env: {}, workspaceRoot: join(root, 'ws'), systemDir: dirs(root).system, ...extra };
}
const noNetwork: FetchLike = () => {
  throw new Error('the network must not be used');
};

describe('locating the files', () => {
  // Every subset of the four sources: the first present in ORDER wins.
  const subsets = Array.from({ length: 16 }, (_, mask) => ORDER.filter((_, i) => (mask >> i) & 1));
  test.each(subsets.map((present) => [present.join(' + ') || 'nothing', present] as const))(
    'with %s present, the first in order (--data-dir, env, workspace, system) wins',
    async (_, present) => {
      const d = dirs(temp.dir);
      for (const kind of present) await populate(d[kind]);
      const result = await locateFashionMnist(
        options(temp.dir, {
          ...(present.includes('data-dir') ? { dataDir: d['data-dir'] } : {}),
          env: present.includes('env') ? { [ENV_VAR]: d.env } : {},
          downloader: { fetch: noNetwork },
        }),
      );
      const winner = present[0];
      if (winner === undefined) {
        expect(left(result)._tag).toBe('NotFound');
      } else {
        expect(result).toMatchObject(
          E.right({
            kind: winner,
            dir: d[winner],
            files: Object.fromEntries(FILE_ROLES.map((role) => [role, join(d[winner], FASHION_MNIST_FILES[role].name)])),
          }),
        );
      }
    },
  );

  test('an explicit dataDir lacking files is an error naming the folder and the missing files, not a fall-through', async () => {
    const d = dirs(temp.dir);
    await populate(d['data-dir'], NAMES.slice(0, 2));
    await populate(d.system);
    const error = left(await locateFashionMnist(options(temp.dir, { dataDir: d['data-dir'] })));
    expect(error._tag).toBe('MissingFiles');
    expect(error.file).toBe(d['data-dir']);
    expect(error.message).toContain(
      `${d['data-dir']}: the folder given by ${DATA_DIR_OPTION} lacks t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz`,
    );
  });

  test("messages name dataDir as the caller does (an app's flag), and so does the source's label", async () => {
    const d = dirs(temp.dir);
    await populate(d['data-dir'], NAMES.slice(0, 2));
    const error = left(await locateFashionMnist(options(temp.dir, { dataDir: d['data-dir'], dataDirName: '--data-dir' })));
    expect(error.message).toContain(`${d['data-dir']}: the folder given by --data-dir lacks t10k-images-idx3-ubyte.gz`);
    expect(error.message).toContain('or drop --data-dir to search');
    expect(
      left(await locateFashionMnist(options(temp.dir, { dataDirName: '--data-dir', downloader: { fetch: noNetwork } }))).message,
    ).toContain(`set ${ENV_VAR} (or pass --data-dir) to a folder`);
    await populate(d['data-dir']);
    expect(await locateFashionMnist(options(temp.dir, { dataDir: d['data-dir'], dataDirName: '--data-dir' }))).toMatchObject(
      E.right({ kind: 'data-dir', label: '--data-dir' }),
    );
  });

  test('FASHION_MNIST_DIR lacking files is an error naming the variable, the folder and the missing files', async () => {
    const d = dirs(temp.dir);
    await populate(d.env, NAMES.slice(1));
    await populate(d.workspace);
    const error = left(await locateFashionMnist(options(temp.dir, { env: { [ENV_VAR]: d.env } })));
    expect(error).toMatchObject({ _tag: 'MissingFiles', file: d.env });
    expect(error.message).toContain(`the folder given by ${ENV_VAR} lacks train-images-idx3-ubyte.gz:`);
  });

  test('an explicit folder that does not exist is called out as such', async () => {
    const missing = join(temp.dir, 'nope');
    expect(left(await locateFashionMnist(options(temp.dir, { dataDir: missing }))).message).toContain(
      `${missing}: the folder given by ${DATA_DIR_OPTION} does not exist`,
    );
  });

  test('an empty FASHION_MNIST_DIR counts as unset', async () => {
    await populate(dirs(temp.dir).system);
    const result = await locateFashionMnist(options(temp.dir, { env: { [ENV_VAR]: '' } }));
    expect(E.isRight(result) && result.right.kind).toBe('system');
  });

  test('a partial workspace folder falls through to the system folder', async () => {
    const d = dirs(temp.dir);
    await populate(d.workspace, NAMES.slice(0, 3));
    await populate(d.system);
    const result = await locateFashionMnist(options(temp.dir));
    expect(E.isRight(result) && result.right.kind).toBe('system');
  });

  test('when nothing has the files, one message lists the three ways to get them, and the network is not used', async () => {
    const d = dirs(temp.dir);
    const error = left(await locateFashionMnist(options(temp.dir, { downloader: { fetch: noNetwork } })));
    expect(error._tag).toBe('NotFound');
    expect(error.message).toContain(`Fashion-MNIST not found in ${d.workspace} or ${d.system}`);
    expect(error.message).toContain('apt-get install dataset-fashion-mnist');
    expect(error.message).toContain(`set ${ENV_VAR} (or pass ${DATA_DIR_OPTION}) to a folder with the four .gz files: ${NAMES.join(', ')}`);
    expect(error.message).toContain('allow the download (network');
  });

  test('when allowed, a download fills the workspace folder, fetching only the missing files', async () => {
    const d = dirs(temp.dir);
    await writeFixtureDir(d.workspace, gz);
    await rm(join(d.workspace, manifest.testImages.name));
    const urls: string[] = [];
    const fetch: FetchLike = async (url) => {
      urls.push(url);
      return { ok: true, status: 200, statusText: 'OK', arrayBuffer: async () => new Uint8Array(gz.testImages).buffer };
    };
    const result = await locateFashionMnist(
      options(temp.dir, { download: true, manifest, downloader: { fetch, mirror: 'http://mirror.test/' } }),
    );
    expect(E.isRight(result) && [result.right.kind, result.right.dir]).toEqual(['download', d.workspace]);
    expect(urls).toEqual([`http://mirror.test/${manifest.testImages.name}`]);
    expect((await readdir(d.workspace)).sort()).toEqual([...NAMES].sort());
  });

  test('a failed download says why and still lists the other ways', async () => {
    const offline: FetchLike = () => Promise.reject(new Error('connect ECONNREFUSED'));
    const error = left(await locateFashionMnist(options(temp.dir, { download: true, downloader: { fetch: offline } })));
    expect(error._tag).toBe('DownloadFailed');
    expect(error.message).toContain('could not download (connect ECONNREFUSED)');
    expect(error.message).toContain('apt-get install dataset-fashion-mnist');
  });
});
