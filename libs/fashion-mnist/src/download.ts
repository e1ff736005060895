/**
 * Downloading the four files from a mirror, safely: each file goes to a temp file in
 * the destination folder, is checksummed from disk, then atomically renamed into
 * place. A failed or bad download leaves nothing behind.
 */
import { randomUUID } from 'node:crypto';
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import * as E from 'fp-ts/Either';
import {
  FASHION_MNIST_FILES,
  FILE_ROLES,
  gunzipVerified,
  type FileChecksum,
  type FileRole,
  type Manifest,
  type Verification,
} from './checksums.ts';
import { fromBuffer } from './_bytes.ts';
import { dataError, type DataError } from './data_error.ts';

/** The official mirror of the README's download links. */
export const OFFICIAL_MIRROR = 'http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/';

/** The part of a `fetch` Response the downloader needs. */
export interface FetchResponse {
  readonly ok: boolean;
  readonly status: number;
  readonly statusText: string;
  arrayBuffer(): Promise<ArrayBuffer>;
}

/** A `fetch`-like function; inject one so tests never touch the network. */
export type FetchLike = (url: string) => Promise<FetchResponse>;

/** One finished file of a download, for a progress display. */
export interface DownloadProgress {
  readonly file: string;
  /** 1-based index of the file among those downloaded, and their number. */
  readonly index: number;
  readonly total: number;
  readonly bytes: number;
}

/** Where to download from and how; every field has a default. */
export interface DownloadOptions {
  /** Default: the global `fetch`. */
  readonly fetch?: FetchLike;
  /** Base URL ending in `/`; default {@link OFFICIAL_MIRROR}. */
  readonly mirror?: string;
  /** Names and checksums; default {@link FASHION_MNIST_FILES}. */
  readonly manifest?: Manifest;
  /** Which files to fetch; default all four. */
  readonly roles?: readonly FileRole[];
  readonly onProgress?: (progress: DownloadProgress) => void;
}

/** A file in place: where, how big, how it was verified. */
export interface Downloaded {
  readonly path: string;
  readonly bytes: number;
  readonly verification: Verification;
}

/** What {@link downloadFile} needs besides the URL and destination. */
export interface DownloadFileOptions {
  readonly fetch?: FetchLike;
  readonly expected: FileChecksum;
}

/**
 * Downloads one file to `dest`: temp file beside it, MD5 checked from disk, atomic rename.
 * @example
 * await downloadFile(OFFICIAL_MIRROR + 't10k-labels-idx1-ubyte.gz', 'data/fashion-mnist/t10k-labels-idx1-ubyte.gz', { expected: FASHION_MNIST_FILES.testLabels })
 * // Right({ path: 'data/fashion-mnist/t10k-labels-idx1-ubyte.gz', bytes: 5148, verification: 'gz-md5' }), or Left({ _tag: 'DownloadFailed' | 'ChecksumMismatch', … }) with nothing written
 */
export async function downloadFile(url: string, dest: string, options: DownloadFileOptions): Promise<E.Either<DataError, Downloaded>> {
  const fetchLike = options.fetch ?? defaultFetch;
  const fetched = await fetchBytes(fetchLike, url);
  if (E.isLeft(fetched)) return fetched;
  const dir = dirname(dest);
  const tmp = join(dir, `.${options.expected.name}.${randomUUID()}.part`);
  let renamed = false;
  try {
    await mkdir(dir, { recursive: true });
    const handle = await open(tmp, 'wx');
    try {
      await handle.writeFile(fetched.right);
      await handle.sync();
    } finally {
      await handle.close();
    }
    // Verify what is on disk, not what was received, so a bad write cannot slip through.
    const verified = gunzipVerified(fromBuffer(await readFile(tmp)), { file: url, expected: options.expected });
    if (E.isLeft(verified)) {
      return E.left(dataError('ChecksumMismatch', url, `download rejected, nothing was written to ${dir}: ${verified.left.message}`));
    }
    await rename(tmp, dest);
    renamed = true;
    return E.right({ path: dest, bytes: fetched.right.length, verification: verified.right.verification });
  } catch (e) {
    return E.left(dataError('DownloadFailed', dest, `could not write the download: ${errorMessage(e)}; check that ${dir} is writable`));
  } finally {
    if (!renamed) await rm(tmp, { force: true });
  }
}

/**
 * Downloads the Fashion-MNIST files into `dir` (default: all four), one after the other.
 * @example
 * await downloadFashionMnist('data/fashion-mnist', { onProgress: (p) => console.log(`${p.index}/${p.total} ${p.file}`) })
 * // Right([{ path: 'data/fashion-mnist/train-images-idx3-ubyte.gz', bytes: 26421880, verification: 'gz-md5' }, …])
 */
export async function downloadFashionMnist(
  dir: string,
  options: DownloadOptions = {},
): Promise<E.Either<DataError, readonly Downloaded[]>> {
  const manifest = options.manifest ?? FASHION_MNIST_FILES;
  const mirror = options.mirror ?? OFFICIAL_MIRROR;
  const roles = options.roles ?? FILE_ROLES;
  const done: Downloaded[] = [];
  for (const [i, role] of roles.entries()) {
    const expected = manifest[role];
    const dest = join(dir, expected.name);
    const result = await downloadFile(new URL(expected.name, mirror).href, dest, {
      expected,
      ...(options.fetch === undefined ? {} : { fetch: options.fetch }),
    });
    if (E.isLeft(result)) return result;
    done.push(result.right);
    options.onProgress?.({ file: dest, index: i + 1, total: roles.length, bytes: result.right.bytes });
  }
  return E.right(done);
}

async function fetchBytes(fetchLike: FetchLike, url: string): Promise<E.Either<DataError, Uint8Array>> {
  try {
    const response = await fetchLike(url);
    if (!response.ok) {
      return E.left(
        dataError(
          'DownloadFailed',
          url,
          `the server answered HTTP ${response.status} ${response.statusText}; try again later, or get the files another way`,
        ),
      );
    }
    return E.right(new Uint8Array(await response.arrayBuffer()));
  } catch (e) {
    return E.left(
      dataError('DownloadFailed', url, `could not download (${errorMessage(e)}); check the network, or get the files another way`),
    );
  }
}

function defaultFetch(url: string): Promise<FetchResponse> {
  return fetch(url);
}

function errorMessage(e: unknown): string {
  return e instanceof Error ? `${e.message}${e.cause instanceof Error ? `: ${e.cause.message}` : ''}` : String(e);
}
