/**
 * The report's "What we find": sentences generated from the summary table's own numbers and
 * nothing else — final test accuracy by depth among our runs trained alike for equal epochs,
 * ours beside the PyTorch reference at the same depth and settings, bf16 runs beside fp32 ones
 * of the same settings, and ours beside the seed
 * report's test accuracy for the same depth. Pure: rows in, text out.
 */
import { formatAccuracy } from '@resnet/format';
import { clipNormTag } from '@resnet/recipe';
import { holm, protocolDifferences, PROTOCOL_SETTINGS, seedGroups, welch, type RunRow, type SeedGroup } from '@resnet/results';
import { SEED_EPOCHS, SEED_RESULTS } from './seed.ts';
import { seedComparable } from './seed_section.ts';

/** The level at which a difference between depths is said to hold (Welch's t-test, Holm-corrected). */
export const SIGNIFICANCE = 0.05;

/** What a depth comparison of single runs cannot say (issue 24: one run per variant cannot tell its differences from run-to-run noise). */
const ONE_RUN_EACH =
  'One run per depth: whether these differences exceed run-to-run noise takes several seeds of each (`train:sweep --seeds=0,1,2`).';

/** The largest |ours − reference| the issue accepts for a reference comparison. */
export const REFERENCE_TOLERANCE = 0.005;

/** How close a run of the seed's own protocol should come to the seed's test accuracy (issue 24's target). */
export const SEED_PROTOCOL_TOLERANCE = 0.01;

/** A reference run should lie within our mean ± this many sample standard deviations at its depth (issue 24's target). */
export const REFERENCE_SPREAD = 2;

/** An epoch whose training loss exceeds the previous epoch's by more than this fraction is an instability (issue 24's criterion). */
export const LOSS_RISE = 0.1;

/** Our runs that can be compared across depths: same protocol settings (planned epochs included) and the same epochs done. */
export interface DepthGroup {
  /** Ordered by depth (as the rows). */
  readonly rows: readonly RunRow[];
  readonly epochs: number;
}

/** A reference run and our run it can be compared with. */
export interface ReferencePair {
  readonly ours: RunRow;
  readonly reference: RunRow;
}

/**
 * Groups of at least two of our runs of different depths with no protocol difference and equal epochs done.
 * @example depthGroups(rows) // [{ rows: [ResNet-18, ResNet-34], epochs: 10 }]
 */
export function depthGroups(rows: readonly RunRow[]): readonly DepthGroup[] {
  const groups = new Map<string, RunRow[]>();
  for (const row of rows.filter((r) => r.run.config.reference === null)) {
    const key = [row.run.metrics.length, ...PROTOCOL_SETTINGS.map((s) => s.show({ ...row.run.config, epochs: row.plannedEpochs }))].join(
      '\u0000',
    );
    groups.set(key, [...(groups.get(key) ?? []), row]);
  }
  return [...groups.values()]
    .filter((g) => new Set(g.map((r) => r.run.config.variant)).size > 1 && protocolDifferences(g).length === 0)
    .map((g) => ({ rows: g, epochs: g[0]?.run.metrics.length ?? 0 }));
}

/**
 * Each reference run with our runs of the same depth, settings and epochs done (none: `ours` absent).
 * @example referencePairs(rows) // [{ ours: ResNet-18, reference: ResNet-18 (PyTorch reference) }]
 */
export function referencePairs(rows: readonly RunRow[]): readonly { readonly reference: RunRow; readonly ours: readonly RunRow[] }[] {
  return rows
    .filter((r) => r.run.config.reference !== null)
    .map((reference) => ({
      reference,
      ours: rows.filter(
        (o) =>
          o.run.config.reference === null &&
          o.run.config.variant === reference.run.config.variant &&
          o.run.metrics.length === reference.run.metrics.length &&
          protocolDifferences([o, reference]).length === 0,
      ),
    }));
}

/**
 * The paragraph(s) of "What we find", as markdown lines.
 * @example findings(rows) // ['- **Depth:** after 10 epochs …', '- **PyTorch reference:** …']
 */
export function findings(rows: readonly RunRow[]): readonly string[] {
  return [
    depthSentence(rows),
    ...referenceSentences(rows),
    ...precisionSentences(rows),
    seedSentence(rows),
    ...seedProtocolSentences(rows),
    stabilitySentence(rows),
    ...clippingSentences(rows),
  ];
}

/**
 * The epochs of a run whose training loss rose more than {@link LOSS_RISE} over the previous epoch's.
 * @example lossRises(run) // [{ epoch: 3, from: 0.5698, to: 1.0023 }]
 */
export function lossRises(row: RunRow): readonly { readonly epoch: number; readonly from: number; readonly to: number }[] {
  const m = row.run.metrics;
  return m.slice(1).flatMap((e, i) => {
    const from = m[i]?.loss ?? e.loss;
    return e.loss > from * (1 + LOSS_RISE) ? [{ epoch: e.epoch, from, to: e.loss }] : [];
  });
}

/** Which runs had an epoch whose training loss rose more than LOSS_RISE, and which had none. */
function stabilitySentence(rows: readonly RunRow[]): string {
  const head = `- **Stability** (an epoch whose training loss is more than ${Math.round(LOSS_RISE * 100)}% above the previous epoch’s):`;
  const unstable = rows.filter((r) => lossRises(r).length > 0);
  const stable = rows.filter((r) => lossRises(r).length === 0);
  const rises = unstable.map(
    (r) =>
      `${r.seriesName} ${lossRises(r)
        .map((x) => `epoch ${x.epoch} (${x.from.toFixed(4)} → ${x.to.toFixed(4)}, +${Math.round((x.to / x.from - 1) * 100)}%)`)
        .join(', ')}`,
  );
  const none =
    stable.length === 0
      ? ''
      : `none in ${stable.length === rows.length ? 'any of the ' : ''}${stable.length} run${stable.length === 1 ? '' : 's'}${stable.length === rows.length ? '' : ` (${stable.map((r) => r.seriesName).join(', ')})`}`;
  return `${head} ${[...rises, ...(none === '' ? [] : [none])].join('; ')}.`;
}

/**
 * Each setting trained with gradient clipping against our runs of the same depth, settings and epochs
 * done without it: mean final test accuracy over seeds, and Welch's test when both have two seeds. A clipped
 * setting with no unclipped one beside it is named only when its clipping is not its protocol's own.
 */
function clippingSentences(rows: readonly RunRow[]): readonly string[] {
  const groups = seedGroups(rows);
  return groups
    .filter((g) => g.rows[0]?.run.config.clipNorm !== null)
    .flatMap((clipped) => {
      const first = clipped.rows[0] as RunRow;
      const unclipped = groups.filter((o) => {
        const other = o.rows[0] as RunRow;
        return (
          other.run.config.clipNorm === null &&
          other.run.config.variant === first.run.config.variant &&
          o.epochs === clipped.epochs &&
          other.run.config.precision === first.run.config.precision &&
          protocolDifferences([first, other]).every((d) => d.setting === 'gradient clipping')
        );
      });
      const e = clipped.epochs;
      const mine = `clipped to ${String(first.run.config.clipNorm)}, ${clipped.label} ${formatSpread(clipped)}`;
      // The protocol's own clipping with nothing unclipped beside it: nothing to compare, nothing to say.
      if (unclipped.length === 0 && clipNormTag(first.run.config.protocol, first.run.config.clipNorm) === null) return [];
      if (unclipped.length === 0)
        return `- **Gradient clipping:** after ${e} epoch${e === 1 ? '' : 's'}, final test accuracy ${mine}; no run of ours with the same depth, settings and epochs done but no clipping is beside it.`;
      const parts = unclipped.map((u) => {
        const test = welch(
          clipped.rows.map((r) => r.last.testAcc),
          u.rows.map((r) => r.last.testAcc),
        );
        const diff = clipped.final.mean - u.final.mean;
        const verdict = test === null ? '' : ` (Welch’s t-test, two-sided: p = ${formatP(test.p)})`;
        return `${mine}, against not clipped, ${u.label} ${formatSpread(u)}: ${signed(diff)}${verdict}`;
      });
      return `- **Gradient clipping:** after ${e} epoch${e === 1 ? '' : 's'} of the same settings but the clipping, final test accuracy ${parts.join('; ')}.`;
    });
}

/**
 * Each bf16 run of ours with our fp32 runs of the same depth, every other setting and the epochs
 * done (none: `fp32` empty). Mixed precision is held to the reference tolerance.
 * @example precisionPairs(rows) // [{ bf16: ResNet-18 (bf16), fp32: [ResNet-18] }]
 */
export function precisionPairs(rows: readonly RunRow[]): readonly { readonly bf16: RunRow; readonly fp32: readonly RunRow[] }[] {
  const ours = rows.filter((r) => r.run.config.reference === null);
  return ours
    .filter((r) => r.run.config.precision === 'bf16')
    .map((bf16) => ({
      bf16,
      fp32: ours.filter(
        (o) =>
          o.run.config.precision === 'fp32' &&
          o.run.config.variant === bf16.run.config.variant &&
          o.run.metrics.length === bf16.run.metrics.length &&
          protocolDifferences([o, { ...bf16, run: { ...bf16.run, config: { ...bf16.run.config, precision: 'fp32' } } }]).length === 0,
      ),
    }));
}

/** bf16 against fp32, or nothing when no run is bf16. */
function precisionSentences(rows: readonly RunRow[]): readonly string[] {
  return precisionPairs(rows).map(({ bf16, fp32 }) => {
    const e = bf16.run.metrics.length;
    if (fp32.length === 0)
      return `- **Precision:** ${bf16.seriesName} (${formatAccuracy(bf16.last.testAcc)} after ${e} epoch${e === 1 ? '' : 's'}) has no fp32 run of ours with the same depth, settings and epochs done beside it.`;
    const parts = fp32.map((o) => {
      const diff = bf16.last.testAcc - o.last.testAcc;
      return `${bf16.seriesName} ${formatAccuracy(bf16.last.testAcc)} against ${o.seriesName} in fp32 ${formatAccuracy(o.last.testAcc)}: bf16 − fp32 = ${signed(diff)}, ${withinTolerance(diff)}`;
    });
    return `- **Precision:** after ${e} epoch${e === 1 ? '' : 's'} of the same settings but the precision, final test accuracy ${parts.join('; ')}.`;
  });
}

/** Whether ours − reference is within the tolerance, in words (the epsilon absorbs float rounding of 4-digit accuracies). */
function withinTolerance(diff: number): string {
  return `${Math.abs(diff) <= REFERENCE_TOLERANCE + 1e-12 ? 'within' : 'outside'} ±${REFERENCE_TOLERANCE}`;
}

/** A signed accuracy difference as the findings print it: +0.0108, −0.0060. */
function signed(diff: number): string {
  return `${diff >= 0 ? '+' : '−'}${formatAccuracy(Math.abs(diff))}`;
}

/**
 * Our runs planned for and done with the seed's epochs, each setting against the seed's test
 * accuracy at its depth — one run by its number, several seeds by their mean — and one below it
 * set beside the PyTorch reference of our recipe at that depth, if any (the issue's rule: below the
 * seed is acceptable only where that reference is below it too).
 */
function seedSentence(rows: readonly RunRow[]): string {
  const ours = seedLength(rows).filter((r) => r.run.config.protocol !== 'seed');
  const head = `- **Seed report** (its recipe differs: see “Comparison with the seed report”):`;
  if (ours.length === 0)
    return `${head} none of our runs was planned for and finished the seed’s ${SEED_EPOCHS} epochs, so none is set against its numbers.`;
  const pairs = referencePairs(rows);
  const parts = seedGroups(ours).map((g) => {
    const one = g.rows.length === 1 ? g.rows[0] : undefined;
    const name = one === undefined ? g.label : one.seriesName;
    const acc = g.final.mean;
    const seed = SEED_RESULTS.find((s) => s.depth === g.variant);
    const mine = one === undefined ? `${name} ${formatSpread(g)}` : `${name} ${formatAccuracy(acc)}`;
    if (seed === undefined) return `${mine} (the seed has no ResNet-${g.variant})`;
    const diff = acc - seed.testAcc;
    const against = `${mine} against the seed’s ${seed.testAcc.toFixed(3)} (${one === undefined ? 'mean ' : ''}${signed(diff)})`;
    if (diff >= 0) return against;
    const references = pairs.filter((p) => p.ours.some((o) => g.rows.includes(o))).map((p) => p.reference);
    if (references.length === 0)
      return `${against}, below it, with no PyTorch reference of our recipe at this depth to say whether the recipe falls short too`;
    return `${against}, below it; ${references
      .map((r) => {
        const fromRef = acc - r.last.testAcc;
        const who = one === undefined ? 'our mean' : 'ours';
        return r.last.testAcc < seed.testAcc
          ? `the PyTorch reference of our recipe is below it too (${formatAccuracy(r.last.testAcc)}), and ${who} − reference = ${signed(fromRef)}, ${withinTolerance(fromRef)}`
          : `the PyTorch reference of our recipe is not (${formatAccuracy(r.last.testAcc)}): ${who} − reference = ${signed(fromRef)}`;
      })
      .join('; ')}`;
  });
  return `${head} after ${SEED_EPOCHS} epochs, final test accuracy ${parts.join('; ')}.`;
}

/** Our runs planned for and done with the seed's epochs. */
function seedLength(rows: readonly RunRow[]): readonly RunRow[] {
  return rows.filter((r) => r.run.config.reference === null && doneWithSeedEpochs(r));
}

function doneWithSeedEpochs(r: RunRow): boolean {
  return r.run.metrics.length === SEED_EPOCHS && r.plannedEpochs === SEED_EPOCHS;
}

/**
 * Our runs of the seed's own protocol (its input size, optimizer, batch and epochs) against the seed's
 * test and training accuracy at that depth: the reproduction of its table, within
 * SEED_PROTOCOL_TOLERANCE or not, with the run's last three test accuracies (one run's final
 * number moves that much between epochs at the protocol's constant rate).
 */
function seedProtocolSentences(rows: readonly RunRow[]): readonly string[] {
  // Ours, and the seed's own code run here: both against the seed's printed numbers.
  const runs = rows.filter((r) => seedComparable(r) && doneWithSeedEpochs(r) && r.run.config.protocol === 'seed');
  if (runs.length === 0) return [];
  const parts = runs.map((r) => {
    const seed = SEED_RESULTS.find((s) => s.depth === r.run.config.variant);
    if (seed === undefined) return `${r.seriesName} ${formatAccuracy(r.last.testAcc)} (the seed has no ResNet-${r.run.config.variant})`;
    const diff = r.last.testAcc - seed.testAcc;
    const lastThree = r.run.metrics
      .slice(-3)
      .map((m) => formatAccuracy(m.testAcc))
      .join(', ');
    return `${r.seriesName} ${formatAccuracy(r.last.testAcc)} against the seed’s ${seed.testAcc.toFixed(3)} (${signed(diff)}, ${Math.abs(diff) <= SEED_PROTOCOL_TOLERANCE + 1e-12 ? 'within' : 'outside'} ±${SEED_PROTOCOL_TOLERANCE}), training accuracy ${r.last.trainAcc.toFixed(3)} against its ${seed.trainAcc.toFixed(3)}; test accuracy over its last three epochs ${lastThree}`;
  });
  return [
    `- **The seed’s own protocol** (its recipe${runs.some((r) => r.run.config.reference !== null) ? '; “seed’s code”: its own code, run here' : ''}, one run per depth as in the seed): after ${SEED_EPOCHS} epochs, final test accuracy ${parts.join('; ')}.`,
  ];
}

function depthSentence(rows: readonly RunRow[]): string {
  const groups = depthGroups(rows);
  if (groups.length === 0) {
    const ours = rows.filter((r) => r.run.config.reference === null);
    return `- **Depth:** no two of our runs of different depths share the protocol settings and the epochs done (${ours.map((r) => `${r.seriesName}: ${r.run.metrics.length} of ${r.plannedEpochs} epoch${r.plannedEpochs === 1 ? '' : 's'}`).join('; ') || 'no runs of ours'}), so the table compares no depths yet.`;
  }
  return groups
    .map((g) => {
      // Several seeds of a depth: compare the samples, not single runs.
      const bySeed = seedGroups(g.rows);
      if (bySeed.length < g.rows.length) return spreadDepthSentence(g, bySeed);
      const list = g.rows.map((r) => `${r.seriesName} ${formatAccuracy(r.last.testAcc)}`).join(', ');
      const accs = g.rows.map((r) => r.last.testAcc);
      const best = g.rows.reduce((b, r) => (r.last.testAcc > b.last.testAcc ? r : b));
      const worst = g.rows.reduce((w, r) => (r.last.testAcc < w.last.testAcc ? r : w));
      const steps = accs.slice(1).map((a, i) => a - (accs[i] ?? a));
      const trend = steps.every((d) => d > 0)
        ? 'rises with every step in depth'
        : steps.every((d) => d < 0)
          ? 'falls with every step in depth'
          : 'does not rise or fall steadily with depth';
      const c = g.rows[0]?.run.config;
      const head = `- **Depth:** after ${g.epochs} epoch${g.epochs === 1 ? '' : 's'} of the same settings (protocol ${c?.protocol ?? '?'}, ${g.rows[0]?.plannedEpochs ?? '?'} planned), final test accuracy is ${list}`;
      if (best.last.testAcc === worst.last.testAcc) return `${head}: the same at every depth. ${ONE_RUN_EACH}`;
      return `${head}: it ${trend}; the highest is ${best.seriesName}’s and the lowest ${worst.seriesName}’s, ${formatAccuracy(best.last.testAcc - worst.last.testAcc)} apart. ${ONE_RUN_EACH}`;
    })
    .join('\n');
}

function referenceSentences(rows: readonly RunRow[]): readonly string[] {
  const pairs = referencePairs(rows);
  if (pairs.length === 0)
    return ['- **PyTorch reference:** none among these runs (tools/torch_reference.py makes one), so the table compares no framework.'];
  return pairs.map(({ reference, ours }) => {
    const e = reference.run.metrics.length;
    const seedCode = reference.run.config.reference?.code === 'seed';
    const what = seedCode ? 'The seed’s code against ours' : 'PyTorch reference';
    if (ours.length === 0)
      return `- **${what}:** ${reference.seriesName} (${formatAccuracy(reference.last.testAcc)} after ${e} epoch${e === 1 ? '' : 's'}) has no run of ours with the same depth, settings and epochs done beside it.`;
    const head = `- **${what}:** after ${e} epoch${e === 1 ? '' : 's'} of the same settings, final test accuracy`;
    // The seed's code is another network with another init: no framework tolerance applies, the difference is stated.
    if (seedCode && ours.length === 1) {
      const o = ours[0] as RunRow;
      return `${head} ${o.seriesName} ${formatAccuracy(o.last.testAcc)} against ${reference.seriesName} ${formatAccuracy(reference.last.testAcc)}: ours − seed’s code = ${signed(o.last.testAcc - reference.last.testAcc)} (the networks and their init differ: see “Comparison with the seed report”).`;
    }
    // Several seeds of ours (one setting: referencePairs matched every setting): the reference against their spread.
    const group = ours.length >= 2 ? seedGroups(ours)[0] : undefined;
    if (group !== undefined) return `${head} ${referenceAgainstSeeds(reference, group)}.`;
    const parts = ours.map((o) => {
      const diff = o.last.testAcc - reference.last.testAcc;
      return `${o.seriesName} ${formatAccuracy(o.last.testAcc)} against ${formatAccuracy(reference.last.testAcc)}: ours − reference = ${signed(diff)}, ${withinTolerance(diff)}`;
    });
    return `${head} ${parts.join('; ')}.`;
  });
}

/**
 * A reference run against our seeds of its setting (issue 24's target: it lies within our mean ± 2 sample std,
 * or the report says it does not), and ours' mean − reference against the reference tolerance.
 */
function referenceAgainstSeeds(reference: RunRow, group: SeedGroup): string {
  const { mean, std } = group.final;
  const spread = std ?? 0;
  const [lo, hi] = [mean - REFERENCE_SPREAD * spread, mean + REFERENCE_SPREAD * spread];
  const acc = reference.last.testAcc;
  // The epsilon absorbs float rounding of 4-digit accuracies, as withinTolerance's.
  const inside = acc >= lo - 1e-12 && acc <= hi + 1e-12;
  const diff = mean - acc;
  return `${reference.seriesName} ${formatAccuracy(acc)} against our ${group.label} ${formatSpread(group)}: ${inside ? 'inside' : 'outside'} our mean ± ${REFERENCE_SPREAD} std (${formatAccuracy(lo)} to ${formatAccuracy(hi)}); our mean − reference = ${signed(diff)}, ${withinTolerance(diff)}`;
}

/** A mean ± std over seeds, as the findings print it: `0.9121 ± 0.0020 (n = 3)`, or `0.9121 (n = 1)`. */
export function formatSpread(g: Pick<SeedGroup, 'final'>): string {
  return `${formatAccuracy(g.final.mean)}${g.final.std === null ? '' : ` ± ${formatAccuracy(g.final.std)}`} (n = ${g.final.n})`;
}

/**
 * Depths compared as samples of seeds: each depth's mean ± std, then Welch's t-test between every
 * two depths with at least two runs each, Holm-corrected over those pairs; a difference holds
 * when its corrected p is below {@link SIGNIFICANCE}.
 */
function spreadDepthSentence(g: { readonly rows: readonly RunRow[]; readonly epochs: number }, groups: readonly SeedGroup[]): string {
  const c = g.rows[0]?.run.config;
  const head = `- **Depth (over seeds):** after ${g.epochs} epoch${g.epochs === 1 ? '' : 's'} of the same settings (protocol ${c?.protocol ?? '?'}, ${g.rows[0]?.plannedEpochs ?? '?'} planned), final test accuracy (mean ± sample standard deviation over seeds) is ${groups.map((x) => `${x.label} ${formatSpread(x)}`).join(', ')}.`;
  const testable = groups.filter((x) => x.final.n >= 2);
  const untestable = groups.filter((x) => x.final.n < 2).map((x) => x.label);
  const pairs = testable.flatMap((a, i) =>
    testable.slice(i + 1).map((b) => ({
      a,
      b,
      test: welch(
        a.rows.map((r) => r.last.testAcc),
        b.rows.map((r) => r.last.testAcc),
      ),
    })),
  );
  const tested = pairs.filter((p): p is typeof p & { readonly test: NonNullable<(typeof p)['test']> } => p.test !== null);
  const adjusted = holm(tested.map((p) => p.test.p));
  const describe = (p: (typeof tested)[number], i: number) => {
    const [hi, lo] = p.test.difference >= 0 ? [p.a, p.b] : [p.b, p.a];
    return {
      holds: (adjusted[i] ?? 1) < SIGNIFICANCE,
      text: `${hi.label} above ${lo.label} by ${formatAccuracy(Math.abs(p.test.difference))} (p = ${formatP(adjusted[i] ?? 1)})`,
    };
  };
  const described = tested.map(describe);
  const method = `Welch’s t-test on final test accuracy between every two depths with at least two seeds (two-sided, Holm-corrected over the ${tested.length} pair${tested.length === 1 ? '' : 's'}, α = ${SIGNIFICANCE})`;
  const holds = described.filter((d) => d.holds).map((d) => d.text);
  const not = described.filter((d) => !d.holds).map((d) => d.text);
  const verdict =
    tested.length === 0
      ? 'No two depths have two seeds each with any spread, so no difference can be tested yet.'
      : `${method}: ${holds.length === 0 ? 'no difference holds beyond the run-to-run noise' : `holds for ${holds.join('; ')}`}${not.length === 0 ? '' : `; ${holds.length === 0 ? '' : 'does not hold for '}${not.join('; ')}`}.`;
  const one =
    untestable.length === 0
      ? ''
      : ` ${untestable.join(', ')} ${untestable.length === 1 ? 'has' : 'have'} one run only and ${untestable.length === 1 ? 'is' : 'are'} not tested.`;
  return `${head} ${verdict}${one}`;
}

/** A p-value with two significant digits: p = 0.0031, p = 0.62, p < 0.0001. */
function formatP(p: number): string {
  return p < 1e-4 ? '< 0.0001' : p >= 0.1 ? p.toFixed(2) : p.toPrecision(2);
}
