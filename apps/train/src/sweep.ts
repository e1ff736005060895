/**
 * `nx run train:sweep` as a function of parsed flags — trains several variants under one
 * protocol into one folder (`<out>/resnet<depth>/`, each an ordinary run directory), one
 * after the other, each trained in this process by the same library function as train:serve (trainRun). Resumable: run the same command
 * again and finished variants are skipped, an interrupted one resumes from its checkpoint.
 * sweep_main.ts runs it.
 */
import { existsSync, readdirSync } from 'node:fs';
import * as E from 'fp-ts/Either';
import { command, commandLine, stopRequests, type Parsed, type Schema } from '@resnet/cli';
import { describeBackend, selectBackend } from '@resnet/backend';
import { describeSource, loadFashionMnist } from '@resnet/fashion-mnist';
import { checkUnowned, isRunBookkeeping, openRun, trainRun, type RunPlan } from '@resnet/training';
import { DEPTHS } from '@resnet/variants';
import { dataOptions, RESUME_FLAGS, resolveConfig, TRAIN_FLAGS, type TrainFlags } from './config.ts';
import { describeMachine, eventPrinter, failureMessage, INTERRUPTED_EXIT, recordingStops, runErrorMessage } from './run_output.ts';
import { describeStep, planVariant, variantDir, type RunState, type SweepStep } from './sweep_plan.ts';

const OWN = {
  variants: { kind: 'intList', values: DEPTHS, default: DEPTHS, help: 'depths to train, in order' },
  out: { kind: 'string', default: 'runs/sweep', help: 'sweep folder; ResNet-N trains in <out>/resnetN', output: 'directory' },
} as const satisfies Schema;

// Every train:serve flag but those the sweep decides per variant (and the repair of one run's metrics, which train:serve does).
const PASSED = Object.fromEntries(Object.entries(TRAIN_FLAGS).filter(([name]) => !['variant', 'out', 'resume', 'repair-metrics'].includes(name))) as Omit<typeof TRAIN_FLAGS, 'variant' | 'out' | 'resume' | 'repair-metrics'>;
const FLAGS = { ...OWN, ...PASSED } as const satisfies Schema;

const SUMMARY = [
  'Trains each of --variants with the same train:serve flags into <out>/resnetN, one after the other.',
  'Run the same command again to continue: finished variants are skipped, an interrupted one resumes',
  'from its checkpoint, and a larger --epochs extends finished ones. Then: npx nx run report:serve --runs=<out> --out=<dir>.',
  'Every train:serve flag except --variant, --out, --resume and --repair-metrics is accepted and passed on.',
].join('\n');

/** Reads what a variant's directory holds. */
export function readState(dir: string): RunState {
  if (!existsSync(dir)) return { _tag: 'Absent' };
  const entries = readdirSync(dir).filter((f) => !isRunBookkeeping(f));
  if (!entries.includes('config.json')) return entries.length === 0 ? { _tag: 'Absent' } : { _tag: 'NotARun', reason: 'not empty and not a run directory (no config.json): move it away or choose another --out' };
  const run = openRun(dir);
  if (E.isLeft(run)) return { _tag: 'NotARun', reason: runErrorMessage(run.left) };
  if (run.right.latest === null && run.right.metrics.length === 0 && entries.every((f) => f === 'config.json' || f === 'metrics.jsonl')) {
    return { _tag: 'Unstarted', config: run.right.config };
  }
  return { _tag: 'Run', config: run.right.config, epochsDone: run.right.metrics.length, hasCheckpoint: run.right.latest !== null };
}

/** `npx nx run train:sweep`. */
export const SWEEP = command('train:sweep', { summary: SUMMARY, flags: FLAGS, exitCodes: INTERRUPTED_EXIT });

/**
 * The train:serve flags that reproduce `flags`: every passed-on flag whose value is not its default.
 * @example passedOn({ ...defaults, lr: 0.05 }) // ['--lr=0.05']
 */
export function passedOn(flags: Parsed<typeof FLAGS>): readonly string[] {
  return Object.entries(PASSED).flatMap(([name, flag]) => {
    const value = (flags as Record<string, unknown>)[name];
    return value === null || value === flag.default ? [] : [`--${name}=${String(value)}`];
  });
}

/**
 * Plans and runs the sweep; returns the exit code.
 * @example await sweep(flags, ['--variants=18,34']) // 0
 */
export async function sweep(parsed: Parsed<typeof FLAGS>, args: readonly string[]): Promise<number> {
  const { variants, out, ...rest } = parsed;
  const flags = { ...rest, variant: '18', out: null, resume: null, 'repair-metrics': false } as TrainFlags;
  const passthrough = passedOn(parsed);
  const resumePassthrough = passthrough.filter((a) => (RESUME_FLAGS as readonly string[]).includes(a.slice(2).split('=')[0] ?? '') && !a.startsWith('--epochs'));

  // Plan everything first: a bad folder is reported before hours of training, not after.
  const steps: SweepStep[] = [];
  for (const variant of variants) {
    // A run another process trains now is not planned around (nor its files touched): say who.
    const unowned = checkUnowned(variantDir(out, variant));
    if (E.isLeft(unowned)) {
      console.error(`sweep: ${runErrorMessage(unowned.left)}`);
      return 1;
    }
    const step = planVariant(out, variant, readState(variantDir(out, variant)), flags, passthrough, resumePassthrough);
    if (E.isLeft(step)) {
      console.error(`sweep: ${step.left}`);
      return 2;
    }
    steps.push(step.right);
  }
  for (const step of steps) console.log(`sweep: ${describeStep(step)}`);

  if (steps.every((step) => step._tag === 'Skip')) {
    console.log(`\nsweep: nothing to train. Report: npx nx run report:serve --runs=${out} --out=${out}/report`);
    return 0;
  }

  // Backend and data once, for every variant.
  // Every planned run has --precision (the plan refused runs recorded with another).
  const backend = await selectBackend(rest.backend, { purpose: 'training', precision: rest.precision });
  if (E.isLeft(backend)) {
    console.error(`sweep: ${backend.left.message}${backend.left._tag === 'NoBf16' ? '' : ' (choose one with --backend)'}`);
    return 1;
  }
  console.log(`backend: ${backend.right.reason}`);
  const data = await loadFashionMnist(dataOptions(rest['data-dir']));
  if (E.isLeft(data)) {
    console.error(`sweep: ${data.left.message}`);
    return 1;
  }
  console.log(describeSource(data.right.source));

  // A signal (or npx/nx killed) stops the current variant after its step, with a checkpoint, and ends the sweep.
  const again = commandLine('train:sweep', args);
  const stop = stopRequests('sweep', 'finishing this step, saving a checkpoint and ending the sweep');
  const printer = eventPrinter({ continueWith: () => again });
  const onEvent = recordingStops(printer.onEvent, stop, () => again);
  try {
    for (const step of steps) {
      if (step._tag === 'Skip') continue;
      // The same run as this train:serve command (which is recorded as the run's command).
      const command = commandLine('train:serve', step.args);
      console.log(`\nsweep: ${describeStep(step)}\nsweep: as ${command}`);
      let plan: RunPlan;
      if (step._tag === 'Resume') {
        plan = { _tag: 'Continue', dir: step.dir, epochs: step.epochs };
      } else {
        const config = resolveConfig({ ...flags, variant: `${step.variant}` as TrainFlags['variant'] });
        if (E.isLeft(config)) throw new Error(`planned ResNet-${step.variant} has no config: ${config.left}`);
        // A Restart's leftover config.json (no checkpoint yet) is replaced by trainRun, once it owns the run.
        plan = { _tag: 'Start', dir: step.dir, config: config.right, replaceUnstarted: step._tag === 'Restart', bookkeeping: { createdAt: new Date().toISOString(), backend: describeBackend(), machine: describeMachine(), dataSource: data.right.source.dir, command } };
      }
      const result = await trainRun(plan, { data: data.right, onEvent, onProgress: printer.bar.update, shouldStop: stop.requested, command: again });
      printer.bar.done();
      if (E.isLeft(result)) {
        const failure = failureMessage(result.left);
        console.error(`sweep: ResNet-${step.variant} failed: ${failure.message}; then continue the sweep with: ${again}`);
        return failure.code;
      }
      // The stop's line (stderr) already said how to continue: the sweep's command.
      if (result.right.interrupted) return 130;
    }
  } finally {
    stop.release();
  }
  console.log(`\nsweep: done: ${variants.map((v) => `ResNet-${v}`).join(', ')} in ${out}. Report: npx nx run report:serve --runs=${out} --out=${out}/report`);
  return 0;
}
