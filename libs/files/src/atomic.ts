/**
 * The one way this project writes a file or a folder of files: under a temporary name beside
 * the target, each file fsynced, renamed into place, then the parent folder fsynced (SQLite's
 * "Atomic Commit": without the last step a crash can forget the rename). A reader sees the old
 * version or the new one, never a mix; a write that fails (a full disk, a read-only mount, a
 * folder where a file goes) removes what it had written and leaves the previous version as it
 * was, then throws the system error.
 */
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { writeStep } from './write_steps.ts';

/**
 * The temporary name of a write to `path` by this process: `<path>.tmp-<pid>` (run-directory
 * readers skip such names).
 * @example temporaryPath('runs/r/config.json') // 'runs/r/config.json.tmp-4242'
 */
export function temporaryPath(path: string): string {
  return `${path}.tmp-${process.pid}`;
}

/**
 * Writes `data` to `path` atomically and durably (see the module comment); `path`'s folder must exist.
 * @example writeFileAtomic('runs/r/latest.json', '{"checkpoint":"epoch-0001-step-000000"}\n')
 */
export function writeFileAtomic(path: string, data: string | Uint8Array): void {
  const tmp = temporaryPath(path);
  try {
    writeDurable(tmp, data, path);
    writeStep({ op: 'rename', path, of: path });
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
  syncFolder(dirname(path), path);
}

/**
 * Replaces the folder `dir` by one holding exactly `files` (name → contents; a list of byte
 * arrays is written one after another, so large files need not be joined in memory first), atomically and
 * durably: written under a temporary sibling name, then swapped in; the previous folder is put
 * back if the swap fails. `dir`'s parent must exist.
 * @example replaceDirectory('runs/r/model', new Map([['manifest.json', '{…}'], ['weights.bin', bytes]]))
 */
export function replaceDirectory(dir: string, files: ReadonlyMap<string, string | Uint8Array | readonly Uint8Array[]>): void {
  const tmp = join(dirname(dir), `.${basename(dir)}.tmp-${process.pid}`);
  const old = join(dirname(dir), `.${basename(dir)}.old-${process.pid}`);
  rmSync(tmp, { recursive: true, force: true });
  let movedAway = false;
  try {
    mkdirSync(tmp);
    for (const [name, data] of files) writeDurable(join(tmp, name), data, dir);
    syncFolder(tmp, dir);
    if (existsSync(dir)) {
      writeStep({ op: 'rename', path: old, of: dir });
      renameSync(dir, old);
      movedAway = true;
    }
    writeStep({ op: 'rename', path: dir, of: dir });
    renameSync(tmp, dir);
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    if (movedAway && !existsSync(dir)) renameSync(old, dir);
    throw e;
  }
  syncFolder(dirname(dir), dir);
  rmSync(old, { recursive: true, force: true });
}

function writeDurable(path: string, data: string | Uint8Array | readonly Uint8Array[], of: string): void {
  const fd = openSync(path, 'w');
  try {
    writeStep({ op: 'write', path, of });
  } catch (e) {
    closeSync(fd);
    throw e;
  }
  try {
    const parts = typeof data === 'string' ? [Buffer.from(data, 'utf8')] : data instanceof Uint8Array ? [data] : data;
    for (const bytes of parts) {
      let at = 0;
      while (at < bytes.byteLength) at += writeSync(fd, bytes, at, bytes.byteLength - at);
    }
    fsyncSync(fd);
  } catch (e) {
    // write and fsync errors name no file: name the one being written (not its temporary name),
    // so the message says where the disk is full.
    if (typeof e === 'object' && e !== null && !('path' in e)) Object.assign(e, { path: of });
    throw e;
  } finally {
    closeSync(fd);
  }
}

/** fsync a folder, so that a rename in it survives a crash. */
function syncFolder(dir: string, of: string): void {
  writeStep({ op: 'sync', path: dir, of });
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
