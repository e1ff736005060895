/**
 * Test fixtures, generated on the fly (no binary fixtures in git): tiny 28×28 IDX splits,
 * gzipped into a temp folder, with a manifest of their own MD5s. Used only by `*_test.ts`.
 */
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import * as E from 'fp-ts/Either';
import { fromBuffer } from './_bytes.ts';
import { FASHION_MNIST_FILES, FILE_ROLES, md5Hex, type FileRole, type Manifest } from './checksums.ts';
import { encodeIdx } from './idx.ts';
import { IMAGE_SIZE } from './split.ts';

/** Deterministic bytes, so fixtures are reproducible without a seed parameter everywhere. */
export function patternBytes(length: number, salt: number): Uint8Array {
  return Uint8Array.from({ length }, (_, i) => (i * 31 + salt * 17 + ((i * i) >> 3)) & 0xff);
}

/** Uncompressed IDX bytes of the four files: `train` and `test` images with labels cycling 0..9. */
export function fixtureIdx(counts: { train: number; test: number }): Record<FileRole, Uint8Array> {
  const images = (count: number, salt: number) =>
    encodeIdx({ kind: 'images', dims: [count, IMAGE_SIZE, IMAGE_SIZE], data: patternBytes(count * IMAGE_SIZE * IMAGE_SIZE, salt) });
  const labels = (count: number, offset: number) =>
    encodeIdx({ kind: 'labels', dims: [count], data: Uint8Array.from({ length: count }, (_, i) => (i + offset) % 10) });
  return {
    trainImages: images(counts.train, 1),
    trainLabels: labels(counts.train, 0),
    testImages: images(counts.test, 2),
    testLabels: labels(counts.test, 3),
  };
}

/** Gzip of some bytes as a plain Uint8Array. */
export function gzip(bytes: Uint8Array, level = 6): Uint8Array {
  return fromBuffer(gzipSync(bytes, { level }));
}

/** The four fixture files gzipped, keyed by role, and a manifest of their MD5s (official names). */
export function fixtureGz(counts: { train: number; test: number } = { train: 3, test: 2 }): {
  gz: Record<FileRole, Uint8Array>;
  manifest: Manifest;
} {
  const idx = fixtureIdx(counts);
  const gz = byRole((role) => gzip(idx[role]));
  const manifest: Manifest = byRole((role) => ({
    name: FASHION_MNIST_FILES[role].name,
    gzMd5: md5Hex(gz[role]),
    idxMd5: md5Hex(idx[role]),
  }));
  return { gz, manifest };
}

/** A record with one value per file role. */
export function byRole<T>(f: (role: FileRole) => T): Record<FileRole, T> {
  return { trainImages: f('trainImages'), trainLabels: f('trainLabels'), testImages: f('testImages'), testLabels: f('testLabels') };
}

/** Writes files (name → bytes) into `dir`, creating it. */
export async function writeFiles(dir: string, files: Readonly<Record<string, Uint8Array>>): Promise<void> {
  await mkdir(dir, { recursive: true });
  await Promise.all(Object.entries(files).map(([name, bytes]) => writeFile(join(dir, name), bytes)));
}

/** Writes the four fixture `.gz` files under their official names into `dir`. */
export async function writeFixtureDir(dir: string, gz: Record<FileRole, Uint8Array>): Promise<void> {
  await writeFiles(dir, Object.fromEntries(FILE_ROLES.map((role) => [FASHION_MNIST_FILES[role].name, gz[role]])));
}

/** A fresh temp folder, and a function removing it. */
export async function tempDir(): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'fashion-mnist-test-'));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** A loopback HTTP server on 127.0.0.1: serves `files` by name, 404 otherwise, and records request paths. */
export async function serveFiles(
  files: Readonly<Record<string, Uint8Array>>,
): Promise<{ mirror: string; requests: string[]; close: () => Promise<void> }> {
  const requests: string[] = [];
  const server = createServer((req, res) => {
    const name = (req.url ?? '/').slice(1);
    requests.push(name);
    const body = files[name];
    if (body === undefined) {
      res.writeHead(404, 'Not Found').end();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': body.length }).end(body);
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address() as AddressInfo;
  return {
    mirror: `http://127.0.0.1:${port}/`,
    requests,
    close: () =>
      new Promise<void>((done, fail) => {
        server.close((e) => (e ? fail(e) : done()));
        server.closeAllConnections(); // fetch keeps connections alive
      }),
  };
}

/** The error of a result that must have failed (the test fails if it succeeded). */
export function left(result: E.Either<{ _tag: string; file: string; message: string }, unknown>): {
  _tag: string;
  file: string;
  message: string;
} {
  if (E.isRight(result)) throw new Error('expected a Left, got a Right');
  return result.left;
}
