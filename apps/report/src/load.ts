/**
 * Finding and reading run directories for the report. Each `--runs` path is a run
 * directory (it has config.json) or a folder of them; every problem is a tagged error
 * whose message names the file and the fix. Reads only; writes nothing.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import * as E from 'fp-ts/Either';
import { readMetrics, type EpochMetrics } from '@resnet/training';
import { parseConfig, type RunConfig } from './run_config.ts';

/** A run directory, read and checked. */
export interface LoadedRun {
  /** The directory, as given on the command line (joined with the folder's entry). */
  readonly dir: string;
  readonly config: RunConfig;
  /** Finished epochs, in file order. */
  readonly metrics: readonly EpochMetrics[];
}

/** Why the runs cannot be reported on. `BadPath`/`NoRuns` are usage errors; the rest are bad data. */
export interface LoadError {
  readonly _tag: 'BadPath' | 'NoRuns' | 'BadConfig' | 'CorruptMetrics' | 'NoFinishedEpoch';
  readonly message: string;
}

/** The runs to report on, and the runs skipped because no epoch has finished yet. */
export interface LoadedRuns {
  /** Ordered by variant depth, then directory. */
  readonly runs: readonly LoadedRun[];
  readonly unfinished: readonly LoadedRun[];
}

/**
 * The run directories named by `paths`: each path itself when it holds config.json, else
 * its immediate subdirectories that do. Duplicates are dropped.
 * @example findRunDirs(['runs/report']) // Right(['runs/report/resnet18', 'runs/report/resnet34'])
 */
export function findRunDirs(paths: readonly string[]): E.Either<LoadError, readonly string[]> {
  const dirs: string[] = [];
  for (const path of paths) {
    if (!existsSync(path)) return E.left({ _tag: 'BadPath', message: `--runs: ${path} does not exist: pass run directories (with config.json) or folders of them, comma-separated` });
    if (!statSync(path).isDirectory()) return E.left({ _tag: 'BadPath', message: `--runs: ${path} is a file, not a directory: pass run directories (with config.json) or folders of them` });
    if (existsSync(join(path, 'config.json'))) {
      dirs.push(path);
      continue;
    }
    const children = readdirSync(path, { withFileTypes: true })
      .filter((d) => d.isDirectory() && existsSync(join(path, d.name, 'config.json')))
      .map((d) => join(path, d.name))
      .sort();
    if (children.length === 0) {
      return E.left({ _tag: 'NoRuns', message: `no run directories in ${path}: expected config.json in ${path} or its subfolders; train one with npx nx run train:serve --out=${join(path, 'resnet18')}` });
    }
    dirs.push(...children);
  }
  return E.right([...new Set(dirs)]);
}

/**
 * Reads one run directory: config.json (checked) and metrics.jsonl (every line a complete
 * epoch record; a bad line is reported as `file:line: reason`).
 * @example loadRun('runs/report/resnet18') // Right({ dir, config, metrics: [{ epoch: 1, … }] })
 */
export function loadRun(dir: string): E.Either<LoadError, LoadedRun> {
  const configPath = join(dir, 'config.json');
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(configPath, 'utf8'));
  } catch (e) {
    return E.left({ _tag: 'BadConfig', message: `${configPath}: not valid JSON (${(e as Error).message}): pass a run directory written by train:serve, or fix the file` });
  }
  const config = parseConfig(json, configPath);
  if (E.isLeft(config)) return E.left({ _tag: 'BadConfig', message: config.left });
  const metricsPath = join(dir, 'metrics.jsonl');
  const metrics = readMetrics(metricsPath);
  if (E.isLeft(metrics)) return E.left({ _tag: 'CorruptMetrics', message: metrics.left.message });
  const incomplete = incompleteRecord(metricsPath, metrics.right);
  if (incomplete !== null) return E.left({ _tag: 'CorruptMetrics', message: incomplete });
  return E.right({ dir, config: config.right, metrics: metrics.right });
}

/**
 * Finds and reads every run; runs with no finished epoch are set aside (the report names
 * them), and it is an error only when no run has one.
 * @example loadRuns(['runs/report']) // Right({ runs: [ResNet-18 run, ResNet-50 run], unfinished: [] })
 */
export function loadRuns(paths: readonly string[]): E.Either<LoadError, LoadedRuns> {
  const dirs = findRunDirs(paths);
  if (E.isLeft(dirs)) return dirs;
  const loaded: LoadedRun[] = [];
  for (const dir of dirs.right) {
    const run = loadRun(dir);
    if (E.isLeft(run)) return run;
    loaded.push(run.right);
  }
  const ordered = [...loaded].sort((a, b) => a.config.variant - b.config.variant || (a.dir < b.dir ? -1 : a.dir > b.dir ? 1 : 0));
  const runs = ordered.filter((r) => r.metrics.length > 0);
  const unfinished = ordered.filter((r) => r.metrics.length === 0);
  if (runs.length === 0) {
    return E.left({
      _tag: 'NoFinishedEpoch',
      message: `no run has a finished epoch (${unfinished.map((r) => `${r.dir}/metrics.jsonl`).join(', ')} missing or empty): wait until train:serve finishes an epoch, then run the report again`,
    });
  }
  return E.right({ runs, unfinished });
}

const FIELDS = ['epoch', 'loss', 'trainAcc', 'testAcc', 'examplesPerSec', 'lr', 'seconds'] as const;

/** `file:line: reason` for the first record lacking a number the report shows, else null. */
function incompleteRecord(path: string, metrics: readonly EpochMetrics[]): string | null {
  if (metrics.length === 0) return null;
  // readMetrics skips blank lines: map record i back to its line number.
  const lines = readFileSync(path, 'utf8')
    .split('\n')
    .flatMap((line, i) => (line.trim() === '' ? [] : [i + 1]));
  for (const [i, m] of metrics.entries()) {
    const missing = FIELDS.find((f) => typeof m[f] !== 'number' || !Number.isFinite(m[f]));
    if (missing !== undefined) return `${path}:${lines[i] ?? i + 1}: not a metrics record ("${missing}" must be a number, got ${JSON.stringify(m[missing]) ?? 'nothing'})`;
  }
  return null;
}
