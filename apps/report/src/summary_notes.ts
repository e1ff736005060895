/**
 * The visible notes beside report.md's summary table: runs not trained alike, runs whose plan
 * changed while they trained, and runs left out for want of a finished epoch.
 */
import type { Difference, LoadedRun, RunRow } from '@resnet/results';
import { describeReplans } from './run_text.ts';

const PLANNED_EPOCHS_NOTE =
  '> **Note:** the runs share one protocol but were planned for different numbers of epochs; compare accuracies at equal epochs' +
  ' in the per-run tables below.';
const MIXED_PROTOCOLS_NOTE =
  '> **Mixed protocols:** these runs were not all trained the same way, so their numbers are not directly comparable. Settings' +
  ' that differ:';
const REPLANNED_NOTE =
  '> **Re-planned runs:** an epoch-dependent learning-rate schedule is recomputed for the new total when `--resume --epochs=N`' +
  ' changes a run’s plan, so these runs are not the same as runs planned for that many epochs from the start:';

/**
 * The note when runs differ in protocol-defining settings, each setting with its values and runs;
 * nothing when they do not.
 * @example differenceNote([{ setting: 'batch', values: [{ value: '64', runs: ['a'] }, { value: '128', runs: ['b'] }] }])
 * // ['> **Mixed protocols:** …', '>', '> - batch: 64 — a; 128 — b', '']
 */
export function differenceNote(differences: readonly Difference[]): readonly string[] {
  if (differences.length === 0) return [];
  const items = differences.map((d) => `> - ${d.setting}: ${d.values.map((v) => `${v.value} — ${v.runs.join(', ')}`).join('; ')}`);
  const onlyEpochs = differences.every((d) => d.setting === 'planned epochs');
  return [onlyEpochs ? PLANNED_EPOCHS_NOTE : MIXED_PROTOCOLS_NOTE, '>', ...items, ''];
}

/**
 * The note when a run's planned epochs changed during training; nothing when none did.
 * @example replanNote(rows) // ['> **Re-planned runs:** …', '>', '> - ResNet-18: planned 2 → 3 epochs after 2 epochs', '']
 */
export function replanNote(rows: readonly RunRow[]): readonly string[] {
  const replanned = rows.filter((r) => r.run.config.replanned.length > 0);
  if (replanned.length === 0) return [];
  return [REPLANNED_NOTE, '>', ...replanned.map((r) => `> - ${r.seriesName}: ${describeReplans(r.run.config)}`), ''];
}

/**
 * The runs left out of the tables because no epoch of theirs has finished.
 * @example unfinishedNote([run]) // ['Not in the tables (no finished epoch yet):', '', '- `runs/a` (ResNet-18): no finished epoch', '']
 */
export function unfinishedNote(unfinished: readonly LoadedRun[]): readonly string[] {
  if (unfinished.length === 0) return [];
  const items = unfinished.map((r) => `- \`${r.dir}\` (ResNet-${r.config.variant}): no finished epoch`);
  return ['Not in the tables (no finished epoch yet):', '', ...items, ''];
}
