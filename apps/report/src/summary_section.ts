/**
 * report.md's summary: the table of runs, the spread over seeds when some setting has several,
 * and what the table shows ("What we find") — the whole of summary.md, which the README embeds
 * verbatim — with the notes beside them and the charts of all runs.
 */
import { formatAccuracy, formatCount, formatDuration, formatGb, formatMacs, formatPercent } from '@resnet/format';
import { hasSeeds, seedGroups, type Difference, type LoadedRun, type RunRow } from '@resnet/results';
import { findings } from './findings.ts';
import { markdownTable } from './format.ts';
import { backendText, machineText } from './run_text.ts';
import { differenceNote, replanNote, unfinishedNote } from './summary_notes.ts';

const FINDINGS_HEAD =
  '**What we find** (generated from the table’s final test accuracies; runs compared only when trained with the same settings' +
  ' for the same epochs):';
const LEGEND =
  'Final = last finished epoch. Parameters (trainable) and MACs (multiply-accumulates per image) are computed from the specs for' +
  ' 1 input channel and 10 classes at the run’s input size. examples/s is the mean over epochs (training only); wall time is the' +
  ' sum of the epochs’ training time. A run marked “PyTorch reference” was made by tools/torch_reference.py: PyTorch training' +
  ' the same network with the same data pipeline, optimiser and schedule.';
// The summary table's alignment up to examples/s.
const LEFT_OF_NUMBERS = ['l', 'l', 'l', 'r', 'r', 'l', 'l', 'r', 'r', 'r', 'r', 'r', 'r'] as const;
const CPU_LEGEND =
  ' CPU share is the training process’s CPU time (all threads) over its epochs’ wall time × the machine’s CPUs, for the' +
  ' epochs that recorded it (– for runs that predate it): well below 100%, the run shared the' +
  ' machine or was paused, and its examples/s and wall time say that, not its speed.';
const SPREAD_CHART = [
  '![Seeds: mean ± standard deviation of test accuracy and training loss per epoch](charts/spread.png)',
  '',
  'Charts: [PNG](charts/spread.png), [SVG](charts/spread.svg).',
  '',
];

/**
 * "Summary": the notes on how the runs differ, the summary (`renderSummary`) and its legend, the
 * runs left out, and the charts of all runs (and of the seeds' spread when there are seeds).
 * @example summarySection({ rows, unfinished: [], differences: [] }) // ['## Summary', '', '| variant | version | … |…', …]
 */
export function summarySection(input: {
  readonly rows: readonly RunRow[];
  readonly unfinished: readonly LoadedRun[];
  readonly differences: readonly Difference[];
}): readonly string[] {
  const { rows } = input;
  return [
    '## Summary',
    '',
    ...differenceNote(input.differences),
    renderSummary(rows).trimEnd(),
    '',
    LEGEND + (rows.some((r) => r.cpuShare !== null) ? CPU_LEGEND : ''),
    '',
    ...replanNote(rows),
    ...unfinishedNote(input.unfinished),
    `![Test accuracy and training loss per epoch, all runs](charts/all.png)`,
    '',
    `Charts: [PNG](charts/all.png), [SVG](charts/all.svg).`,
    '',
    ...(hasSeeds(rows) ? SPREAD_CHART : []),
  ];
}

/**
 * The summary table and what it shows ("What we find"): report.md's summary, and the whole of
 * summary.md, which the README embeds verbatim.
 * @example renderSummary(rows) // '| variant | version | … |\n…\n\n**What we find** …\n'
 */
export function renderSummary(rows: readonly RunRow[]): string {
  return [summaryTable(rows), '', ...spreadTable(rows), FINDINGS_HEAD, '', ...findings(rows), ''].join('\n');
}

function summaryTable(rows: readonly RunRow[]): string {
  // Peak memory is shown once a run has recorded it (train:serve does since it measures it).
  const memory = rows.some((r) => r.peakRssBytes !== null);
  // CPU share likewise, once a run has recorded its CPU time.
  const cpu = rows.some((r) => r.cpuShare !== null);
  return markdownTable(
    [
      ...['variant', 'version', 'block', 'params', 'MACs/image', 'protocol', 'input', 'epochs (done / planned)'],
      ...['final loss', 'final train acc', 'final test acc', 'best test acc', 'examples/s'],
      ...(cpu ? ['CPU share'] : []),
      ...(memory ? ['peak memory'] : []),
      ...['backend', 'machine', 'wall time'],
    ],
    rows.map((r) => {
      const c = r.run.config;
      return [
        r.seriesName,
        c.version,
        r.block,
        r.params === null ? '–' : formatCount(r.params),
        formatMacs(r.macs),
        c.protocol,
        `${c.imageSize}×${c.imageSize}`,
        `${r.run.metrics.length} / ${r.plannedEpochs}`,
        r.last.loss.toFixed(3),
        r.last.trainAcc.toFixed(3),
        formatAccuracy(r.last.testAcc),
        `${formatAccuracy(r.best.testAcc)} (epoch ${r.best.epoch})`,
        r.meanExamplesPerSec.toFixed(1),
        ...(cpu ? [r.cpuShare === null ? '–' : formatPercent(r.cpuShare)] : []),
        ...(memory ? [r.peakRssBytes === null ? '–' : formatGb(r.peakRssBytes)] : []),
        backendText(c),
        machineText(c),
        formatDuration(r.wallSeconds),
      ];
    }),
    [...LEFT_OF_NUMBERS, ...(cpu ? ['r' as const] : []), ...(memory ? ['r' as const] : []), 'l', 'l', 'r'],
  );
}

/** Runs of the same settings but the seed, as samples: shown when some setting has two seeds or more. */
function spreadTable(rows: readonly RunRow[]): readonly string[] {
  if (!hasSeeds(rows)) return [];
  const groups = seedGroups(rows);
  const ms = (s: { readonly mean: number; readonly std: number | null }) =>
    `${formatAccuracy(s.mean)}${s.std === null ? '' : ` ± ${formatAccuracy(s.std)}`}`;
  const table = markdownTable(
    ['variant', 'protocol', 'epochs', 'seeds', 'n', 'final test acc (mean ± std)', 'final min–max', 'best test acc (mean ± std)'],
    groups.map((g) => [
      g.label,
      g.rows[0]?.run.config.protocol ?? '',
      String(g.epochs),
      g.seeds.join(', '),
      String(g.final.n),
      ms(g.final),
      `${formatAccuracy(g.final.min)}–${formatAccuracy(g.final.max)}`,
      ms(g.best),
    ]),
    ['l', 'l', 'r', 'l', 'r', 'r', 'r', 'r'],
  );
  const head = '**Seeds** (our runs of the same settings but the seed, as one sample each; std is the sample standard deviation, n − 1):';
  return [head, '', table.trimEnd(), ''];
}
