/**
 * The numbers of the report, computed from loaded runs: one row per run (architecture
 * counts from the specs, final and best metrics, speed, wall time), chart file names, and
 * the settings in which runs differ. Pure: loaded runs in, plain data out.
 */
import * as E from 'fp-ts/Either';
import { absurd } from 'fp-ts/function';
import { clipNormTag, describeClipNorm, describeProtocolSchedule, protocolSchedule, runSpec, type Schedule } from '@resnet/recipe';
import { type EpochMetrics, type RunConfig } from '@resnet/run-dir';
import { RESNETS, summarize, type ResNetSpec } from '@resnet/variants';
import type { LoadedRun } from './load.ts';

/** One run of the report. */
export interface RunRow {
  readonly run: LoadedRun;
  /** `ResNet-18`. */
  readonly label: string;
  /**
   * Unique among the report's runs: `ResNet-18`, or `ResNet-18 (folder)` when two of ours share a
   * depth, protocol, precision and clipping; a bf16 run `ResNet-18 (bf16)`; a run of the seed report's
   * protocol `ResNet-18 (seed protocol)`; a run clipped otherwise than its protocol `ResNet-18 (clip 1)` or
   * `ResNet-18 (no clipping)`; a reference run `ResNet-18 (PyTorch reference)`, or
   * `ResNet-18 (PyTorch reference, folder)`; the seed report's code run in PyTorch `ResNet-18 (seed’s code, PyTorch, seed protocol)`.
   */
  readonly seriesName: string;
  readonly block: 'basic' | 'bottleneck';
  /**
   * Trainable parameters of the spec the run trained (1 input channel, `classes` outputs); for a reference run
   * of the seed's code, the count its script recorded for the seed's network (null when not recorded).
   */
  readonly params: number | null;
  /** Multiply-accumulates per image at the run's input size. */
  readonly macs: number;
  /** The last finished epoch. */
  readonly last: EpochMetrics;
  readonly best: EpochMetrics;
  /** Mean of the epochs' examples per second. */
  readonly meanExamplesPerSec: number;
  /** Sum of the epochs' training seconds. */
  readonly wallSeconds: number;
  /** The training process's largest resident-memory peak over the epochs' records, bytes (null when no record has one: runs before it was recorded). */
  readonly peakRssBytes: number | null;
  /**
   * The training process's CPU time over the wall time of the epochs that recorded it, per CPU of the machine
   * (1: both of 2 cores busy throughout); well below 1, the run shared the machine or was paused, and its
   * examples/s and wall time are not its speed. Null when no epoch recorded CPU time (older runs, PyTorch references)
   * or the machine is not recorded.
   */
  readonly cpuShare: number | null;
  /**
   * Planned epochs: config.json's, or the epochs done when more (a run continued with
   * `--resume --epochs=N` keeps its original config.json).
   */
  readonly plannedEpochs: number;
  /** Chart file name without extension: `resnet18` (see chartNames), or `resnet18-<folder>` when two runs are of the same kind. */
  readonly chart: string;
}

/**
 * Rows for runs that each have at least one finished epoch, in the given order.
 * @example buildRows(loaded.runs) // Right([{ label: 'ResNet-18', params: 11175370, chart: 'resnet18', … }])
 */
export function buildRows(runs: readonly LoadedRun[]): E.Either<string, readonly RunRow[]> {
  const rows: RunRow[] = [];
  const charts = chartNames(runs);
  for (const [i, run] of runs.entries()) {
    const { config, metrics } = run;
    const last = metrics[metrics.length - 1];
    if (last === undefined) return E.left(`${run.dir}: no finished epoch`);
    const summary = E.flatMap((spec: ResNetSpec) => summarize(spec, config.imageSize))(runSpec(config));
    if (E.isLeft(summary))
      return E.left(`${run.dir}: ResNet-${config.variant} at ${config.imageSize}×${config.imageSize}: ${summary.left.message}`);
    const label = `ResNet-${config.variant}`;
    const shared = runs.filter((r) => sameKind(r, run)).length > 1;
    const tags = [
      ...(config.reference === null ? [] : [referenceLabel(config.reference)]),
      ...settingTags(config),
      ...(shared ? [folderName(run.dir)] : []),
    ];
    rows.push({
      run,
      label,
      seriesName: tags.length === 0 ? label : `${label} (${tags.join(', ')})`,
      block: RESNETS[config.variant].block._tag === 'Basic' ? 'basic' : 'bottleneck',
      params: config.reference?.code === 'seed' ? config.reference.parameters : summary.right.params,
      macs: summary.right.macs,
      last,
      best: metrics.reduce((b, m) => (m.testAcc > b.testAcc ? m : b), last),
      meanExamplesPerSec: metrics.reduce((s, m) => s + m.examplesPerSec, 0) / metrics.length,
      wallSeconds: metrics.reduce((s, m) => s + m.seconds, 0),
      peakRssBytes: metrics.reduce<number | null>(
        (peak, m) => (m.peakRssBytes === undefined ? peak : Math.max(peak ?? 0, m.peakRssBytes)),
        null,
      ),
      cpuShare: cpuShare(metrics, config.machine?.cpus ?? null),
      plannedEpochs: Math.max(config.epochs, metrics.length),
      chart: charts[i] ?? `resnet${config.variant}-${i + 1}`,
    });
  }
  return E.right(rows);
}

/**
 * What sets a run's settings apart from the default protocol's fp32 runs, as label tags: another
 * protocol, bf16, clipping other than its protocol's.
 * @example settingTags(seedProtocolRun.config) // ['seed protocol']
 * @example settingTags({ …, protocol: 'default', precision: 'bf16', clipNorm: null }) // ['bf16', 'no clipping']
 */
export function settingTags(config: RunConfig): readonly string[] {
  const clip = clipNormTag(config.protocol, config.clipNorm);
  return [
    ...(config.protocol === 'default' ? [] : [`${config.protocol} protocol`]),
    ...(config.precision === 'bf16' ? ['bf16'] : []),
    ...(clip === null ? [] : [clip]),
  ];
}

/**
 * CPU seconds over wall seconds × CPUs, over the epochs that recorded their CPU time; null when none did.
 * @example cpuShare([{ seconds: 100, cpuSeconds: 190, … }], 2) // 0.95
 */
export function cpuShare(metrics: readonly EpochMetrics[], cpus: number | null): number | null {
  const timed = metrics.filter((m) => m.cpuSeconds !== undefined);
  const wall = timed.reduce((s, m) => s + m.seconds, 0);
  if (cpus === null || cpus <= 0 || timed.length === 0 || wall <= 0) return null;
  return timed.reduce((s, m) => s + (m.cpuSeconds ?? 0), 0) / (wall * cpus);
}

/**
 * Chart file names: `resnet<depth>` (`resnet<depth>-pytorch` for a PyTorch reference run, `-seed` added for the seed
 * protocol, `-bf16` for bf16, `-clip1` or `-noclip` for clipping other than the protocol's), with the run folder's name added when two such runs are of the same kind, and a
 * counter when even that repeats.
 * @example chartNames([run18, reference18, seedProtocol18, run50]) // ['resnet18', 'resnet18-pytorch', 'resnet18-seed', 'resnet50']
 */
export function chartNames(runs: readonly LoadedRun[]): readonly string[] {
  const names = runs.map((r) => {
    const base = [
      `resnet${r.config.variant}`,
      ...(r.config.reference === null ? [] : [r.config.reference.framework, ...(r.config.reference.code === 'seed' ? ['seedcode'] : [])]),
      ...(r.config.protocol === 'default' ? [] : [r.config.protocol]),
      ...(r.config.precision === 'bf16' ? ['bf16'] : []),
      ...chartClipTag(r.config),
    ].join('-');
    return runs.filter((o) => sameKind(o, r)).length > 1 ? `${base}-${safeName(folderName(r.dir))}` : base;
  });
  return names.map((n, i) => (names.filter((o) => o === n).length > 1 ? `${n}-${names.slice(0, i + 1).filter((o) => o === n).length}` : n));
}

// `clip1` / `noclip` when the run's clipping is not its protocol's own.
function chartClipTag(config: RunConfig): readonly string[] {
  if (clipNormTag(config.protocol, config.clipNorm) === null) return [];
  return [config.clipNorm === null ? 'noclip' : `clip${config.clipNorm}`];
}

/**
 * What a reference run is called in tables and legends.
 * @example referenceLabel({ framework: 'pytorch', code: 'ours', … }) // 'PyTorch reference'
 * @example referenceLabel({ framework: 'pytorch', code: 'seed', … }) // 'seed’s code, PyTorch'
 */
export function referenceLabel(reference: NonNullable<RunConfig['reference']>): string {
  switch (reference.framework) {
    case 'pytorch':
      return reference.code === 'seed' ? 'seed’s code, PyTorch' : 'PyTorch reference';
    default:
      return absurd(reference.framework);
  }
}

/** Same depth, protocol, precision and gradient clipping, made by the same framework (ours, or one reference framework) from the same code. */
function sameKind(a: LoadedRun, b: LoadedRun): boolean {
  return (
    a.config.variant === b.config.variant &&
    a.config.protocol === b.config.protocol &&
    a.config.precision === b.config.precision &&
    a.config.clipNorm === b.config.clipNorm &&
    (a.config.reference?.framework ?? null) === (b.config.reference?.framework ?? null) &&
    (a.config.reference?.code ?? null) === (b.config.reference?.code ?? null)
  );
}

/** A setting in which runs differ: each value with the runs that have it. */
export interface Difference {
  readonly setting: string;
  readonly values: readonly { readonly value: string; readonly runs: readonly string[] }[];
}

/** Settings that define a protocol, with how to show each; `epochs` is the planned count. */
export const PROTOCOL_SETTINGS: readonly { readonly name: string; readonly show: (c: RunConfig) => string }[] = [
  { name: 'protocol', show: (c) => c.protocol },
  { name: 'version', show: (c) => c.version },
  { name: 'stem', show: (c) => c.stem },
  { name: 'input size', show: (c) => `${c.imageSize}×${c.imageSize}` },
  { name: 'batch size', show: (c) => String(c.batchSize) },
  { name: 'schedule', show: (c) => describeSchedule(c) },
  { name: 'momentum', show: (c) => String(c.momentum) },
  { name: 'Nesterov', show: (c) => (c.nesterov ? 'yes' : 'no') },
  { name: 'weight decay', show: (c) => String(c.weightDecay) },
  { name: 'label smoothing', show: (c) => String(c.labelSmoothing) },
  { name: 'gradient clipping', show: (c) => describeClipNorm(c.clipNorm) },
  { name: 'augmentation', show: (c) => describeAugment(c) },
  { name: 'training images', show: (c) => (c.trainLimit === null ? 'all' : String(c.trainLimit)) },
  { name: 'test images', show: (c) => (c.testLimit === null ? 'all' : String(c.testLimit)) },
  { name: 'planned epochs', show: (c) => String(c.epochs) },
  { name: 'precision', show: (c) => c.precision },
];

/**
 * The protocol-defining settings in which the runs differ (none for a single run).
 * @example protocolDifferences([run18, run50]) // [{ setting: 'planned epochs', values: [{ value: '10', runs: ['ResNet-18 (runs/a)'] }, …] }]
 */
export function protocolDifferences(rows: readonly RunRow[]): readonly Difference[] {
  // When every run follows its protocol's schedule rule, the rule is what is compared.
  const byRule = rows.every((r) => followsProtocolSchedule(r.run.config));
  return PROTOCOL_SETTINGS.flatMap(({ name, show: showValue }) => {
    const show =
      name === 'schedule' && byRule ? (c: RunConfig) => `${c.protocol} protocol: ${describeProtocolSchedule(c.protocol)}` : showValue;
    const values: { value: string; runs: string[] }[] = [];
    for (const row of rows) {
      const value = show({ ...row.run.config, epochs: row.plannedEpochs });
      const who = `${row.label} (${row.run.dir})`;
      const entry = values.find((v) => v.value === value);
      if (entry === undefined) values.push({ value, runs: [who] });
      else entry.runs.push(who);
    }
    return values.length > 1 ? [{ setting: name, values }] : [];
  });
}

/**
 * Whether a run's schedule is the one its protocol gives a run of the length first planned
 * (the warmup and decay points depend on that length, so runs of one protocol at different
 * lengths have different schedules without being trained differently).
 * @example followsProtocolSchedule(defaultRunOf3Epochs) // true (cosine, warmup 0.3 epochs)
 */
export function followsProtocolSchedule(c: Pick<RunConfig, 'schedule' | 'protocol' | 'epochs' | 'replanned'>): boolean {
  const firstPlan = c.replanned[0]?.from ?? c.epochs;
  const rule = protocolSchedule(c.protocol, firstPlan);
  return E.isRight(rule) && sameSchedule(rule.right, c.schedule);
}

function sameSchedule(a: Schedule, b: Schedule): boolean {
  const ka = Object.keys(a) as (keyof Schedule)[];
  return ka.length === Object.keys(b).length && ka.every((k) => a[k] === b[k]);
}

/**
 * The schedule and its rate in words.
 * @example describeSchedule(config) // 'cosine from lr 0.1 to 0, 1 epoch warmup'
 */
export function describeSchedule(c: Pick<RunConfig, 'schedule'>): string {
  const s = c.schedule;
  switch (s._tag) {
    case 'Constant':
      return `constant lr ${s.lr}`;
    case 'Step':
      return `step: lr ${s.lr}, ×${s.gamma} every ${s.stepEvery} epoch${s.stepEvery === 1 ? '' : 's'}`;
    case 'Cosine':
      return `cosine from lr ${s.lr} to ${s.floor}, ${s.warmupEpochs} epoch${s.warmupEpochs === 1 ? '' : 's'} warmup`;
    default:
      return absurd(s);
  }
}

/**
 * The optimiser in words.
 * @example describeOptimizer(config) // 'SGD, Nesterov momentum 0.9, weight decay 0.0005'
 */
export function describeOptimizer(c: Pick<RunConfig, 'momentum' | 'nesterov' | 'weightDecay'>): string {
  const momentum = c.momentum === 0 ? 'no momentum' : `${c.nesterov ? 'Nesterov ' : ''}momentum ${c.momentum}`;
  return `SGD, ${momentum}, ${c.weightDecay === 0 ? 'no weight decay' : `weight decay ${c.weightDecay}`}`;
}

/**
 * Augmentation in words.
 * @example describeAugment({ augment: { crop: true, flip: true } }) // 'random crop + flip'
 */
export function describeAugment(c: Pick<RunConfig, 'augment'>): string {
  const parts = [...(c.augment.crop ? ['random crop'] : []), ...(c.augment.flip ? ['flip'] : [])];
  return parts.length === 0 ? 'none' : parts.join(' + ');
}

/** The last path segment: the run's folder name. */
export function folderName(dir: string): string {
  return (
    dir
      .replace(/[\\/]+$/, '')
      .split(/[\\/]/)
      .pop() ?? dir
  );
}

function safeName(name: string): string {
  const safe = name.replace(/[^A-Za-z0-9._-]+/g, '_');
  return safe === '' ? 'run' : safe;
}
