/**
 * Finding and reading run directories for the report. Each `--runs` path is a run
 * directory (it has config.json) or a folder of them; every problem is a tagged error
 * whose message names the file and the fix. Reads only; writes nothing.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import * as E from 'fp-ts/Either';
import {
  isRunDirectory,
  openRun,
  readRunEvaluation,
  type EpochMetrics,
  type EvaluationError,
  type EvaluationFile,
  type RunConfig,
} from '@resnet/run-dir';

/** A run directory, read and checked. */
export interface LoadedRun {
  /** The directory, as given on the command line (joined with the folder's entry). */
  readonly dir: string;
  readonly config: RunConfig;
  /** Finished epochs, in file order. */
  readonly metrics: readonly EpochMetrics[];
  /** The run's evaluation.json (per-class accuracy, confusion matrix), or null when it has none. */
  readonly evaluation: EvaluationFile | null;
}

/** Why the runs cannot be reported on. `BadPath`/`NoRuns` are usage errors; the rest are bad data. */
export type LoadError =
  /** A path to read runs from that does not exist, or is a file. */
  | { readonly _tag: 'BadPath'; readonly path: string; readonly problem: 'missing' | 'file'; readonly message: string }
  /** A folder with no run directory in it or below it. */
  | { readonly _tag: 'NoRuns'; readonly path: string; readonly message: string }
  | { readonly _tag: 'BadConfig' | 'CorruptMetrics' | 'NoFinishedEpoch'; readonly message: string }
  /** A run's evaluation.json, with the training lib's typed error (the app words the way out). */
  | { readonly _tag: 'BadEvaluation'; readonly error: EvaluationError; readonly message: string };

/** The runs to report on, and the runs skipped because no epoch has finished yet. */
export interface LoadedRuns {
  /** Ordered by variant depth, ours before reference runs of that depth, then by directory. */
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
    if (!existsSync(path)) return E.left({ _tag: 'BadPath', path, problem: 'missing', message: `${path} does not exist` });
    if (!statSync(path).isDirectory())
      return E.left({ _tag: 'BadPath', path, problem: 'file', message: `${path} is a file, not a directory` });
    if (isRunDirectory(path)) {
      dirs.push(path);
      continue;
    }
    const children = readdirSync(path, { withFileTypes: true })
      .filter((d) => d.isDirectory() && isRunDirectory(join(path, d.name)))
      .map((d) => join(path, d.name))
      .sort();
    if (children.length === 0) {
      return E.left({ _tag: 'NoRuns', path, message: `no run directories in ${path}: expected config.json in ${path} or its subfolders` });
    }
    dirs.push(...children);
  }
  return E.right([...new Set(dirs)]);
}

/**
 * Reads one run directory with the training lib's validating readers: config.json checked
 * field by field, every metrics.jsonl line a complete epoch record (a bad one is reported
 * as `file:line: reason`), and evaluation.json when present (it must be this run's).
 * @example loadRun('runs/report/resnet18') // Right({ dir, config, metrics: [{ epoch: 1, … }], evaluation: null })
 */
export function loadRun(dir: string): E.Either<LoadError, LoadedRun> {
  const run = openRun(dir);
  if (E.isLeft(run))
    return E.left({
      _tag: run.left._tag === 'BadConfig' || run.left._tag === 'NotARun' ? 'BadConfig' : 'CorruptMetrics',
      message: run.left.message,
    });
  const evaluation = readRunEvaluation(dir, run.right.config);
  if (E.isLeft(evaluation)) return E.left({ _tag: 'BadEvaluation', error: evaluation.left, message: evaluation.left.message });
  return E.right({ dir, config: run.right.config, metrics: run.right.metrics, evaluation: evaluation.right });
}

/**
 * Finds and reads every run; runs with no finished epoch are set aside (the report names
 * them), and it is an error only when no run has one.
 * @example loadRuns(['runs/report']) // Right({ runs: [ResNet-18 run, ResNet-18 PyTorch reference, ResNet-50 run], unfinished: [] })
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
  // By depth; at one depth our runs first, then reference runs; then by directory.
  const isReference = (r: LoadedRun): number => (r.config.reference === null ? 0 : 1);
  const ordered = [...loaded].sort(
    (a, b) => a.config.variant - b.config.variant || isReference(a) - isReference(b) || (a.dir < b.dir ? -1 : a.dir > b.dir ? 1 : 0),
  );
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
