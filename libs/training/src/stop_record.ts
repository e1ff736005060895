/**
 * `stopped.json` in a run directory: why and where the last training process of the run
 * stopped before its end (a signal, its launcher's death), and the command that continues it.
 * The line the app prints may be lost with the terminal that would have shown it (nx killed,
 * a closed ssh session); this one stays until the run is continued.
 */
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '@resnet/files';

/** The record's file name in a run directory. */
export const STOP_RECORD_FILE = 'stopped.json';
/** Its format tag. */
export const STOP_RECORD_FORMAT = 'resnet-ts/stopped@1';

/** Why and where a run stopped, and how to continue it. */
export interface StopRecord {
  readonly format: typeof STOP_RECORD_FORMAT;
  /** ISO time of the stop. */
  readonly at: string;
  /** What stopped it, e.g. `SIGTERM` or `its launcher npx (pid 41) exited`. */
  readonly reason: string;
  /** Epochs finished, and steps into the next one, at the saved checkpoint. */
  readonly epoch: number;
  readonly step: number;
  /** The command that continues the run. */
  readonly continueWith: string;
}

/**
 * Writes `<dir>/stopped.json`.
 * @example writeStopRecord('runs/r', { reason: 'SIGTERM', epoch: 0, step: 26, continueWith: 'npx nx run train:serve --resume=runs/r' })
 */
export function writeStopRecord(dir: string, stop: Omit<StopRecord, 'format' | 'at'>): void {
  const record: StopRecord = { format: STOP_RECORD_FORMAT, at: new Date().toISOString(), ...stop };
  writeFileAtomic(join(dir, STOP_RECORD_FILE), `${JSON.stringify(record, null, 2)}\n`);
}

/**
 * `<dir>/stopped.json`, or null when the run has none (or it is not one this module wrote).
 * @example readStopRecord('runs/r')?.continueWith // 'npx nx run train:serve --resume=runs/r'
 */
export function readStopRecord(dir: string): StopRecord | null {
  try {
    const json = JSON.parse(readFileSync(join(dir, STOP_RECORD_FILE), 'utf8')) as Partial<Record<keyof StopRecord, unknown>>;
    const { format, at, reason, epoch, step, continueWith } = json;
    if (format !== STOP_RECORD_FORMAT || typeof at !== 'string' || typeof reason !== 'string' || typeof continueWith !== 'string') return null;
    if (typeof epoch !== 'number' || typeof step !== 'number' || !Number.isInteger(epoch) || !Number.isInteger(step)) return null;
    return { format, at, reason, epoch, step, continueWith };
  } catch {
    return null;
  }
}

/** Removes `<dir>/stopped.json`: the run is being continued. */
export function clearStopRecord(dir: string): void {
  rmSync(join(dir, STOP_RECORD_FILE), { force: true });
}
