/**
 * Whether a path can receive an app's output, checked before any work starts: a folder where
 * a file goes (or the reverse), a path under a file, a read-only or full file system, a folder
 * without write permission. Found in a second, not after minutes of training or evaluating.
 */
import { closeSync, lstatSync, openSync, rmSync, statSync, writeSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { absurd } from 'fp-ts/function';
import { describeSystemError, systemError, type SystemError } from './system_error.ts';

/** What an output path receives: one file (written whole), or a folder (created if missing). */
export type OutputKind = 'file' | 'directory';

/** Why a path cannot receive output. */
export type OutputPathError =
  | { readonly _tag: 'IsDirectory'; readonly path: string }
  | { readonly _tag: 'IsFile'; readonly path: string }
  | { readonly _tag: 'Special'; readonly path: string }
  | { readonly _tag: 'UnderFile'; readonly path: string; readonly file: string }
  | { readonly _tag: 'NotWritable'; readonly path: string; readonly folder: string; readonly error: SystemError };

/**
 * Null when `path` can receive a `kind` of output, else why not. Writes (and removes) one
 * one-byte probe file in the folder that would receive the output: permission bits do not tell
 * a read-only mount or a full disk, and root passes every permission check.
 * @example checkOutputPath('/proc/version', 'directory') // { _tag: 'IsFile', path: '/proc/version' }
 */
export function checkOutputPath(path: string, kind: OutputKind): OutputPathError | null {
  const target = resolve(path);
  const here = kindOf(target);
  if (here === 'directory' && kind === 'file') return { _tag: 'IsDirectory', path };
  if (here === 'file' && kind === 'directory') return { _tag: 'IsFile', path };
  if (here === 'other') return { _tag: 'Special', path };
  // The folder that would receive the output: the path itself (an existing folder), else its nearest existing ancestor.
  let folder = here === 'directory' ? target : dirname(target);
  for (;;) {
    const k = kindOf(folder);
    if (k === 'directory') break;
    if (k === 'file') return { _tag: 'UnderFile', path, file: folder };
    const up = dirname(folder);
    if (up === folder) break;
    folder = up;
  }
  const probe = join(folder, `.write-probe-${process.pid}`);
  try {
    const fd = openSync(probe, 'wx');
    try {
      writeSync(fd, '\n');
    } finally {
      closeSync(fd);
    }
  } catch (e) {
    rmSync(probe, { force: true });
    const error = systemError(e);
    if (error === null) throw e;
    return { _tag: 'NotWritable', path, folder, error: { ...error, target: folder } };
  }
  rmSync(probe, { force: true });
  return null;
}

/**
 * The problem in one line, without the flag (the app adds it).
 * @example describeOutputPathError({ _tag: 'UnderFile', path: 'a.txt/out.json', file: '/w/a.txt' })
 * // '/w/a.txt is a file, so nothing can be created under it'
 */
export function describeOutputPathError(e: OutputPathError): string {
  switch (e._tag) {
    case 'IsDirectory':
      return 'a folder is there, where a file goes; give the path of a file';
    case 'IsFile':
      return 'a file is there, where a folder goes; give the path of a folder (new or existing)';
    case 'UnderFile':
      return `${e.file} is a file, so nothing can be created under it`;
    case 'NotWritable':
      return `cannot write there: ${describeSystemError(e.error)}`;
    case 'Special':
      return 'a device, socket or pipe is there, which the output would replace; give the path of a file or folder';
    default:
      return absurd(e);
  }
}

function kindOf(path: string): OutputKind | 'missing' | 'other' {
  try {
    lstatSync(path);
  } catch {
    return 'missing';
  }
  try {
    const s = statSync(path);
    return s.isDirectory() ? 'directory' : s.isFile() ? 'file' : 'other';
  } catch {
    return 'other';
  }
}
