/**
 * `progress.json` in a run directory: where the process training the run is now — epoch and
 * step, running loss, examples/s, ETA, when it last wrote — replaced atomically every few
 * seconds while it trains, and its end (finished, stopped, failed with the error). A viewer
 * (web:serve) reads it to show a run live; a record that stops changing while its process is
 * gone is a killed run. The format has one owner: this module's type, writer and reader.
 */
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import * as E from 'fp-ts/Either';
import { writeFileAtomic } from '@resnet/files';
import type { StepProgress } from './loop.ts';

/** The record's file name in a run directory. */
export const PROGRESS_FILE = 'progress.json';
/** Its format tag. */
export const PROGRESS_FORMAT = 'resnet-ts/progress@1';
/** How often, at most, a training process replaces the record (milliseconds). */
export const PROGRESS_INTERVAL_MS = 2000;

/** What the training process was doing when it last wrote. */
export type ProgressState = 'training' | 'finished' | 'stopped' | 'failed';

/** A run's live record. */
export interface ProgressRecord {
  readonly format: typeof PROGRESS_FORMAT;
  readonly state: ProgressState;
  readonly host: string;
  readonly pid: number;
  /** ISO time of this record. */
  readonly updatedAt: string;
  /** The epoch being trained (1-based) of `epochs`, and the step in it of `steps`. */
  readonly epoch: number;
  readonly epochs: number;
  readonly step: number;
  readonly steps: number;
  /** Running means over the epoch so far (loss null when it is not finite: a diverged run). */
  readonly loss: number | null;
  readonly trainAcc: number;
  readonly examplesPerSec: number;
  readonly lr: number;
  /** Seconds left at this pace, training steps only (evaluations and checkpoints add to it). */
  readonly etaSeconds: number;
  /** With `failed`: what went wrong. */
  readonly error: string | null;
}

/** One step's progress as the training loop reports it, with the epochs planned. */
export type StepReport = StepProgress & { readonly epochs: number };

/**
 * The record of `report` in `state`.
 * @example progressRecord('training', report) // { state: 'training', epoch: 2, step: 40, etaSeconds: 312, … }
 */
export function progressRecord(state: ProgressState, report: StepReport, error: string | null = null): ProgressRecord {
  const perStep = report.step > 0 ? report.seconds / report.step : 0;
  const stepsLeft = report.steps - report.step + Math.max(0, report.epochs - report.epoch) * report.steps;
  return {
    format: PROGRESS_FORMAT,
    state,
    host: hostname(),
    pid: process.pid,
    updatedAt: new Date().toISOString(),
    epoch: report.epoch,
    epochs: report.epochs,
    step: report.step,
    steps: report.steps,
    loss: Number.isFinite(report.loss) ? report.loss : null,
    trainAcc: report.trainAcc,
    examplesPerSec: report.examplesPerSec,
    lr: report.lr,
    etaSeconds: state === 'training' ? stepsLeft * perStep : 0,
    error,
  };
}

/**
 * Replaces `<dir>/progress.json` (atomically: a reader sees the old record or the new one).
 * @example writeProgress('runs/r', progressRecord('training', report))
 */
export function writeProgress(dir: string, record: ProgressRecord): void {
  writeFileAtomic(join(dir, PROGRESS_FILE), `${JSON.stringify(record)}\n`);
}

/** Why a progress record cannot be read. */
export type ProgressError = { readonly _tag: 'Missing' } | { readonly _tag: 'Invalid'; readonly message: string };

/**
 * Reads `<dir>/progress.json`, checking every field.
 * @example readProgress('runs/r') // Right({ state: 'training', epoch: 2, … }), or Left({ _tag: 'Missing' })
 */
export function readProgress(dir: string): E.Either<ProgressError, ProgressRecord> {
  const path = join(dir, PROGRESS_FILE);
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    return E.left((e as NodeJS.ErrnoException).code === 'ENOENT' ? { _tag: 'Missing' } : { _tag: 'Invalid', message: `${path}: ${(e as Error).message}` });
  }
  const bad = (what: string) => E.left<ProgressError>({ _tag: 'Invalid', message: `${path}: ${what}` });
  if (typeof value !== 'object' || value === null) return bad('not a JSON object');
  const v = value as Record<string, unknown>;
  if (v['format'] !== PROGRESS_FORMAT) return bad(`"format" must be "${PROGRESS_FORMAT}"`);
  if (!['training', 'finished', 'stopped', 'failed'].includes(v['state'] as string)) return bad('"state" must be training, finished, stopped or failed');
  for (const k of ['host', 'updatedAt'] as const) if (typeof v[k] !== 'string') return bad(`"${k}" must be a string`);
  for (const k of ['pid', 'epoch', 'epochs', 'step', 'steps', 'trainAcc', 'examplesPerSec', 'lr', 'etaSeconds'] as const) if (typeof v[k] !== 'number' || !Number.isFinite(v[k])) return bad(`"${k}" must be a finite number`);
  if (v['loss'] !== null && (typeof v['loss'] !== 'number' || !Number.isFinite(v['loss']))) return bad('"loss" must be a finite number or null');
  if (v['error'] !== null && typeof v['error'] !== 'string') return bad('"error" must be a string or null');
  return E.right(value as ProgressRecord);
}
