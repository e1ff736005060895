/**
 * A run directory: everything a training run writes, so it can be inspected,
 * reported on and resumed.
 *
 *     config.json         every setting, versions, backend, data source; rewritten only when
 *                         `--resume --epochs=N` changes the plan (recorded under `replanned`)
 *     metrics.jsonl       one JSON object per finished epoch
 *     checkpoints/<id>/   latest checkpoint (tensor format of tensor_file.ts): params, state, velocity
 *     latest.json         { "checkpoint": "<id>", "epoch": …, "step": … }, replaced atomically
 *     model/              the final model: params and state, with the spec in its manifest
 *
 * Every file is written under a temporary name and renamed into place.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { hostname } from 'node:os';
import * as E from 'fp-ts/Either';
import { isGone, lockDirectory, lockOwner, LOCK_DIR, writeFileAtomic, type DirLock, type LockOwner } from '@resnet/files';
import type { Model } from '@resnet/tfjs';
import type { SgdState } from './sgd.ts';
import { restoreTensors, saveTensors } from './tensor_file.ts';
import { parseRunConfig, type RunConfig } from './run_config.ts';

/** One epoch's results, as written to metrics.jsonl. */
export interface EpochMetrics {
  /** 1-based epoch number. */
  readonly epoch: number;
  /** Mean training loss over the epoch (training mode, as the seed's d2l reports it). */
  readonly loss: number;
  readonly trainAcc: number;
  /** Test accuracy in inference mode after the epoch. */
  readonly testAcc: number;
  /** Training examples per second (data preparation included, evaluation excluded). */
  readonly examplesPerSec: number;
  /** Learning rate of the epoch's last step. */
  readonly lr: number;
  /** Wall time of the epoch's training, in seconds. */
  readonly seconds: number;
  /** The training process's resident memory after the epoch, bytes (absent in runs that predate it, or without Linux's /proc). */
  readonly rssBytes?: number;
  /** The training process's resident-memory high-water mark so far (since it started, or resumed), bytes. */
  readonly peakRssBytes?: number;
}

/** Where training stands: `epoch` epochs done, plus `step` batches of the next one. */
export interface TrainerProgress {
  readonly epoch: number;
  readonly step: number;
  /** Sums over the batches done in the unfinished epoch (zero at an epoch boundary). */
  readonly partial: { readonly lossSum: number; readonly correct: number; readonly seen: number; readonly seconds: number };
}

/** The progress of a run that has not started. */
export const FRESH: TrainerProgress = { epoch: 0, step: 0, partial: { lossSum: 0, correct: 0, seen: 0, seconds: 0 } };

/**
 * A problem with a run directory, as data: which directory (and file), and why. `message`
 * says what is wrong and where, in one sentence that names no command-line flag; an app adds
 * the way out in its own flags (train's `runErrorMessage`).
 * @example { _tag: 'NotARun', dir: 'runs/x', exists: false, message: 'runs/x does not exist' }
 */
export type RunError =
  /** `dir` does not exist (`exists: false`) or has no config.json. */
  | { readonly _tag: 'NotARun'; readonly dir: string; readonly exists: boolean; readonly message: string }
  /** `dir`, where a new run was to start, is a file. */
  | { readonly _tag: 'NotADirectory'; readonly dir: string; readonly message: string }
  /** `dir` already holds this run, and it has a checkpoint: continue it rather than start it. */
  | { readonly _tag: 'AlreadyStarted'; readonly dir: string; readonly message: string }
  /** `dir` holds another run (`holds: 'run'`: its config.json differs) or files that are not a run. */
  | { readonly _tag: 'DifferentRun'; readonly dir: string; readonly holds: 'run' | 'files'; readonly message: string }
  /** config.json is not JSON, or not a run's config (`reason` names the field). */
  | { readonly _tag: 'BadConfig'; readonly dir: string; readonly file: string; readonly reason: string; readonly message: string }
  /** A damaged metrics line (`line`), latest.json, or the checkpoint it names. */
  | {
      readonly _tag: 'Corrupt';
      readonly dir: string;
      readonly part: 'metrics' | 'latest' | 'checkpoint';
      readonly file: string;
      readonly line?: number;
      readonly reason: string;
      readonly message: string;
    }
  /** There is no checkpoint to restore (no latest.json). */
  | { readonly _tag: 'NoCheckpoint'; readonly dir: string; readonly message: string }
  /** The file system refused (`reason`: its error). */
  | { readonly _tag: 'Io'; readonly dir: string; readonly reason: string; readonly message: string }
  /** Another process owns the run (`sameHost`: a live one here; else one on another host), or its lock names no owner (`owner` null). */
  | { readonly _tag: 'Busy'; readonly dir: string; readonly owner: LockOwner | null; readonly sameHost: boolean; readonly message: string };

/** What is in a run directory. */
export interface OpenedRun {
  readonly config: RunConfig;
  readonly metrics: readonly EpochMetrics[];
  /** null when no checkpoint was written yet. */
  readonly latest: { readonly checkpoint: string; readonly epoch: number; readonly step: number } | null;
}

/**
 * Starts a run in `dir`: it must not exist or be empty; a directory holding another run
 * (or this one, with a checkpoint) is refused. Writes config.json.
 * @example createRun('runs/18-2026…', config) // Right(undefined)
 */
export function createRun(dir: string, config: object): E.Either<RunError, 'Created' | 'Restarted'> {
  try {
    if (existsSync(dir)) {
      if (!statSync(dir).isDirectory()) return E.left({ _tag: 'NotADirectory', dir, message: `${dir} is a file, not a directory` });
      if (existsSync(join(dir, 'config.json'))) {
        const existing = safeJson(join(dir, 'config.json'));
        const same = existing !== undefined && sameSettings(existing, config);
        // The same run, stopped before its first checkpoint: nothing to keep, start it again.
        if (same && !existsSync(join(dir, 'latest.json'))) {
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
      if (readdirSync(dir).some((f) => !isRunBookkeeping(f))) return E.left({ _tag: 'DifferentRun', dir, holds: 'files', message: `${dir} is not empty and is not a run directory` });
    }
    mkdirSync(dir, { recursive: true });
    writeFileAtomic(join(dir, 'config.json'), `${JSON.stringify(config, null, 2)}\n`);
    return E.right('Created');
  } catch (e) {
    return E.left(io(dir, `cannot write ${dir}`, e));
  }
}

/**
 * Clears a run that has no checkpoint yet so it can start again from scratch: keeps
 * config.json, removes metrics, half-written checkpoints and temporary files.
 * @example restartRun('runs/18-…') // Right(undefined)
 */
export function restartRun(dir: string): E.Either<RunError, void> {
  try {
    for (const f of readdirSync(dir)) if (f === 'metrics.jsonl' || f === 'checkpoints' || f === 'model' || isTempFile(f)) rmSync(join(dir, f), { recursive: true, force: true });
    return E.right(undefined);
  } catch (e) {
    return E.left(io(dir, `cannot clear ${dir} to start it again`, e));
  }
}

function io(dir: string, what: string, e: unknown): RunError {
  const reason = (e as Error).message;
  return { _tag: 'Io', dir, reason, message: `${what}: ${reason}` };
}

function isTempFile(name: string): boolean {
  return /\.tmp-\d+$/.test(name);
}

/**
 * Entries of a run directory that are no part of the run: temporary files of a write, and the
 * lock of the process that owns it.
 * @example isRunBookkeeping('.lock') // true
 */
export function isRunBookkeeping(name: string): boolean {
  return isTempFile(name) || name === LOCK_DIR || name.startsWith(`${LOCK_DIR}.stale-`);
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
  return { _tag: 'Busy', dir, owner: o, sameHost, message: `${dir} is being trained by pid ${o.pid} on ${sameHost ? 'this host' : `host ${o.host}`} since ${o.startedAt} (${o.command})` };
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
    if (e._tag === 'Unreadable') return E.left({ _tag: 'Busy', dir, owner: null, sameHost: true, message: `${dir} is being claimed by another process right now (${e.lock} names no owner yet)` });
    return E.left(busy(dir, e.owner, e.sameHost));
  } catch (e) {
    return E.left(io(dir, `cannot claim ${dir}`, e));
  }
}

/**
 * A run's config.json alone, checked field by field ({@link parseRunConfig}): what a run is,
 * before its metrics and checkpoint are read (train:serve picks the backend's precision by it).
 * @example readRunConfig('runs/18-…') // Right({ variant: 18, precision: 'fp32', … })
 */
export function readRunConfig(dir: string): E.Either<RunError, RunConfig> {
  const configPath = join(dir, 'config.json');
  if (!existsSync(configPath)) {
    const exists = existsSync(dir);
    return E.left({ _tag: 'NotARun', dir, exists, message: `${dir} ${exists ? 'is not a run directory (no config.json)' : 'does not exist'}` });
  }
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(configPath, 'utf8'));
  } catch (e) {
    const reason = `not valid JSON (${(e as Error).message})`;
    // The fix names no flag, and parseRunConfig's messages end in the same words.
    return E.left({ _tag: 'BadConfig', dir, file: configPath, reason, message: `${configPath}: ${reason}: pass a run directory written by train:serve, or fix the file` });
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
  const metrics = readMetrics(join(dir, 'metrics.jsonl'));
  if (E.isLeft(metrics)) return metrics;
  const latestPath = join(dir, 'latest.json');
  const latest = existsSync(latestPath) ? readLatest(dir) : E.right(null);
  if (E.isLeft(latest)) return latest;
  return E.right({ config: config.right, metrics: metrics.right, latest: latest.right });
}

const METRIC_FIELDS = ['epoch', 'loss', 'trainAcc', 'testAcc', 'examplesPerSec', 'lr', 'seconds'] as const satisfies readonly (keyof EpochMetrics)[];

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
  const final = join(dir, 'model');
  if (existsSync(join(final, 'manifest.json'))) return { dir: final, final: true, latest: opened.latest };
  return opened.latest === null ? null : { dir: join(dir, 'checkpoints', opened.latest.checkpoint), final: false, latest: opened.latest };
}

/**
 * Parses metrics.jsonl: one record per finished epoch, epochs 1..n in order, each once. A bad
 * line (not JSON, a field missing, or an epoch out of that order) is reported with file and line
 * number, and the message names the way out: cutting the file back to the last checkpoint.
 * @example readMetrics('runs/r/metrics.jsonl') // Right([{ epoch: 1, loss: 0.41, … }])
 */
export function readMetrics(path: string): E.Either<RunError, readonly EpochMetrics[]> {
  const parsed = parseMetricsLines(path);
  const bad = parsed.find((l) => !l.ok);
  if (bad !== undefined && !bad.ok) {
    const dir = dirname(path);
    return E.left({ _tag: 'Corrupt', dir, part: 'metrics', file: path, line: bad.line, reason: bad.reason, message: `${path}:${bad.line}: not a metrics record (${bad.reason}); to cut the file back to the run's last checkpoint and continue: npx nx run train:serve --resume=${dir} --repair-metrics` });
  }
  return E.right(parsed.flatMap((l) => (l.ok ? [l.metrics] : [])));
}

type MetricsLine = { readonly ok: true; readonly line: number; readonly metrics: EpochMetrics } | { readonly ok: false; readonly line: number; readonly reason: string };

// Every non-empty line of metrics.jsonl, checked: a record of epoch k must be the k-th record.
function parseMetricsLines(path: string): readonly MetricsLine[] {
  if (!existsSync(path)) return [];
  const out: MetricsLine[] = [];
  for (const [i, line] of readFileSync(path, 'utf8').split('\n').entries()) {
    if (line.trim() === '') continue;
    const bad = (reason: string): void => void out.push({ ok: false, line: i + 1, reason });
    let m: Record<string, unknown>;
    try {
      m = JSON.parse(line) as Record<string, unknown>;
    } catch (e) {
      bad((e as Error).message);
      continue;
    }
    const missing = METRIC_FIELDS.find((f) => typeof m?.[f] !== 'number' || !Number.isFinite(m[f]));
    if (missing !== undefined) {
      bad(`"${missing}" must be a number, got ${JSON.stringify(m?.[missing]) ?? 'nothing'}`);
      continue;
    }
    const optional = (['rssBytes', 'peakRssBytes'] as const).find((f) => m[f] !== undefined && (typeof m[f] !== 'number' || !Number.isFinite(m[f])));
    if (optional !== undefined) {
      bad(`"${optional}" must be a number when present, got ${JSON.stringify(m[optional])}`);
      continue;
    }
    const expected = out.filter((l) => l.ok).length + 1;
    if (m['epoch'] !== expected) {
      bad(`epoch ${String(m['epoch'])} where epoch ${expected} was expected: epochs run 1, 2, … each once, so this line repeats, skips or misorders one`);
      continue;
    }
    out.push({ ok: true, line: i + 1, metrics: m as unknown as EpochMetrics });
  }
  return out;
}

/**
 * `--repair-metrics`: cuts metrics.jsonl back to the epochs the run's last checkpoint has
 * finished (`epochs`): keeps the intact records of epochs 1..epochs, drops every other line
 * (damaged ones, and epochs after the checkpoint), and says what it dropped (line numbers and
 * why). Refused, with the reason, when a record of epochs 1..epochs is missing or damaged: its
 * numbers are gone.
 * @example repairMetrics('runs/r') // Right({ kept: 2, dropped: ['line 3: Unexpected token …'] })
 */
export function repairMetrics(dir: string): E.Either<string, { readonly kept: number; readonly dropped: readonly string[] }> {
  const latest = existsSync(join(dir, 'latest.json')) ? readLatest(dir) : E.right(null);
  if (E.isLeft(latest)) return E.left(`${latest.left.message}, so the epochs to keep are unknown`);
  const epochs = latest.right?.epoch ?? 0;
  const path = join(dir, 'metrics.jsonl');
  const lines = parseMetricsLines(path);
  // Records are checked to run 1, 2, … in order, so the first `epochs` intact ones are epochs 1..epochs.
  const keep = lines.flatMap((l) => (l.ok && l.metrics.epoch <= epochs ? [l.metrics] : []));
  if (keep.length < epochs) {
    const lost = lines.find((l) => !l.ok);
    const why = lost === undefined || lost.ok ? `it has ${keep.length} epochs of metrics` : `line ${lost.line} is damaged (${lost.reason})`;
    return E.left(`${path}: ${why}, and the last checkpoint has finished epoch ${epochs}, so the metrics of epoch ${keep.length + 1} are lost: restore the file from a copy, or train the run again into a new directory`);
  }
  const dropped = lines.filter((l) => !(l.ok && l.metrics.epoch <= epochs)).map((l) => (l.ok ? `line ${l.line}: epoch ${l.metrics.epoch}, after the checkpoint` : `line ${l.line}: ${l.reason}`));
  writeFileAtomic(path, keep.map((m) => `${JSON.stringify(m)}\n`).join(''));
  return E.right({ kept: epochs, dropped });
}

/**
 * Adds one epoch's metrics (the file is rewritten atomically, so a crash never leaves a
 * torn line).
 */
export function appendMetrics(dir: string, metrics: EpochMetrics): void {
  const path = join(dir, 'metrics.jsonl');
  const before = existsSync(path) ? readFileSync(path, 'utf8') : '';
  writeFileAtomic(path, `${before}${before === '' || before.endsWith('\n') ? '' : '\n'}${JSON.stringify(metrics)}\n`);
}

/**
 * Keeps only the metrics of epochs ≤ `epoch` (after a crash between the metrics line
 * and the checkpoint, the checkpoint wins).
 */
export function truncateMetrics(dir: string, epoch: number): void {
  const metrics = readMetrics(join(dir, 'metrics.jsonl'));
  if (E.isLeft(metrics)) return;
  writeFileAtomic(join(dir, 'metrics.jsonl'), metrics.right.filter((m) => m.epoch <= epoch).map((m) => `${JSON.stringify(m)}\n`).join(''));
}

/**
 * Writes a checkpoint (params, batch-norm state, optimizer velocities, progress), points
 * latest.json at it, then deletes older checkpoints.
 * @example await saveCheckpoint('runs/r', model, sgd, { epoch: 1, step: 0, partial: … })
 */
export async function saveCheckpoint(dir: string, model: Model, sgd: SgdState, progress: TrainerProgress): Promise<void> {
  const id = `epoch-${String(progress.epoch).padStart(4, '0')}-step-${String(progress.step).padStart(6, '0')}`;
  const root = join(dir, 'checkpoints');
  mkdirSync(root, { recursive: true });
  await saveTensors(join(root, id), { params: model.params, state: model.state, velocity: sgd.velocity }, { progress });
  writeFileAtomic(join(dir, 'latest.json'), `${JSON.stringify({ checkpoint: id, epoch: progress.epoch, step: progress.step })}\n`);
  for (const other of readdirSync(root)) if (other !== id) rmSync(join(root, other), { recursive: true, force: true });
}

/**
 * Restores the latest checkpoint into `model` and `sgd`; returns its progress.
 * @example await loadCheckpoint('runs/r', model, sgd) // Right({ epoch: 1, step: 0, … })
 */
export function loadCheckpoint(dir: string, model: Model, sgd: SgdState): E.Either<RunError, TrainerProgress> {
  if (!existsSync(join(dir, 'latest.json'))) return E.left({ _tag: 'NoCheckpoint', dir, message: `${dir} has no checkpoint yet (no latest.json)` });
  const latest = readLatest(dir);
  if (E.isLeft(latest)) return latest;
  const checkpoint = join(dir, 'checkpoints', latest.right.checkpoint);
  const meta = restoreTensors(checkpoint, { params: model.params, state: model.state, velocity: sgd.velocity });
  if (E.isLeft(meta)) return E.left({ _tag: 'Corrupt', dir, part: 'checkpoint', file: checkpoint, reason: meta.left, message: `the latest checkpoint is damaged: ${meta.left}` });
  const progress = (meta.right as { progress?: TrainerProgress }).progress;
  if (progress === undefined) {
    const file = join(checkpoint, 'manifest.json');
    return E.left({ _tag: 'Corrupt', dir, part: 'checkpoint', file, reason: 'no progress', message: `${file} has no progress` });
  }
  return E.right(progress);
}

/**
 * Saves the final model (params and batch-norm state; the spec in the manifest's meta)
 * to `<dir>/model`.
 * @example await saveModel('runs/r', model, { spec, classes: CLASS_NAMES })
 */
export async function saveModel(dir: string, model: Model, meta: { readonly [k: string]: unknown }): Promise<void> {
  await saveTensors(join(dir, 'model'), { params: model.params, state: model.state }, meta);
}


/** latest.json, checked: it names a checkpoint directory that exists, and its progress. */
function readLatest(dir: string): E.Either<RunError, { readonly checkpoint: string; readonly epoch: number; readonly step: number }> {
  const path = join(dir, 'latest.json');
  const damaged = (reason: string): E.Either<RunError, never> => E.left({ _tag: 'Corrupt', dir, part: 'latest', file: path, reason, message: `${path} is damaged (${reason})` });
  const json = safeJson(path);
  if (json === undefined) return damaged('not valid JSON');
  if (typeof json !== 'object' || json === null || Array.isArray(json)) return damaged('not a JSON object');
  const { checkpoint, epoch, step } = json as { checkpoint?: unknown; epoch?: unknown; step?: unknown };
  if (typeof checkpoint !== 'string' || !/^[\w.-]+$/.test(checkpoint)) return damaged('no valid "checkpoint" name');
  if (typeof epoch !== 'number' || typeof step !== 'number' || !Number.isInteger(epoch) || !Number.isInteger(step)) return damaged('no whole-number "epoch" and "step"');
  if (!existsSync(join(dir, 'checkpoints', checkpoint, 'manifest.json'))) return damaged(`it names checkpoints/${checkpoint}, which does not exist`);
  return E.right({ checkpoint, epoch, step });
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
  const strip = (c: unknown) => JSON.stringify({ ...(c as object), createdAt: undefined, backend: undefined, machine: undefined, dataSource: undefined, command: undefined });
  return strip(a) === strip(b);
}
