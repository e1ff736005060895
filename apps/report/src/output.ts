/**
 * The report's files in `--out`: report.md, summary.md and charts/, and nothing else there is
 * touched, so a report can sit beside the runs it reports on (docs/results holds both).
 * Everything is written to a temporary folder inside `--out` first and moved into place only
 * when every file is written, replacing a previous report's files (report.md last).
 */
import { existsSync, mkdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import * as E from 'fp-ts/Either';

/** A file of the report, relative to the output directory. */
export interface OutputFile {
  readonly path: string;
  readonly data: string | Uint8Array;
}

/** What a report consists of in its folder; everything else there is left alone. */
export const REPORT_ENTRIES = ['report.md', 'summary.md', 'charts'] as const;

/**
 * Whether `out` may receive a report: it does not exist, holds a previous report (report.md),
 * or holds none of the report's names (summary.md, charts/) that the report would replace.
 * Checked before anything is read or written.
 * @example checkOut('reports/latest') // Right(undefined)
 */
export function checkOut(out: string): E.Either<string, void> {
  if (!existsSync(out)) return E.right(undefined);
  if (!statSync(out).isDirectory())
    return E.left(`--out=${out} is a file: choose a new directory, or a previous report directory to replace`);
  if (existsSync(join(out, 'report.md'))) return E.right(undefined);
  const foreign = REPORT_ENTRIES.filter((name) => existsSync(join(out, name)));
  if (foreign.length > 0)
    return E.left(
      `--out=${out} holds ${foreign.join(' and ')} but no report.md, so they are not a previous report: choose another --out, or remove them first`,
    );
  return E.right(undefined);
}

/**
 * Writes the files (each under one of {@link REPORT_ENTRIES}) to a temporary folder inside `out`,
 * then moves them into place, replacing a previous report's entries; on failure the previous
 * report is put back and nothing new is left behind.
 * @example writeOutput('reports/latest', [{ path: 'report.md', data: '# …' }]) // Right(undefined)
 */
export function writeOutput(out: string, files: readonly OutputFile[]): E.Either<string, void> {
  const stray = files.find((f) => !(REPORT_ENTRIES as readonly string[]).includes(f.path.split('/')[0] ?? ''));
  if (stray !== undefined) return E.left(`cannot write ${join(out, stray.path)}: a report writes only ${REPORT_ENTRIES.join(', ')}`);
  const staging = join(out, `.report.tmp-${process.pid}`);
  const old = join(out, `.report.old-${process.pid}`);
  // report.md last: once it is in place, the whole report is.
  const order = [...REPORT_ENTRIES].sort((a, b) => Number(a === 'report.md') - Number(b === 'report.md'));
  const moved: string[] = [];
  try {
    mkdirSync(out, { recursive: true });
    rmSync(staging, { recursive: true, force: true });
    for (const file of files) {
      const path = join(staging, file.path);
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, file.data);
    }
    mkdirSync(old, { recursive: true });
    for (const name of order) {
      if (existsSync(join(out, name))) renameSync(join(out, name), join(old, name));
      moved.push(name);
      if (existsSync(join(staging, name))) renameSync(join(staging, name), join(out, name));
    }
    rmSync(staging, { recursive: true, force: true });
    rmSync(old, { recursive: true, force: true });
    return E.right(undefined);
  } catch (e) {
    // Put the previous report back over whatever of the new one got in.
    for (const name of moved) {
      if (existsSync(join(old, name))) {
        rmSync(join(out, name), { recursive: true, force: true });
        renameSync(join(old, name), join(out, name));
      } else {
        rmSync(join(out, name), { recursive: true, force: true });
      }
    }
    rmSync(staging, { recursive: true, force: true });
    rmSync(old, { recursive: true, force: true });
    return E.left(`cannot write ${out}: ${(e as Error).message}`);
  }
}
