/**
 * The benchmark's output: one record per measurement (the JSON format scripts rely on) and
 * the text table with each row's ratio to the PyTorch baseline of the same configuration.
 */
import type { KernelTime } from './measure.ts';
import { median as medianOf } from './plan.ts';
import type { BenchMeasurement } from '@resnet/run-dir';
import { formatGb, formatPercent, formatRatio } from '@resnet/format';

/**
 * One measurement, as printed by `--format=json`: the bench.json record report:serve reads
 * (its one home is `BenchMeasurement` in @resnet/results), plus the kernel profile with `--profile`.
 */
export interface Measurement extends BenchMeasurement {
  readonly kernels?: readonly KernelTime[];
}

/** A measurement of one round before its ratios are known. */
export type Unrated = Omit<Measurement, 'vsPytorch' | 'vsPytorchBf16' | 'memoryVsPytorch' | 'vsOwnFp32' | 'rounds' | 'roundExamplesPerSec'>;

/** The configuration a row measured. */
const configKey = (r: Unrated, precision: string): string => `${r.mode}/${r.variant}/${r.imageSize}/${r.batchSize}/${precision}`;
/** A row's identity across rounds: its configuration, backend, precision and fusion. */
const rowKey = (r: Unrated): string => `${configKey(r, r.precision)}/${r.backend}/${String(r.fused)}`;

/**
 * The ratios of one round's rows: `vsPytorch` (over PyTorch fp32) and `vsPytorchBf16` (over PyTorch
 * bf16 autocast) where the configuration has such a PyTorch row, `memoryVsPytorch` (peak resident
 * memory over PyTorch fp32's), and for bf16 rows `vsOwnFp32` (over the same backend's fp32 row).
 */
export function withRatios(rows: readonly Unrated[]): Measurement[] {
  const baseline = new Map(rows.filter((r) => r.backend === 'pytorch').map((r) => [configKey(r, r.precision), r]));
  const ratio = (r: Unrated, precision: string): number | null => {
    const base = baseline.get(configKey(r, precision))?.examplesPerSec;
    return base === undefined || base <= 0 ? null : r.examplesPerSec / base;
  };
  const memory = (r: Unrated): number | null => {
    const base = baseline.get(configKey(r, 'fp32'))?.peakRssBytes ?? null;
    return base === null || base <= 0 || r.peakRssBytes === null ? null : r.peakRssBytes / base;
  };
  const byRow = new Map(rows.map((r) => [rowKey(r), r]));
  const ownFp32 = (r: Unrated): number | null => {
    if (r.precision !== 'bf16') return null;
    const base = byRow.get(rowKey({ ...r, precision: 'fp32' }))?.examplesPerSec;
    return base === undefined || base <= 0 ? null : r.examplesPerSec / base;
  };
  return rows.map((r) => ({
    ...r,
    vsPytorch: ratio(r, 'fp32'),
    vsPytorchBf16: ratio(r, 'bf16'),
    memoryVsPytorch: memory(r),
    vsOwnFp32: ownFp32(r),
    rounds: 1,
    roundExamplesPerSec: [r.examplesPerSec],
  }));
}

/**
 * The median of the numbers among `xs` (nulls left out; plan.ts's {@link medianOf} over the rest); null when there are none.
 * @example median([3, null, 1, 2]) // 2
 */
export function median(xs: readonly (number | null)[]): number | null {
  const known = xs.filter((x): x is number => x !== null);
  return known.length === 0 ? null : medianOf(known);
}

/**
 * One row per measured row over the rounds (each round's rows rated by {@link withRatios}): examples/s and step
 * time the medians over the rounds that measured the row, peak memory the largest, each ratio the median of the
 * rounds' own ratios (both sides of a ratio measured in the same minutes), in the first round's order.
 * @example combineRounds([withRatios(round1), withRatios(round2), withRatios(round3)]) // [{ rounds: 3, vsOwnFp32: 1.19, … }, …]
 */
export function combineRounds(rounds: readonly (readonly Measurement[])[]): Measurement[] {
  const groups = new Map<string, Measurement[]>();
  for (const round of rounds) for (const r of round) groups.set(rowKey(r), [...(groups.get(rowKey(r)) ?? []), r]);
  const largest = (xs: readonly (number | null)[]): number | null => {
    const known = xs.filter((x): x is number => x !== null);
    return known.length === 0 ? null : Math.max(...known);
  };
  return [...groups.values()].map((g) => {
    const first = g[0] as Measurement;
    const pick = (f: (m: Measurement) => number | null) => median(g.map(f));
    return {
      ...first,
      examplesPerSec: pick((m) => m.examplesPerSec) ?? first.examplesPerSec,
      medianStepMs: pick((m) => m.medianStepMs) ?? first.medianStepMs,
      peakRssBytes: largest(g.map((m) => m.peakRssBytes)),
      peakTensorBytes: largest(g.map((m) => m.peakTensorBytes)),
      vsPytorch: pick((m) => m.vsPytorch),
      vsPytorchBf16: pick((m) => m.vsPytorchBf16),
      memoryVsPytorch: pick((m) => m.memoryVsPytorch),
      vsOwnFp32: pick((m) => m.vsOwnFp32),
      rounds: g.length,
      roundExamplesPerSec: g.map((m) => m.examplesPerSec),
    };
  });
}

/**
 * With more than one round, a line per row of the tfjs backends: examples/s in each round, and each ratio in each
 * round (the table shows their medians). Empty for single-round measurements.
 * @example renderRounds([withRatios(r1), withRatios(r2)]) // ['Per round:', '  ResNet-18 28×28 batch 128 onednn bf16: 1878.0, 1833.1 examples/s; × own fp32 1.25, 1.20', …]
 */
export function renderRounds(rounds: readonly (readonly Measurement[])[]): readonly string[] {
  if (rounds.length < 2) return [];
  const combined = combineRounds(rounds);
  const list = (xs: readonly (number | null)[], digits: number) => xs.map((x) => (x === null ? '–' : x.toFixed(digits))).join(', ');
  const lines = combined.map((row) => {
    const of = rounds.map((round) => round.find((m) => rowKey(m) === rowKey(row)) ?? null);
    const ratios = (
      [
        ['× PyTorch', (m: Measurement) => m.vsPytorch],
        ['× PyTorch bf16', (m: Measurement) => m.vsPytorchBf16],
        ['× own fp32', (m: Measurement) => m.vsOwnFp32],
      ] as const
    )
      // The baseline's ratios to itself say nothing.
      .filter(([, f]) => !(row.backend === 'pytorch' && row.precision === 'fp32') && of.some((m) => m !== null && f(m) !== null))
      .map(
        ([name, f]) =>
          `; ${name} ${list(
            of.map((m) => (m === null ? null : f(m))),
            2,
          )}`,
      );
    const backend = row.backend === 'pytorch' ? (row.precision === 'bf16' ? 'pytorch bf16 autocast' : 'pytorch') : row.backend;
    const precision = row.backend === 'pytorch' ? '' : ` ${row.precision}`;
    return `  ResNet-${row.variant} ${row.imageSize}×${row.imageSize} batch ${row.batchSize} ${backend}${precision}: ${list(
      of.map((m) => m?.examplesPerSec ?? null),
      1,
    )} examples/s${ratios.join('')}`;
  });
  return [`Per round (${rounds.length} rounds, each configuration’s rows in turn; the table shows the medians):`, ...lines];
}

/**
 * A fixed-width table, one row per measurement, PyTorch rows labelled as the baseline.
 * @example console.log(renderTable(rows))
 */
export function renderTable(rows: readonly Measurement[]): string {
  const bf16 = rows.some((r) => r.precision === 'bf16');
  const own = rows.some((r) => r.vsOwnFp32 !== null);
  const header = [
    'variant',
    'input',
    'batch',
    'backend',
    'precision',
    'device',
    'examples/s',
    'step ms',
    '× PyTorch',
    ...(bf16 ? ['× PyTorch bf16'] : []),
    ...(own ? ['× own fp32'] : []),
    'peak RSS',
    'mem × PyTorch',
    'estimate',
  ];
  const times = (x: number | null): string => (x === null ? '–' : formatRatio(x));
  const gb = (x: number | null): string => (x === null ? '–' : formatGb(x));
  const body = rows.map((r) => [
    `ResNet-${r.variant}`,
    `${r.imageSize}×${r.imageSize}`,
    `${r.batchSize}`,
    r.backend === 'pytorch' ? 'pytorch (baseline)' : r.fused === false ? `${r.backend} (unfused)` : r.backend,
    r.backend === 'pytorch' && r.precision === 'bf16' ? 'bf16 (autocast)' : r.precision,
    r.device,
    r.examplesPerSec.toFixed(1),
    r.medianStepMs.toFixed(0),
    times(r.vsPytorch),
    ...(bf16 ? [times(r.vsPytorchBf16)] : []),
    ...(own ? [times(r.vsOwnFp32)] : []),
    gb(r.peakRssBytes),
    times(r.memoryVsPytorch),
    gb(r.estimatedRssBytes),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((row) => (row[i] ?? '').length)));
  const numeric = new Set([2, ...header.keys()].filter((i) => i >= 6 || i === 2));
  const line = (cells: readonly string[]): string =>
    cells
      .map((c, i) => (numeric.has(i) ? c.padStart(widths[i] ?? 0) : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...body.map(line)].join('\n');
}

/** The top `n` kernels of each profiled row. */
export function renderProfiles(rows: readonly Measurement[], n: number): string {
  return rows
    .filter((r) => r.kernels !== undefined)
    .map((r) => {
      const kernels = r.kernels ?? [];
      const total = kernels.reduce((a, k) => a + k.msPerStep, 0);
      const lines = kernels.slice(0, n).map((k) => {
        const ms = k.msPerStep.toFixed(1).padStart(8);
        const share = formatPercent(k.msPerStep / r.medianStepMs).padStart(6);
        const calls = k.callsPerStep.toFixed(0).padStart(5);
        return `  ${k.kernel.padEnd(28)} ${ms} ms/step  ${share} of the step  ${calls} calls`;
      });
      return [
        `Kernel profile: ResNet-${r.variant} ${r.imageSize}×${r.imageSize} batch ${r.batchSize} on ${r.backend}${r.fused === false ? ' (unfused)' : ''}, ${r.precision}: kernels ${total.toFixed(0)} of ${r.medianStepMs.toFixed(0)} ms per step`,
        ...lines,
      ].join('\n');
    })
    .join('\n\n');
}
