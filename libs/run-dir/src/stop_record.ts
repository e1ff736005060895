/**
 * `stopped.json` in a run directory: why and where the last training process of the run
 * stopped before its end (a signal, its launcher's death), and the command that continues it.
 * The line the app prints may be lost with the terminal that would have shown it (nx killed,
 * a closed ssh session); this one stays until the run is continued.
 */
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import * as t from 'io-ts';
import * as E from 'fp-ts/Either';
import { writeFileAtomic } from '@resnet/files';
import { decodeJson, int, named } from './codec.ts';

/** The record's file name in a run directory. */
export const STOP_RECORD_FILE = 'stopped.json';
/** Its format tag. */
export const STOP_RECORD_FORMAT = 'resnet-ts/stopped@1';

/** Why and where a run stopped, and how to continue it. */
export const StopRecordCodec = t.type({
  format: named(t.literal(STOP_RECORD_FORMAT), `"${STOP_RECORD_FORMAT}"`),
  /** ISO time of the stop. */
  at: t.string,
  /** What stopped it, e.g. `SIGTERM` or `its launcher npx (pid 41) exited`. */
  reason: t.string,
  /** Epochs finished, and steps into the next one, at the saved checkpoint. */
  epoch: int(0),
  step: int(0),
  /** The command that continues the run. */
  continueWith: t.string,
});
export type StopRecord = Readonly<t.TypeOf<typeof StopRecordCodec>>;

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
  let text: string;
  try {
    text = readFileSync(join(dir, STOP_RECORD_FILE), 'utf8');
  } catch {
    return null;
  }
  const record = decodeJson(StopRecordCodec, text);
  return E.isRight(record) ? record.right : null;
}

/** Removes `<dir>/stopped.json`: the run is being continued. */
export function clearStopRecord(dir: string): void {
  rmSync(join(dir, STOP_RECORD_FILE), { force: true });
}
