/**
 * A run directory's lifecycle: create a run (or start one again that never reached a
 * checkpoint), claim it for one process, and open it for resuming, reporting, evaluation or
 * export — every record read through its codec, errors naming the file (and the field).
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { hostname } from 'node:os';
import * as E from 'fp-ts/Either';
import { isGone, lockDirectory, lockOwner, writeFileAtomic, type DirLock, type LockOwner } from '@resnet/files';
import { parseRunConfig, type RunConfig } from './config.ts';
import { ioError, type RunError } from './errors.ts';
import { readLatest, type Latest } from './latest.ts';
import { CHECKPOINTS_DIR, CONFIG_FILE, isRunBookkeeping, isTempFile, LATEST_FILE, METRICS_FILE, MODEL_DIR } from './layout.ts';
import { PROGRESS_FILE } from './progress.ts';
import { STOP_RECORD_FILE } from './stop_record.ts';
import { readMetrics, type EpochMetrics } from './metrics.ts';

/** What is in a run directory. */
export interface OpenedRun {
  readonly config: RunConfig;
  readonly metrics: readonly EpochMetrics[];
  /** null when no checkpoint was written yet. */
  readonly latest: Latest | null;
}

/**
 * Starts a run in `dir`: it must not exist or be empty; a directory holding another run
 * (or this one, with a checkpoint) is refused. Writes config.json. `replaceUnstarted`: a run
 * here that never reached a checkpoint is replaced by this one, whatever its settings.
 * @example createRun('runs/18-2026…', config) // Right('Created')
 */
export function createRun(
  dir: string,
  config: object,
  options: { readonly replaceUnstarted?: boolean } = {},
): E.Either<RunError, 'Created' | 'Restarted'> {
  try {
    // A sweep's run that never reached a checkpoint (its settings changed, or it was killed): nothing to
    // keep. Everything its process wrote goes — config.json last — or what is left is no run directory
    // and is refused below (a killed run's progress.json did that: #24's sweep, 2026-12-06).
    if (options.replaceUnstarted === true && existsSync(dir) && !existsSync(join(dir, LATEST_FILE))) {
      const restarted = restartRun(dir);
      if (E.isLeft(restarted)) return restarted;
      for (const f of [PROGRESS_FILE, STOP_RECORD_FILE, CONFIG_FILE]) rmSync(join(dir, f), { force: true });
    }
    if (existsSync(dir)) {
      if (!statSync(dir).isDirectory()) return E.left({ _tag: 'NotADirectory', dir, message: `${dir} is a file, not a directory` });
      if (existsSync(join(dir, CONFIG_FILE))) {
        const existing = safeJson(join(dir, CONFIG_FILE));
        const same = existing !== undefined && sameSettings(existing, config);
        // The same run, stopped before its first checkpoint: nothing to keep, start it again.
        if (same && !existsSync(join(dir, LATEST_FILE))) {
          const restarted = restartRun(dir);
          return E.isLeft(restarted) ? restarted : E.right('Restarted');
        }
        return E.left(
          same
            ? { _tag: 'AlreadyStarted', dir, message: `${dir} already holds this run` }
            : { _tag: 'DifferentRun', dir, holds: 'run', message: `${dir} already holds a different run (its config.json differs)` },
        );
      }
      // Leftovers of a write killed half-way (`config.json.tmp-<pid>`) do not make a run.
      if (readdirSync(dir).some((f) => !isRunBookkeeping(f)))
        return E.left({ _tag: 'DifferentRun', dir, holds: 'files', message: `${dir} is not empty and is not a run directory` });
    }
    mkdirSync(dir, { recursive: true });
    writeRunConfig(dir, config);
    return E.right('Created');
  } catch (e) {
    return E.left(ioError(dir, `cannot write ${dir}`, e));
  }
}

/**
 * Clears a run that has no checkpoint yet so it can start again from scratch: keeps
 * config.json, removes metrics, half-written checkpoints and temporary files.
 * @example restartRun('runs/18-…') // Right(undefined)
 */
export function restartRun(dir: string): E.Either<RunError, void> {
  try {
    for (const f of readdirSync(dir))
      if (f === METRICS_FILE || f === CHECKPOINTS_DIR || f === MODEL_DIR || f === LATEST_FILE || isTempFile(f))
        rmSync(join(dir, f), { recursive: true, force: true });
    return E.right(undefined);
  } catch (e) {
    return E.left(ioError(dir, `cannot clear ${dir} to start it again`, e));
  }
}

/**
 * Left(Busy) when a live process (or one on another host) owns the run in `dir`: for apps to
 * refuse in a second, before loading data, what {@link claimRun} would refuse later.
 * @example checkUnowned('runs/r') // Right(undefined), or Left({ _tag: 'Busy', owner: { pid: 4242, … }, … })
 */
export function checkUnowned(dir: string): E.Either<RunError, void> {
  const owner = lockOwner(dir);
  if (owner === null) return E.right(undefined);
  return isGone(owner) ? E.right(undefined) : E.left(busy(dir, owner, owner.host === hostname()));
}

function busy(dir: string, o: LockOwner, sameHost: boolean): RunError {
  return {
    _tag: 'Busy',
    dir,
    owner: o,
    sameHost,
    message: `${dir} is being trained by pid ${o.pid} on ${sameHost ? 'this host' : `host ${o.host}`} since ${o.startedAt} (${o.command})`,
  };
}

/**
 * Makes this process the run's only owner before it writes anything there (creating `dir` if
 * needed): a second training of the same run, here or on another host sharing the disk, is
 * refused with the owner; a lock left by a dead process on this host is taken over
 * (`tookOverFrom`). `release` also removes `dir` again if this claim created it and nothing
 * was written.
 * @example const claim = claimRun('runs/r', 'npx nx run train:serve --out=runs/r'); … claim.right.release();
 */
export function claimRun(dir: string, command: string): E.Either<RunError, DirLock> {
  let created = false;
  try {
    if (!existsSync(dir)) {
      mkdirSync(dir, { recursive: true });
      created = true;
    } else if (!statSync(dir).isDirectory()) {
      return E.left({ _tag: 'NotADirectory', dir, message: `${dir} is a file, not a directory` });
    }
    const lock = lockDirectory(dir, command);
    if (E.isRight(lock)) {
      const release = () => {
        lock.right.release();
        if (created && readdirSync(dir).length === 0) rmSync(dir, { recursive: true, force: true });
      };
      return E.right({ tookOverFrom: lock.right.tookOverFrom, release });
    }
    if (created) rmSync(dir, { recursive: true, force: true });
    const e = lock.left;
    if (e._tag === 'Unreadable')
      return E.left({
        _tag: 'Busy',
        dir,
        owner: null,
        sameHost: true,
        message: `${dir} is being claimed by another process right now (${e.lock} names no owner yet)`,
      });
    return E.left(busy(dir, e.owner, e.sameHost));
  } catch (e) {
    return E.left(ioError(dir, `cannot claim ${dir}`, e));
  }
}

/**
 * A run's config.json alone, checked field by field ({@link parseRunConfig}): what a run is,
 * before its metrics and checkpoint are read (train:serve picks the backend's precision by it).
 * @example readRunConfig('runs/18-…') // Right({ variant: 18, precision: 'fp32', … })
 */
export function readRunConfig(dir: string): E.Either<RunError, RunConfig> {
  const configPath = join(dir, CONFIG_FILE);
  if (!existsSync(configPath)) {
    const exists = existsSync(dir);
    return E.left({
      _tag: 'NotARun',
      dir,
      exists,
      message: `${dir} ${exists ? 'is not a run directory (no config.json)' : 'does not exist'}`,
    });
  }
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(configPath, 'utf8'));
  } catch (e) {
    const reason = `not valid JSON (${(e as Error).message})`;
    // The fix names no flag, and parseRunConfig's messages end in the same words.
    return E.left({
      _tag: 'BadConfig',
      dir,
      file: configPath,
      reason,
      message: `${configPath}: ${reason}: pass a run directory written by train:serve, or fix the file`,
    });
  }
  const config = parseRunConfig(json, configPath);
  return E.isLeft(config) ? E.left({ _tag: 'BadConfig', dir, file: configPath, reason: config.left, message: config.left }) : config;
}

/**
 * Reads a run directory for resuming, reporting, evaluation or export: config.json checked
 * field by field ({@link parseRunConfig}), every metrics line, and latest.json. The one
 * reader of the format; errors name the file (and the field).
 * @example openRun('runs/18-…') // Right({ config, metrics, latest })
 */
export function openRun(dir: string): E.Either<RunError, OpenedRun> {
  const config = readRunConfig(dir);
  if (E.isLeft(config)) return config;
  const metrics = readMetrics(join(dir, METRICS_FILE));
  if (E.isLeft(metrics)) return metrics;
  const latestPath = join(dir, LATEST_FILE);
  const latest = existsSync(latestPath) ? readLatest(dir) : E.right(null);
  if (E.isLeft(latest)) return latest;
  return E.right({ config: config.right, metrics: metrics.right, latest: latest.right });
}

/** Where a run's weights are: its final `model/`, else its latest checkpoint. */
export interface RunWeights {
  readonly dir: string;
  /** False: the latest checkpoint (the run has not finished). */
  readonly final: boolean;
  readonly latest: OpenedRun['latest'];
}

/**
 * The weights to evaluate or export: the final model, else the latest checkpoint; null before
 * the first epoch has ended.
 * @example runWeights('runs/smoke', opened) // { dir: 'runs/smoke/model', final: true, latest: … }
 */
export function runWeights(dir: string, opened: OpenedRun): RunWeights | null {
  const final = join(dir, MODEL_DIR);
  if (hasFinalModel(dir)) return { dir: final, final: true, latest: opened.latest };
  return opened.latest === null ? null : { dir: join(dir, CHECKPOINTS_DIR, opened.latest.checkpoint), final: false, latest: opened.latest };
}

/**
 * (Re)writes config.json: at creation, and when `--resume --epochs=N` re-plans the run.
 * @example writeRunConfig('runs/r', withReplan(config, change))
 */
export function writeRunConfig(dir: string, config: object): void {
  writeFileAtomic(join(dir, CONFIG_FILE), `${JSON.stringify(config, null, 2)}\n`);
}

/**
 * Whether `dir` holds a run (its config.json), whatever state the run is in.
 * @example isRunDirectory('docs/results/resnet18-seed0') // true
 */
export function isRunDirectory(dir: string): boolean {
  return existsSync(join(dir, CONFIG_FILE));
}

/**
 * Whether the run's final model has been written.
 * @example hasFinalModel('runs/smoke') // true
 */
export function hasFinalModel(dir: string): boolean {
  return existsSync(join(dir, MODEL_DIR, 'manifest.json'));
}

function safeJson(path: string): unknown {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as unknown;
  } catch {
    return undefined;
  }
}

/** Settings equal, ignoring fields that legitimately differ between two starts of one run. */
function sameSettings(a: unknown, b: unknown): boolean {
  const strip = (c: unknown) =>
    JSON.stringify({
      ...(c as object),
      createdAt: undefined,
      backend: undefined,
      machine: undefined,
      dataSource: undefined,
      command: undefined,
    });
  return strip(a) === strip(b);
}
