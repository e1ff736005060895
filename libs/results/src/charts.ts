/**
 * The report's charts as Vega-Lite specs: per run, training loss, training accuracy and
 * test accuracy per epoch (the three curves of d2l's `train_ch6`); for all runs, test
 * accuracy and training loss per epoch, one line per run. Pure: rows in, specs out.
 */
import type { TopLevelSpec } from 'vega-lite';
import { epochBands, type SeedGroup } from './spread.ts';
import type { RunRow } from './summary.ts';

/** The per-run series, named as d2l's legend names them. */
export const RUN_SERIES = ['train loss', 'train acc', 'test acc'] as const;

// d2l's line styles: blue solid, magenta dashed, green dash-dot.
const RUN_COLORS = ['#1f77b4', '#bf00bf', '#008000'];
const RUN_DASHES = [
  [1, 0],
  [6, 3],
  [6, 3, 1, 3],
];

// DejaVu Sans first (Debian's fonts-dejavu-core): resvg finds it among the system fonts.
const CONFIG = {
  font: 'DejaVu Sans, Liberation Sans, Arial, Helvetica, sans-serif',
  background: 'white',
  view: { stroke: '#888' },
  axis: { gridColor: '#e6e6e6' },
  legend: { symbolType: 'stroke', symbolStrokeWidth: 2, symbolSize: 300 },
} as const;
// Wide enough for a series such as 'ResNet-152 (PyTorch reference, folder)' (vega-lite cuts labels at 160 px by default).
const LEGEND = { orient: 'right', symbolType: 'stroke', labelLimit: 360 } as const;

/**
 * A run's chart: x = epoch, three lines with a legend.
 * @example runChart(row) // { data: { values: [{ epoch: 1, series: 'train loss', value: 0.72 }, …] }, mark: { type: 'line', point: true }, … }
 */
export function runChart(row: RunRow): TopLevelSpec {
  const c = row.run.config;
  const values = row.run.metrics.flatMap((m) => [
    { epoch: m.epoch, series: 'train loss', value: m.loss },
    { epoch: m.epoch, series: 'train acc', value: m.trainAcc },
    { epoch: m.epoch, series: 'test acc', value: m.testAcc },
  ]);
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: {
      text: `${row.seriesName}, ${c.version}, protocol ${c.protocol}`,
      subtitle: `${c.imageSize}×${c.imageSize} input, batch ${c.batchSize}, ${row.run.metrics.length} of ${row.plannedEpochs} epochs`,
    },
    width: 420,
    height: 260,
    config: CONFIG,
    data: { values },
    mark: { type: 'line', point: true, strokeWidth: 2 },
    encoding: {
      x: {
        field: 'epoch',
        type: 'quantitative',
        title: 'epoch',
        scale: { domain: epochDomain([row]) },
        axis: { tickMinStep: 1, format: 'd' },
      },
      y: { field: 'value', type: 'quantitative', title: null, scale: { zero: true } },
      // Same field, title and legend for both channels: vega-lite merges them into one legend of styled lines.
      color: { field: 'series', type: 'nominal', title: null, scale: { domain: [...RUN_SERIES], range: RUN_COLORS }, legend: LEGEND },
      strokeDash: { field: 'series', type: 'nominal', title: null, scale: { domain: [...RUN_SERIES], range: RUN_DASHES }, legend: LEGEND },
    },
  };
}

/**
 * All runs in one figure: test accuracy per epoch (top) and training loss per epoch
 * (bottom), one coloured line per run, ordered as the rows.
 * @example allChart(rows) // { vconcat: [test accuracy panel, training loss panel], … }
 */
export function allChart(rows: readonly RunRow[]): TopLevelSpec {
  const values = rows.flatMap((r) => r.run.metrics.map((m) => ({ epoch: m.epoch, run: r.seriesName, testAcc: m.testAcc, loss: m.loss })));
  const order = rows.map((r) => r.seriesName);
  const x = {
    field: 'epoch',
    type: 'quantitative',
    title: 'epoch',
    scale: { domain: epochDomain(rows) },
    axis: { tickMinStep: 1, format: 'd' },
  } as const;
  const color = {
    field: 'run',
    type: 'nominal',
    title: 'variant',
    scale: { domain: order, scheme: 'category10' },
    sort: order,
    legend: LEGEND,
  } as const;
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: 'All runs', subtitle: 'test accuracy and training loss per epoch' },
    config: CONFIG,
    data: { values },
    vconcat: [
      {
        width: 420,
        height: 220,
        mark: { type: 'line', point: true, strokeWidth: 2 },
        encoding: { x, y: { field: 'testAcc', type: 'quantitative', title: 'test accuracy', scale: { zero: false } }, color },
      },
      {
        width: 420,
        height: 180,
        mark: { type: 'line', point: true, strokeWidth: 2 },
        encoding: { x, y: { field: 'loss', type: 'quantitative', title: 'training loss', scale: { zero: true } }, color },
      },
    ],
    resolve: { scale: { color: 'shared' } },
  };
}

/**
 * Seeds of the same settings as one band each: the mean per epoch (line) and mean ± sample std
 * (band) of test accuracy (top) and training loss (bottom), one colour per group of at least two runs.
 * @example spreadChart(groups) // { vconcat: [test accuracy bands, training loss bands], … }
 */
export function spreadChart(groups: readonly SeedGroup[]): TopLevelSpec {
  const shown = groups.filter((g) => g.rows.length >= 2);
  const name = (g: SeedGroup) => `${g.label} (n = ${g.rows.length})`;
  const values = shown.flatMap((g) =>
    epochBands(g).map((b) => ({
      epoch: b.epoch,
      group: name(g),
      testAcc: b.testAcc.mean,
      testLow: b.testAcc.mean - (b.testAcc.std ?? 0),
      testHigh: b.testAcc.mean + (b.testAcc.std ?? 0),
      loss: b.loss.mean,
      lossLow: b.loss.mean - (b.loss.std ?? 0),
      lossHigh: b.loss.mean + (b.loss.std ?? 0),
    })),
  );
  const order = shown.map(name);
  const most = Math.max(2, ...shown.map((g) => g.epochs));
  const x = {
    field: 'epoch',
    type: 'quantitative',
    title: 'epoch',
    scale: { domain: [1, most] as [number, number] },
    axis: { tickMinStep: 1, format: 'd' },
  } as const;
  const color = {
    field: 'group',
    type: 'nominal',
    title: 'variant (seeds)',
    scale: { domain: order, scheme: 'category10' },
    sort: order,
    legend: LEGEND,
  } as const;
  const panel = (mean: string, low: string, high: string, title: string, height: number, zero: boolean) => ({
    width: 420,
    height,
    layer: [
      {
        mark: { type: 'area', opacity: 0.2 } as const,
        encoding: { x, y: { field: low, type: 'quantitative', title, scale: { zero } } as const, y2: { field: high }, color },
      },
      {
        mark: { type: 'line', point: true, strokeWidth: 2 } as const,
        encoding: { x, y: { field: mean, type: 'quantitative', title } as const, color },
      },
    ],
  });
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: {
      text: 'Seeds: mean ± standard deviation',
      subtitle: 'runs of the same settings but the seed; line = mean, band = ± sample std per epoch',
    },
    config: CONFIG,
    data: { values },
    vconcat: [
      panel('testAcc', 'testLow', 'testHigh', 'test accuracy', 220, false),
      panel('loss', 'lossLow', 'lossHigh', 'training loss', 180, true),
    ],
    resolve: { scale: { color: 'shared' } },
  };
}

/** Epoch axis from 1 to the most epochs planned or done (at least 2, so one epoch is not a degenerate axis). */
function epochDomain(rows: readonly RunRow[]): [number, number] {
  const most = Math.max(2, ...rows.flatMap((r) => [r.plannedEpochs, ...r.run.metrics.map((m) => m.epoch)]));
  return [1, most];
}
