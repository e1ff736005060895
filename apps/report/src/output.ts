/**
 * The output directory, written all at once: files go to a temporary directory next to
 * `--out`, which is renamed into place only when every file is written. A previous report
 * there is replaced; any other existing content is refused.
 */
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import * as E from 'fp-ts/Either';

/** A file of the report, relative to the output directory. */
export interface OutputFile {
  readonly path: string;
  readonly data: string | Uint8Array;
}

/**
 * Whether `out` may receive a report: it does not exist, is empty, or holds a previous
 * report (report.md). Checked before anything is read or written.
 * @example checkOut('reports/latest') // Right(undefined)
 */
export function checkOut(out: string): E.Either<string, void> {
  if (!existsSync(out)) return E.right(undefined);
  if (!statSync(out).isDirectory()) return E.left(`--out=${out} is a file: choose a new directory, or a previous report directory to replace`);
  if (existsSync(join(out, 'report.md')) || readdirSync(out).length === 0) return E.right(undefined);
  return E.left(`--out=${out} exists and is not a report directory (no report.md): choose a new --out, or remove ${out} first`);
}

/**
 * Writes the files under a temporary directory beside `out`, then swaps it into place
 * (replacing a previous report). On failure nothing is left behind.
 * @example writeOutput('reports/latest', [{ path: 'report.md', data: '# …' }]) // Right(undefined)
 */
export function writeOutput(out: string, files: readonly OutputFile[]): E.Either<string, void> {
  const parent = dirname(out);
  const tmp = join(parent, `.${basename(out)}.tmp-${process.pid}`);
  const old = join(parent, `.${basename(out)}.old-${process.pid}`);
  try {
    mkdirSync(parent, { recursive: true });
    rmSync(tmp, { recursive: true, force: true });
    for (const file of files) {
      const path = join(tmp, file.path);
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, file.data);
    }
    if (existsSync(out)) renameSync(out, old);
    renameSync(tmp, out);
    rmSync(old, { recursive: true, force: true });
    return E.right(undefined);
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    // A failure between the two renames: put the previous report back.
    if (!existsSync(out) && existsSync(old)) renameSync(old, out);
    return E.left(`cannot write ${out}: ${(e as Error).message}`);
  }
}
