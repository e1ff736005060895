/**
 * Finding the four files, in order: an explicit folder (`dataDir`), `FASHION_MNIST_DIR`,
 * `<workspace>/data/fashion-mnist/`, `/usr/share/datasets/fashion-mnist/` (Debian package
 * `dataset-fashion-mnist`), and, only if allowed, a download into the workspace folder.
 */
import { stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import * as E from 'fp-ts/Either';
import { FASHION_MNIST_FILES, FILE_ROLES, type FileRole, type Manifest } from './checksums.ts';
import { dataError, type DataError } from './data_error.ts';
import { downloadFashionMnist, OFFICIAL_MIRROR, type DownloadOptions } from './download.ts';

/** Environment variable naming a folder with the four `.gz` files. */
export const ENV_VAR = 'FASHION_MNIST_DIR';

/** Where the Debian package `dataset-fashion-mnist` installs the files. */
export const SYSTEM_DIR = '/usr/share/datasets/fashion-mnist';

/** The workspace's cache folder, relative to the workspace root (git-ignored). */
export const WORKSPACE_DIR = join('data', 'fashion-mnist');

/** How messages name the `dataDir` option when the caller gives no {@link LocateOptions.dataDirName}. */
export const DATA_DIR_OPTION = 'the dataDir option';

/** Which rule found the files. */
export type SourceKind = 'data-dir' | 'env' | 'workspace' | 'system' | 'download';

/** The folder holding all four files, how it was found, and each file's path. */
export interface Located {
  readonly kind: SourceKind;
  /** How it was found, in words: e.g. `package dataset-fashion-mnist`, or the caller's {@link LocateOptions.dataDirName}. */
  readonly label: string;
  readonly dir: string;
  readonly files: Readonly<Record<FileRole, string>>;
}

/** Where to look; every field has a default, and tests inject all of them. */
export interface LocateOptions {
  /** An explicit folder; it must hold the files. */
  readonly dataDir?: string;
  /**
   * How messages name `dataDir`: an app passes the flag that sets it. Default
   * {@link DATA_DIR_OPTION}; the lib itself names no app's flags.
   */
  readonly dataDirName?: string;
  /** Environment to read {@link ENV_VAR} from; default `process.env`. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Workspace root holding `data/fashion-mnist/`; default `process.cwd()`. */
  readonly workspaceRoot?: string;
  /** The system folder; default {@link SYSTEM_DIR}. */
  readonly systemDir?: string;
  /** File names and checksums; default {@link FASHION_MNIST_FILES}. */
  readonly manifest?: Manifest;
  /** Allow downloading into the workspace folder when nothing else has the files. Default false: no network unless asked. */
  readonly download?: boolean;
  /** fetch, mirror and progress for the download. */
  readonly downloader?: Pick<DownloadOptions, 'fetch' | 'mirror' | 'onProgress'>;
}

/**
 * Finds the folder with the four files, or says in one message how to get them.
 * An explicit `dataDir` or `FASHION_MNIST_DIR` that lacks files is an error, not a fall-through.
 * @example
 * await locateFashionMnist({ workspaceRoot: '/work/main' })
 * // Right({ kind: 'system', dir: '/usr/share/datasets/fashion-mnist', files: { trainImages: '/usr/share/…/train-images-idx3-ubyte.gz', … } })
 */
export async function locateFashionMnist(options: LocateOptions = {}): Promise<E.Either<DataError, Located>> {
  const manifest = options.manifest ?? FASHION_MNIST_FILES;
  const env = options.env ?? process.env;
  const workspaceDir = resolve(options.workspaceRoot ?? process.cwd(), WORKSPACE_DIR);
  const systemDir = options.systemDir ?? SYSTEM_DIR;

  const dataDirName = options.dataDirName ?? DATA_DIR_OPTION;
  const explicit: readonly (readonly [SourceKind, string | undefined, string])[] = [
    ['data-dir', options.dataDir, dataDirName],
    ['env', env[ENV_VAR], ENV_VAR],
  ];
  for (const [kind, given, label] of explicit) {
    if (given === undefined || given === '') continue;
    const dir = resolve(given);
    const missing = await missingFiles(dir, manifest);
    if (missing.length > 0) {
      const what = (await isDir(dir)) ? `lacks ${missing.join(', ')}` : 'does not exist';
      return E.left(
        dataError(
          'MissingFiles',
          dir,
          `the folder given by ${label} ${what}: put the four Fashion-MNIST .gz files (${fileNames(manifest)}) there, or drop ${label} to search ${workspaceDir} and ${systemDir}`,
        ),
      );
    }
    return E.right(located(kind, label, dir, manifest));
  }

  const workspaceMissing = await missingFiles(workspaceDir, manifest);
  if (workspaceMissing.length === 0) return E.right(located('workspace', 'workspace cache', workspaceDir, manifest));
  if ((await missingFiles(systemDir, manifest)).length === 0)
    return E.right(located('system', 'package dataset-fashion-mnist', systemDir, manifest));

  const howTo = howToGet(dataDirName, { workspaceDir, systemDir, manifest, mirror: options.downloader?.mirror ?? OFFICIAL_MIRROR });
  if (options.download !== true) {
    return E.left(dataError('NotFound', '', `Fashion-MNIST not found in ${workspaceDir} or ${systemDir}. ${howTo}`));
  }
  const roles = FILE_ROLES.filter((role) => workspaceMissing.includes(manifest[role].name));
  const downloaded = await downloadFashionMnist(workspaceDir, { ...options.downloader, manifest, roles });
  if (E.isLeft(downloaded)) return E.left({ ...downloaded.left, message: `${downloaded.left.message}. ${howTo}` });
  return E.right(located('download', 'downloaded', workspaceDir, manifest));
}

/** The one message listing the three ways to get the data. */
function howToGet(
  dataDirName: string,
  where: { readonly workspaceDir: string; readonly systemDir: string; readonly manifest: Manifest; readonly mirror: string },
): string {
  return [
    'Get it one of three ways:',
    `  1. apt-get install dataset-fashion-mnist (installs ${where.systemDir});`,
    `  2. set ${ENV_VAR} (or pass ${dataDirName}) to a folder with the four .gz files: ${fileNames(where.manifest)};`,
    `  3. allow the download (network; the download option) from ${where.mirror} into ${where.workspaceDir}.`,
  ].join('\n');
}

function fileNames(manifest: Manifest): string {
  return FILE_ROLES.map((role) => manifest[role].name).join(', ');
}

function located(kind: SourceKind, label: string, dir: string, manifest: Manifest): Located {
  const files = Object.fromEntries(FILE_ROLES.map((role) => [role, join(dir, manifest[role].name)])) as Record<FileRole, string>;
  return { kind, label, dir, files };
}

function isDir(path: string): Promise<boolean> {
  return stat(path).then(
    (s) => s.isDirectory(),
    () => false,
  );
}

/** Names of the manifest's files that are not regular files in `dir` (all of them if `dir` does not exist). */
async function missingFiles(dir: string, manifest: Manifest): Promise<string[]> {
  const present = await Promise.all(
    FILE_ROLES.map((role) =>
      stat(join(dir, manifest[role].name)).then(
        (s) => s.isFile(),
        () => false,
      ),
    ),
  );
  return FILE_ROLES.filter((_, i) => !present[i]).map((role) => manifest[role].name);
}
