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
import * as t from 'io-ts';
import * as E from 'fp-ts/Either';
import { writeFileAtomic } from '@resnet/files';
import { decodeJson, finite, named, oneOf } from './codec.ts';

/** The record's file name in a run directory. */
export const PROGRESS_FILE = 'progress.json';
/** Its format tag. */
export const PROGRESS_FORMAT = 'resnet-ts/progress@1';
/** How often, at most, a training process replaces the record (milliseconds). */
export const PROGRESS_INTERVAL_MS = 2000;

/** What the training process was doing when it last wrote. */
export const PROGRESS_STATES = ['training', 'finished', 'stopped', 'failed'] as const;
export type ProgressState = (typeof PROGRESS_STATES)[number];

/** A run's live record. */
export const ProgressRecordCodec = t.type({
  format: named(t.literal(PROGRESS_FORMAT), `"${PROGRESS_FORMAT}"`),
  state: oneOf(PROGRESS_STATES, 'training, finished, stopped or failed'),
  host: named(t.string, 'a string'),
  pid: finite,
  /** ISO time of this record. */
  updatedAt: named(t.string, 'a string'),
  /** The epoch being trained (1-based) of `epochs`, and the step in it of `steps`. */
  epoch: finite,
  epochs: finite,
  step: finite,
  steps: finite,
  /** Running means over the epoch so far (loss null when it is not finite: a diverged run). */
  loss: named(t.union([finite, t.null]), 'a finite number or null'),
  trainAcc: finite,
  examplesPerSec: finite,
  lr: finite,
  /** Seconds left at this pace, training steps only (evaluations and checkpoints add to it). */
  etaSeconds: finite,
  /** With `failed`: what went wrong. */
  error: named(t.union([t.string, t.null]), 'a string or null'),
});
export type ProgressRecord = Readonly<t.TypeOf<typeof ProgressRecordCodec>>;

/** One step's progress as the training loop reports it, with the epochs planned. */
export interface StepReport {
  readonly epoch: number;
  readonly epochs: number;
  readonly step: number;
  readonly steps: number;
  readonly loss: number;
  readonly trainAcc: number;
  readonly examplesPerSec: number;
  readonly lr: number;
  /** Seconds spent on this epoch so far. */
  readonly seconds: number;
}

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
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    return E.left(
      (e as NodeJS.ErrnoException).code === 'ENOENT'
        ? { _tag: 'Missing' }
        : { _tag: 'Invalid', message: `${path}: ${(e as Error).message}` },
    );
  }
  return E.mapLeft((why: string): ProgressError => ({ _tag: 'Invalid', message: `${path}: ${why}` }))(
    decodeJson(ProgressRecordCodec, text),
  );
}
