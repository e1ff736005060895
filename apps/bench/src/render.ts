/**
 * The benchmark's output: one record per measurement (the JSON format scripts rely on) and
 * the text table with each row's ratio to the PyTorch baseline of the same configuration.
 */
import type { KernelTime } from './measure.ts';
import type { BenchMeasurement } from '@resnet/run-dir';
import { formatGb, formatPercent, formatRatio } from '@resnet/format';

/**
 * One measurement, as printed by `--format=json`: the bench.json record report:serve reads
 * (its one home is `BenchMeasurement` in @resnet/results), plus the kernel profile with `--profile`.
 */
export interface Measurement extends BenchMeasurement {
  readonly kernels?: readonly KernelTime[];
}

/** A measurement before its ratios to PyTorch are known. */
export type Unrated = Omit<Measurement, 'vsPytorch' | 'vsPytorchBf16' | 'memoryVsPytorch'>;

/**
 * Adds `vsPytorch` (over PyTorch fp32) and `vsPytorchBf16` (over PyTorch bf16 autocast) to
 * every row whose configuration has such a PyTorch row, and `memoryVsPytorch` (peak resident
 * memory over PyTorch fp32's).
 */
export function withRatios(rows: readonly Unrated[]): Measurement[] {
  const key = (r: Unrated, precision: string): string => `${r.mode}/${r.variant}/${r.imageSize}/${r.batchSize}/${precision}`;
  const baseline = new Map(rows.filter((r) => r.backend === 'pytorch').map((r) => [key(r, r.precision), r]));
  const ratio = (r: Unrated, precision: string): number | null => {
    const base = baseline.get(key(r, precision))?.examplesPerSec;
    return base === undefined || base <= 0 ? null : r.examplesPerSec / base;
  };
  const memory = (r: Unrated): number | null => {
    const base = baseline.get(key(r, 'fp32'))?.peakRssBytes ?? null;
    return base === null || base <= 0 || r.peakRssBytes === null ? null : r.peakRssBytes / base;
  };
  return rows.map((r) => ({ ...r, vsPytorch: ratio(r, 'fp32'), vsPytorchBf16: ratio(r, 'bf16'), memoryVsPytorch: memory(r) }));
}

/**
 * A fixed-width table, one row per measurement, PyTorch rows labelled as the baseline.
 * @example console.log(renderTable(rows))
 */
export function renderTable(rows: readonly Measurement[]): string {
  const bf16 = rows.some((r) => r.precision === 'bf16');
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
