/**
 * What report.md shows of runs' evaluation.json files: per-class test accuracy of every evaluated
 * run side by side (its own section), and each run's confusion matrix (in the run's section).
 */
import { CLASS_NAMES } from '@resnet/fashion-mnist';
import { formatAccuracy, formatCount } from '@resnet/format';
import type { RunRow } from '@resnet/results';
import { describeWeights, EVALUATION_FILE, type EvaluationFile } from '@resnet/run-dir';
import { markdownTable } from './format.ts';

/**
 * "Per-class test accuracy": a column per evaluated run, then which weights each column is of,
 * and for a run without an evaluation.json the command that writes it.
 * @example perClassSection(rows) // ['## Per-class test accuracy', '', 'Share of each class’s test images …', …]
 */
export function perClassSection(rows: readonly RunRow[]): readonly string[] {
  const evaluated = rows.filter((r) => r.run.evaluation !== null);
  const missing = rows.filter((r) => r.run.evaluation === null);
  const how = (r: RunRow) => `\`npx nx run train:evaluate --run=<the directory with its weights> --json=${r.run.dir}/${EVALUATION_FILE}\``;
  const missingLines = missing.map((r) => {
    const fix = r.run.config.reference === null ? ` (${how(r)} writes it; committed runs keep no weights)` : '';
    return `- ${r.seriesName}: no ${EVALUATION_FILE}${fix}`;
  });
  if (evaluated.length === 0) {
    const none = `No run here has an ${EVALUATION_FILE} (per-class accuracy and confusion matrix of its weights):`;
    return ['## Per-class test accuracy', '', none, '', ...missingLines, ''];
  }
  const classes = Math.max(...evaluated.map((r) => r.run.evaluation?.confusion.length ?? 0));
  const table = markdownTable(
    ['class', ...evaluated.map((r) => r.seriesName)],
    [
      ...Array.from({ length: classes }, (_, i) => [
        className(i),
        ...evaluated.map((r) => optionalAccuracy(r.run.evaluation?.perClassAccuracy[i])),
      ]),
      ['all', ...evaluated.map((r) => optionalAccuracy(r.run.evaluation?.accuracy))],
    ],
    ['l', ...evaluated.map(() => 'r' as const)],
  );
  return [
    '## Per-class test accuracy',
    '',
    `Share of each class’s test images classified right, from each run’s ${EVALUATION_FILE} (confusion matrices in the run sections):`,
    '',
    table,
    '',
    ...evaluated.map((r) => `- ${r.seriesName}: ${evaluationSource(r.run.evaluation)}`),
    ...missingLines,
    '',
  ];
}

/**
 * A run's confusion matrix with the weights and images it is of; nothing without an evaluation.
 * @example confusionSection(evaluation)
 * // ['Confusion matrix of the final model (epoch 10) on 10,000 test images (rows: true class, …):', '', '| true ↓ … |', …]
 */
export function confusionSection(e: EvaluationFile | null): readonly string[] {
  if (e === null) return [];
  return [
    `Confusion matrix of ${evaluationSource(e)} (rows: true class, columns: predicted class; test accuracy ${formatAccuracy(e.accuracy)}):`,
    '',
    markdownTable(
      ['true ↓ predicted →', ...e.confusion.map((_, j) => String(j))],
      e.confusion.map((row, i) => [className(i), ...row.map(String)]),
      ['l', ...e.confusion.map(() => 'r' as const)],
    ),
    '',
  ];
}

/** A class as the tables name it: `0 T-shirt/top`. */
function className(i: number): string {
  return `${i} ${CLASS_NAMES[i] ?? `class ${i}`}`;
}

function optionalAccuracy(acc: number | null | undefined): string {
  return acc === null || acc === undefined ? '—' : formatAccuracy(acc);
}

function evaluationSource(e: EvaluationFile | null): string {
  if (e === null) return 'none';
  return `${describeWeights(e.weights)} on ${formatCount(e.testImages)} test images${e.command === null ? '' : `, by \`${e.command}\``}`;
}
