/**
 * metrics.jsonl: one record per finished epoch, epochs 1..n in order, each once. Its codec,
 * its checked reader (a bad line is named with file and line), the append that training does
 * after each epoch, and the repair that cuts the file back to the run's last checkpoint.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import * as t from 'io-ts';
import * as E from 'fp-ts/Either';
import { writeFileAtomic } from '@resnet/files';
import { decode, describeFailure, finite, int, named } from './codec.ts';
import type { RunError } from './errors.ts';
import { readLatest } from './latest.ts';
import { LATEST_FILE, METRICS_FILE } from './layout.ts';

/** One epoch's results, as a line of metrics.jsonl. */
export const EpochMetricsCodec = t.intersection(
  [
    t.type({
      /** 1-based epoch number. */
      epoch: int(1),
      /** Mean training loss over the epoch (training mode, as the seed's d2l reports it). */
      loss: finite,
      trainAcc: finite,
      /** Test accuracy in inference mode after the epoch. */
      testAcc: finite,
      /** Training examples per second (data preparation included, evaluation excluded). */
      examplesPerSec: finite,
      /** Learning rate of the epoch's last step. */
      lr: finite,
      /** Wall time of the epoch's training, in seconds. */
      seconds: finite,
    }),
    t.partial({
      /** The training process's resident memory after the epoch, bytes (absent in runs that predate it, or without Linux's /proc). */
      rssBytes: named(finite, 'a number when present'),
      /** The training process's resident-memory high-water mark so far (since it started, or resumed), bytes. */
      peakRssBytes: named(finite, 'a number when present'),
      /**
       * CPU time (user + system, every thread) the training process spent on the epoch's training, seconds —
       * with `seconds`, how much of the machine the epoch had (absent in runs that predate it, and for an
       * epoch resumed from a checkpoint that did not record it).
       */
      cpuSeconds: named(finite, 'a number when present'),
    }),
  ],
  'a JSON object',
);
/** One epoch's results. */
export type EpochMetrics = Readonly<t.TypeOf<typeof EpochMetricsCodec>>;

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
    return E.left({
      _tag: 'Corrupt',
      dir,
      part: 'metrics',
      file: path,
      line: bad.line,
      reason: bad.reason,
      message: `${path}:${bad.line}: not a metrics record (${bad.reason}); to cut the file back to the run's last checkpoint and continue: npx nx run train:serve --resume=${dir} --repair-metrics`,
    });
  }
  return E.right(parsed.flatMap((l) => (l.ok ? [l.metrics] : [])));
}

type MetricsLine =
  | { readonly ok: true; readonly line: number; readonly metrics: EpochMetrics }
  | { readonly ok: false; readonly line: number; readonly reason: string };

// Every non-empty line of metrics.jsonl, checked: a record of epoch k must be the k-th record.
function parseMetricsLines(path: string): readonly MetricsLine[] {
  if (!existsSync(path)) return [];
  const out: MetricsLine[] = [];
  for (const [i, line] of readFileSync(path, 'utf8').split('\n').entries()) {
    if (line.trim() === '') continue;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (e) {
      out.push({ ok: false, line: i + 1, reason: (e as Error).message });
      continue;
    }
    const m = decode(EpochMetricsCodec, value, '(the whole line)');
    if (E.isLeft(m)) {
      out.push({ ok: false, line: i + 1, reason: describeFailure(m.left) });
      continue;
    }
    const expected = out.filter((l) => l.ok).length + 1;
    if (m.right.epoch !== expected) {
      const reason = `epoch ${m.right.epoch} where epoch ${expected} was expected: epochs run 1, 2, … each once, so this line repeats, skips or misorders one`;
      out.push({ ok: false, line: i + 1, reason });
      continue;
    }
    out.push({ ok: true, line: i + 1, metrics: m.right });
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
  const latest = existsSync(join(dir, LATEST_FILE)) ? readLatest(dir) : E.right(null);
  if (E.isLeft(latest)) return E.left(`${latest.left.message}, so the epochs to keep are unknown`);
  const epochs = latest.right?.epoch ?? 0;
  const path = join(dir, METRICS_FILE);
  const lines = parseMetricsLines(path);
  // Records are checked to run 1, 2, … in order, so the first `epochs` intact ones are epochs 1..epochs.
  const keep = lines.flatMap((l) => (l.ok && l.metrics.epoch <= epochs ? [l.metrics] : []));
  if (keep.length < epochs) {
    const lost = lines.find((l) => !l.ok);
    const why = lost === undefined || lost.ok ? `it has ${keep.length} epochs of metrics` : `line ${lost.line} is damaged (${lost.reason})`;
    return E.left(
      `${path}: ${why}, and the last checkpoint has finished epoch ${epochs}, so the metrics of epoch ${keep.length + 1} are lost: restore the file from a copy, or train the run again into a new directory`,
    );
  }
  const dropped = lines
    .filter((l) => !(l.ok && l.metrics.epoch <= epochs))
    .map((l) => (l.ok ? `line ${l.line}: epoch ${l.metrics.epoch}, after the checkpoint` : `line ${l.line}: ${l.reason}`));
  writeFileAtomic(path, metricsText(keep));
  return E.right({ kept: epochs, dropped });
}

function metricsText(metrics: readonly EpochMetrics[]): string {
  return metrics.map((m) => `${JSON.stringify(m)}\n`).join('');
}

/**
 * Adds one epoch's metrics (the file is rewritten atomically, so a crash never leaves a
 * torn line).
 * @example appendMetrics('runs/r', { epoch: 1, loss: 0.41, trainAcc: 0.85, testAcc: 0.88, examplesPerSec: 900, lr: 0.1, seconds: 66 })
 */
export function appendMetrics(dir: string, metrics: EpochMetrics): void {
  const path = join(dir, METRICS_FILE);
  const before = existsSync(path) ? readFileSync(path, 'utf8') : '';
  writeFileAtomic(path, `${before}${before === '' || before.endsWith('\n') ? '' : '\n'}${JSON.stringify(metrics)}\n`);
}

/**
 * Keeps only the metrics of epochs ≤ `epoch` (after a crash between the metrics line
 * and the checkpoint, the checkpoint wins). A damaged file is left as it is: its reader names it.
 * @example truncateMetrics('runs/r', 2)
 */
export function truncateMetrics(dir: string, epoch: number): void {
  const metrics = readMetrics(join(dir, METRICS_FILE));
  if (E.isLeft(metrics)) return;
  if (metrics.right.every((m) => m.epoch <= epoch)) return;
  writeFileAtomic(join(dir, METRICS_FILE), metricsText(metrics.right.filter((m) => m.epoch <= epoch)));
}
