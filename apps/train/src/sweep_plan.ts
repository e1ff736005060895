/**
 * `train:sweep` planning, pure: the sweep's runs (variants × seeds), and for each, what its run
 * directory holds decides whether to start it, resume it or skip it. The runner (sweep.ts) reads the directories
 * and executes the plan with train:serve.
 */
import * as E from 'fp-ts/Either';
import { absurd } from 'fp-ts/function';
import type { Replan } from '@resnet/run-dir';
import { resolveConfig, SETTING_FLAGS, type TrainConfig, type TrainFlags } from './config.ts';

/** What a variant's directory holds. */
export type RunState =
  | { readonly _tag: 'Absent' }
  /** A run that stopped before finishing its first epoch without a checkpoint: only its config.json (and an empty metrics.jsonl). */
  | { readonly _tag: 'Unstarted'; readonly config: unknown }
  | { readonly _tag: 'Run'; readonly config: TrainConfig; readonly epochsDone: number; readonly hasCheckpoint: boolean }
  | { readonly _tag: 'NotARun'; readonly reason: string };

/** One run of a sweep: a variant, and its seed when the sweep has several (`--seeds`); null: the one `--seed`. */
export interface SweepRun {
  readonly variant: number;
  readonly seed: number | null;
  readonly dir: string;
}

/** One run's part of a sweep. */
export type SweepStep = SweepRun &
  (
    | { readonly _tag: 'Fresh'; readonly args: readonly string[]; readonly epochs: number }
    /** Unstarted: its leftover config.json is removed first. */
    | { readonly _tag: 'Restart'; readonly args: readonly string[]; readonly epochs: number }
    | {
        readonly _tag: 'Resume';
        readonly args: readonly string[];
        readonly from: number;
        readonly planned: number;
        readonly epochs: number;
      }
    | { readonly _tag: 'Skip'; readonly done: number }
  );

/**
 * A run's directory inside the sweep folder: `resnet<depth>`, or `resnet<depth>-seed<seed>` in a sweep over `--seeds`.
 * @example runDir('runs/sweep', 50, null) // 'runs/sweep/resnet50'
 * @example runDir('runs/sweep', 50, 2) // 'runs/sweep/resnet50-seed2'
 */
export function runDir(out: string, variant: number, seed: number | null): string {
  return `${out.replace(/\/+$/, '')}/resnet${variant}${seed === null ? '' : `-seed${seed}`}`;
}

/**
 * The runs of a sweep, seed by seed, each in `variants` order (so a study stopped early has every depth of its first seeds).
 * @example sweepRuns('o', [18, 50], [1, 2]).map((r) => r.dir) // ['o/resnet18-seed1', 'o/resnet50-seed1', 'o/resnet18-seed2', 'o/resnet50-seed2']
 */
export function sweepRuns(out: string, variants: readonly number[], seeds: readonly number[] | null): readonly SweepRun[] {
  return (seeds ?? [null]).flatMap((seed) => variants.map((variant) => ({ variant, seed, dir: runDir(out, variant, seed) })));
}

/**
 * The `--seeds` list: comma-separated integers from 0 to 2³¹−1, each once.
 * @example parseSeeds('1,2,3') // Right([1, 2, 3])
 */
export function parseSeeds(text: string): E.Either<string, readonly number[]> {
  const items = text.split(',').map((s) => s.trim());
  const wrong = items.find((s) => !/^\d+$/.test(s) || Number(s) > 2 ** 31 - 1);
  if (wrong !== undefined) return E.left(`--seeds takes comma-separated integers from 0 to ${2 ** 31 - 1}, got "${wrong}"`);
  const seeds = items.map(Number);
  const repeated = seeds.find((s, i) => seeds.indexOf(s) !== i);
  return repeated === undefined ? E.right(seeds) : E.left(`--seeds lists ${repeated} twice: each seed is one run per variant`);
}

/** What a run's plan depends on besides its directory: the sweep's train:serve flags and their command-line forms. */
export interface PlanContext {
  /** The train:serve flags given to the sweep (without variant, out, resume; seed: the sweep's one `--seed`). */
  readonly flags: TrainFlags;
  /** Their command-line form for a fresh run (without `--seed` when the sweep has `--seeds`). */
  readonly passthrough: readonly string[];
  /** The subset train:serve accepts with --resume (backend, data-dir). */
  readonly resumePassthrough: readonly string[];
}

// Settings that define a run (not bookkeeping); epochs and the warmup derived from them may change on resume.
const IGNORED = new Set(['epochs', 'replanned', 'createdAt', 'backend', 'machine', 'dataSource', 'command']);

function differences(existingRun: object, wantedRun: object): string[] {
  const existing = existingRun as Record<string, unknown>;
  const wanted = wantedRun as Record<string, unknown>;
  const keys = [...new Set([...Object.keys(existing), ...Object.keys(wanted)])].filter((k) => !IGNORED.has(k));
  // A field the reader fills with null (e.g. `reference` of a run of ours) is the same as one the flags leave unset.
  return keys.filter((k) => JSON.stringify(existing[k] ?? null) !== JSON.stringify(wanted[k] ?? null)).sort();
}

/**
 * Plans one run from what its directory holds (`state`).
 * @example planRun({ variant: 34, seed: null, dir: 'runs/sweep/resnet34' }, { _tag: 'Absent' }, { flags, passthrough: ['--epochs=2'], resumePassthrough: [] }) // Right({ _tag: 'Fresh', args: ['--variant=34', '--out=runs/sweep/resnet34', '--epochs=2'], … })
 */
export function planRun(target: SweepRun, state: RunState, context: PlanContext): E.Either<string, SweepStep> {
  const { variant, seed, dir } = target;
  const { passthrough, resumePassthrough } = context;
  const flags: TrainFlags = { ...context.flags, variant: `${variant}` as TrainFlags['variant'], ...(seed === null ? {} : { seed }) };
  const fresh = [`--variant=${variant}`, `--out=${dir}`, ...passthrough, ...(seed === null ? [] : [`--seed=${seed}`])];
  const wanted = resolveConfig(flags);
  if (E.isLeft(wanted)) return wanted;
  switch (state._tag) {
    case 'Absent':
      return E.right({ _tag: 'Fresh', ...target, args: fresh, epochs: wanted.right.epochs });
    case 'Unstarted':
      return E.right({ _tag: 'Restart', ...target, args: fresh, epochs: wanted.right.epochs });
    case 'NotARun':
      return E.left(`${dir}: ${state.reason}`);
    case 'Run': {
      // Compare with what these flags would have made for the length the run was first planned
      // for: the protocol's warmup (cosine) or decay points (step) derive from it, and a resume
      // with another --epochs records the original in `replanned`.
      const replanned = (state.config as { readonly replanned?: readonly Replan[] }).replanned;
      const firstPlan = replanned?.[0]?.from ?? state.config.epochs;
      const asPlanned = resolveConfig({ ...flags, epochs: firstPlan });
      if (E.isLeft(asPlanned)) return asPlanned;
      const diff = differences(state.config, asPlanned.right);
      if (diff.length > 0) {
        const what = diff.map(
          (k) =>
            `${SETTING_FLAGS[k] ?? k}: ${JSON.stringify((state.config as unknown as Record<string, unknown>)[k]) ?? 'unset'} in the run, ${JSON.stringify((asPlanned.right as unknown as Record<string, unknown>)[k]) ?? 'unset'} here`,
        );
        return E.left(
          `${dir} holds a ResNet-${variant} run made with other settings (${what.join('; ')}): sweep again with the flags it was made with (its command is in ${dir}/config.json), or choose another --out`,
        );
      }
      const epochs = flags.epochs ?? state.config.epochs;
      if (state.epochsDone >= epochs) return E.right({ _tag: 'Skip', ...target, done: state.epochsDone });
      if (!state.hasCheckpoint) return E.right({ _tag: 'Restart', ...target, args: fresh, epochs });
      return E.right({
        _tag: 'Resume',
        ...target,
        args: [`--resume=${dir}`, `--epochs=${epochs}`, ...resumePassthrough],
        from: state.epochsDone,
        planned: state.config.epochs,
        epochs,
      });
    }
    default:
      return absurd(state);
  }
}

/**
 * A run's name in the sweep's messages.
 * @example runLabel({ variant: 18, seed: 2 }) // 'ResNet-18 seed 2'
 */
export function runLabel(run: Pick<SweepRun, 'variant' | 'seed'>): string {
  return `ResNet-${run.variant}${run.seed === null ? '' : ` seed ${run.seed}`}`;
}

/** One line for the sweep's log. */
export function describeStep(step: SweepStep): string {
  const label = runLabel(step);
  switch (step._tag) {
    case 'Fresh':
      return `${label}: new run in ${step.dir} (${step.epochs} epochs)`;
    case 'Restart':
      return `${label}: ${step.dir} stopped before its first checkpoint; starting it again (${step.epochs} epochs)`;
    case 'Resume':
      return step.planned === step.epochs
        ? `${label}: resuming ${step.dir} from its checkpoint (${step.from} of ${step.epochs} epochs done)`
        : `${label}: resuming ${step.dir} from its checkpoint (${step.from} epochs done), re-planned from ${step.planned} to ${step.epochs} epochs; ` +
            `an epoch-dependent schedule is recomputed for ${step.epochs} from here, so this differs from a run planned for ${step.epochs} from the start`;
    case 'Skip':
      return `${label}: ${step.dir} has finished ${step.done} epochs; skipped`;
    default:
      return absurd(step);
  }
}
