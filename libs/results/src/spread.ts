/**
 * Runs of the same settings but the seed, as a sample: per group n, mean ± sample standard
 * deviation and min–max of the final and best test accuracy, per-epoch mean ± std for the
 * charts' bands, and Welch's t-test between two groups (two-sided, with Holm's correction over
 * several pairs), so a report can say which differences hold beyond run-to-run noise. Pure.
 */
import { PROTOCOL_SETTINGS, settingTags, type RunRow } from './summary.ts';

/** A sample's summary. */
export interface Sample {
  readonly n: number;
  readonly mean: number;
  /** Sample standard deviation (n − 1); null for one value. */
  readonly std: number | null;
  readonly min: number;
  readonly max: number;
}

/** Our runs with every setting equal but the seed, and the same epochs done. */
export interface SeedGroup {
  /** `ResNet-18`, or `ResNet-18 (bf16)`, `ResNet-18 (seed protocol)`, `ResNet-50 (no clipping)`. */
  readonly label: string;
  readonly variant: number;
  readonly rows: readonly RunRow[];
  readonly seeds: readonly number[];
  readonly epochs: number;
  readonly final: Sample;
  readonly best: Sample;
}

/**
 * n, mean, sample std, min and max.
 * @example sample([0.9, 0.91, 0.92]) // { n: 3, mean: 0.91, std: 0.01, min: 0.9, max: 0.92 }
 */
export function sample(values: readonly number[]): Sample {
  const n = values.length;
  const mean = values.reduce((s, v) => s + v, 0) / n;
  const std = n < 2 ? null : Math.sqrt(values.reduce((s, v) => s + (v - mean) ** 2, 0) / (n - 1));
  return { n, mean, std, min: Math.min(...values), max: Math.max(...values) };
}

/**
 * Groups our runs (not references) by variant, precision, every protocol setting and the epochs
 * done: each group is one setting's seeds. Ordered as the rows.
 * @example seedGroups(rows) // [{ label: 'ResNet-18', seeds: [1, 2, 3], final: { n: 3, mean: 0.912, … } }, …]
 */
export function seedGroups(rows: readonly RunRow[]): readonly SeedGroup[] {
  const groups = new Map<string, RunRow[]>();
  for (const row of rows.filter((r) => r.run.config.reference === null)) {
    const c = row.run.config;
    const key = [
      c.variant,
      c.precision,
      row.run.metrics.length,
      ...PROTOCOL_SETTINGS.map((s) => s.show({ ...c, epochs: row.plannedEpochs })),
    ].join('\u0000');
    groups.set(key, [...(groups.get(key) ?? []), row]);
  }
  return [...groups.values()].map((g) => {
    const first = g[0] as RunRow;
    return {
      label: groupLabel(first),
      variant: first.run.config.variant,
      rows: g,
      seeds: g.map((r) => r.run.config.seed),
      epochs: first.run.metrics.length,
      final: sample(g.map((r) => r.last.testAcc)),
      best: sample(g.map((r) => r.best.testAcc)),
    };
  });
}

// `ResNet-18`, with what sets the group apart from the default protocol's fp32 runs: `ResNet-50 (bf16, no clipping)`.
function groupLabel(row: RunRow): string {
  const tags = settingTags(row.run.config);
  return tags.length === 0 ? row.label : `${row.label} (${tags.join(', ')})`;
}

/**
 * Whether some setting among the rows has two seeds or more (a spread to show).
 * @example hasSeeds(rows) // true for a sweep with --seeds=1,2
 */
export function hasSeeds(rows: readonly RunRow[]): boolean {
  return seedGroups(rows).some((g) => g.rows.length >= 2);
}

/**
 * Per-epoch mean ± std of a group's test accuracy and training loss (epochs every run has).
 * @example epochBands(group) // [{ epoch: 1, testAcc: { mean: 0.81, std: 0.01, … }, loss: { … } }, …]
 */
export function epochBands(group: SeedGroup): readonly { readonly epoch: number; readonly testAcc: Sample; readonly loss: Sample }[] {
  return Array.from({ length: group.epochs }, (_, i) => ({
    epoch: i + 1,
    testAcc: sample(group.rows.map((r) => r.run.metrics[i]?.testAcc ?? NaN)),
    loss: sample(group.rows.map((r) => r.run.metrics[i]?.loss ?? NaN)),
  }));
}

/** Welch's t-test of two samples' means. */
export interface Welch {
  /** Mean of `a` − mean of `b`. */
  readonly difference: number;
  readonly t: number;
  /** Welch–Satterthwaite degrees of freedom. */
  readonly df: number;
  /** Two-sided p-value. */
  readonly p: number;
}

/**
 * Welch's unequal-variance t-test, two-sided; null when a sample has fewer than two values, or
 * both have no spread at all (the test is undefined).
 * @example welch([0.91, 0.92, 0.915], [0.88, 0.885, 0.89]) // { difference: 0.03, t: 7.35, df: 4, p: 0.0018 }
 */
export function welch(a: readonly number[], b: readonly number[]): Welch | null {
  const sa = sample(a);
  const sb = sample(b);
  if (sa.std === null || sb.std === null) return null;
  const va = sa.std ** 2 / sa.n;
  const vb = sb.std ** 2 / sb.n;
  if (va + vb === 0) return null;
  const t = (sa.mean - sb.mean) / Math.sqrt(va + vb);
  const df = (va + vb) ** 2 / (va ** 2 / (sa.n - 1) + vb ** 2 / (sb.n - 1));
  return { difference: sa.mean - sb.mean, t, df, p: studentTwoSided(t, df) };
}

/**
 * Holm's step-down correction of p-values for several tests at once: the adjusted p-values, in
 * the input's order (each ≤ 1, and a test holds at level α when its adjusted p < α).
 * @example holm([0.01, 0.04, 0.03]) // [0.03, 0.06, 0.06]
 */
export function holm(ps: readonly number[]): readonly number[] {
  const order = ps.map((p, i) => [p, i] as const).sort((x, y) => x[0] - y[0]);
  const adjusted = new Array<number>(ps.length).fill(1);
  let running = 0;
  for (const [rank, [p, i]] of order.entries()) {
    running = Math.max(running, Math.min(1, (ps.length - rank) * p));
    adjusted[i] = running;
  }
  return adjusted;
}

/**
 * P(|T| ≥ |t|) for Student's t with `df` degrees of freedom: I_{df/(df+t²)}(df/2, 1/2).
 * @example studentTwoSided(2.228, 10) // ≈ 0.05
 */
export function studentTwoSided(t: number, df: number): number {
  if (!Number.isFinite(t)) return 0;
  // For small |t|, df / (df + t²) rounds to 1: take the complement from t² / (df + t²) instead.
  const y = (t * t) / (df + t * t);
  return y < 0.5 ? 1 - incompleteBeta(y, 0.5, df / 2) : incompleteBeta(df / (df + t * t), df / 2, 0.5);
}

/** The regularised incomplete beta function I_x(a, b), by its continued fraction (Lentz's method). */
export function incompleteBeta(x: number, a: number, b: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const front = Math.exp(logGamma(a + b) - logGamma(a) - logGamma(b) + a * Math.log(x) + b * Math.log(1 - x));
  // The fraction converges fast for x < (a + 1) / (a + b + 2); otherwise use the symmetry I_x(a, b) = 1 − I_{1−x}(b, a).
  if (x > (a + 1) / (a + b + 2)) return 1 - incompleteBeta(1 - x, b, a);
  const tiny = 1e-300;
  let c = 1;
  let d = 1 - ((a + b) * x) / (a + 1);
  d = 1 / (Math.abs(d) < tiny ? tiny : d);
  let f = d;
  for (let m = 1; m <= 300; m++) {
    const m2 = 2 * m;
    for (const numerator of [(m * (b - m) * x) / ((a + m2 - 1) * (a + m2)), (-(a + m) * (a + b + m) * x) / ((a + m2) * (a + m2 + 1))]) {
      d = 1 + numerator * d;
      d = 1 / (Math.abs(d) < tiny ? tiny : d);
      c = 1 + numerator / c;
      if (Math.abs(c) < tiny) c = tiny;
      f *= c * d;
    }
    if (Math.abs(c * d - 1) < 1e-15) break;
  }
  return (front * f) / a;
}

/** ln Γ(x) for x > 0 (Lanczos, g = 7, 9 terms: 15 significant digits). */
function logGamma(x: number): number {
  const g = [
    0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059, 12.507343278686905,
    -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
  ];
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - logGamma(1 - x);
  const z = x - 1;
  let sum = g[0] as number;
  for (let i = 1; i < 9; i++) sum += (g[i] as number) / (z + i);
  const t = z + 7.5;
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(sum);
}
