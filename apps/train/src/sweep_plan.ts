/**
 * `train:sweep` planning, pure: for each variant, what its run directory holds decides
 * whether to start it, resume it or skip it. The runner (sweep.ts) reads the directories
 * and executes the plan with train:serve.
 */
import * as E from 'fp-ts/Either';
import { absurd } from 'fp-ts/function';
import type { Replan } from '@resnet/training';
import { resolveConfig, SETTING_FLAGS, type TrainConfig, type TrainFlags } from './config.ts';

/** What a variant's directory holds. */
export type RunState =
  | { readonly _tag: 'Absent' }
  /** A run that stopped before finishing its first epoch without a checkpoint: only its config.json (and an empty metrics.jsonl). */
  | { readonly _tag: 'Unstarted'; readonly config: unknown }
  | { readonly _tag: 'Run'; readonly config: TrainConfig; readonly epochsDone: number; readonly hasCheckpoint: boolean }
  | { readonly _tag: 'NotARun'; readonly reason: string };

/** One variant's part of a sweep. */
export type SweepStep =
  | { readonly _tag: 'Fresh'; readonly variant: number; readonly dir: string; readonly args: readonly string[]; readonly epochs: number }
  /** Unstarted: its leftover config.json is removed first. */
  | { readonly _tag: 'Restart'; readonly variant: number; readonly dir: string; readonly args: readonly string[]; readonly epochs: number }
  | { readonly _tag: 'Resume'; readonly variant: number; readonly dir: string; readonly args: readonly string[]; readonly from: number; readonly planned: number; readonly epochs: number }
  | { readonly _tag: 'Skip'; readonly variant: number; readonly dir: string; readonly done: number };

/** A variant's run directory inside the sweep folder. @example variantDir('runs/sweep', 50) // 'runs/sweep/resnet50' */
export function variantDir(out: string, variant: number): string {
  return `${out.replace(/\/+$/, '')}/resnet${variant}`;
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
 * Plans one variant. `flags` are the train:serve flags given to the sweep (without variant,
 * out, resume); `passthrough` their command-line form for a fresh run, `resumePassthrough`
 * the subset train:serve accepts with --resume (backend, data-dir).
 * @example planVariant('runs/sweep', 34, { _tag: 'Absent' }, flags, ['--epochs=2'], []) // Right({ _tag: 'Fresh', args: ['--variant=34', '--out=runs/sweep/resnet34', '--epochs=2'], … })
 */
export function planVariant(out: string, variant: number, state: RunState, flags: TrainFlags, passthrough: readonly string[], resumePassthrough: readonly string[]): E.Either<string, SweepStep> {
  const dir = variantDir(out, variant);
  const fresh = [`--variant=${variant}`, `--out=${dir}`, ...passthrough];
  const wanted = resolveConfig({ ...flags, variant: `${variant}` as TrainFlags['variant'] });
  if (E.isLeft(wanted)) return wanted;
  switch (state._tag) {
    case 'Absent':
      return E.right({ _tag: 'Fresh', variant, dir, args: fresh, epochs: wanted.right.epochs });
    case 'Unstarted':
      return E.right({ _tag: 'Restart', variant, dir, args: fresh, epochs: wanted.right.epochs });
    case 'NotARun':
      return E.left(`${dir}: ${state.reason}`);
    case 'Run': {
      // Compare with what these flags would have made for the length the run was first planned
      // for: the protocol's warmup (cosine) or decay points (step) derive from it, and a resume
      // with another --epochs records the original in `replanned`.
      const replanned = (state.config as { readonly replanned?: readonly Replan[] }).replanned;
      const firstPlan = replanned?.[0]?.from ?? state.config.epochs;
      const asPlanned = resolveConfig({ ...flags, variant: `${variant}` as TrainFlags['variant'], epochs: firstPlan });
      if (E.isLeft(asPlanned)) return asPlanned;
      const diff = differences(state.config, asPlanned.right);
      if (diff.length > 0) {
        const what = diff.map((k) => `${SETTING_FLAGS[k] ?? k}: ${JSON.stringify((state.config as unknown as Record<string, unknown>)[k]) ?? 'unset'} in the run, ${JSON.stringify((asPlanned.right as unknown as Record<string, unknown>)[k]) ?? 'unset'} here`);
        return E.left(`${dir} holds a ResNet-${variant} run made with other settings (${what.join('; ')}): sweep again with the flags it was made with (its command is in ${dir}/config.json), or choose another --out`);
      }
      const target = flags.epochs ?? state.config.epochs;
      if (state.epochsDone >= target) return E.right({ _tag: 'Skip', variant, dir, done: state.epochsDone });
      if (!state.hasCheckpoint) return E.right({ _tag: 'Restart', variant, dir, args: fresh, epochs: target });
      return E.right({ _tag: 'Resume', variant, dir, args: [`--resume=${dir}`, `--epochs=${target}`, ...resumePassthrough], from: state.epochsDone, planned: state.config.epochs, epochs: target });
    }
    default:
      return absurd(state);
  }
}

/** One line for the sweep's log. */
export function describeStep(step: SweepStep): string {
  switch (step._tag) {
    case 'Fresh':
      return `ResNet-${step.variant}: new run in ${step.dir} (${step.epochs} epochs)`;
    case 'Restart':
      return `ResNet-${step.variant}: ${step.dir} stopped before its first checkpoint; starting it again (${step.epochs} epochs)`;
    case 'Resume':
      return step.planned === step.epochs
        ? `ResNet-${step.variant}: resuming ${step.dir} from its checkpoint (${step.from} of ${step.epochs} epochs done)`
        : `ResNet-${step.variant}: resuming ${step.dir} from its checkpoint (${step.from} epochs done), re-planned from ${step.planned} to ${step.epochs} epochs; ` +
            `an epoch-dependent schedule is recomputed for ${step.epochs} from here, so this differs from a run planned for ${step.epochs} from the start`;
    case 'Skip':
      return `ResNet-${step.variant}: ${step.dir} has finished ${step.done} epochs; skipped`;
    default:
      return absurd(step);
  }
}
