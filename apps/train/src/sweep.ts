/**
 * `nx run train:sweep` as a function of parsed flags — trains several variants under one
 * protocol into one folder (`<out>/resnet<depth>/`, each an ordinary run directory), one
 * after the other, each by train:serve in a child process. Resumable: run the same command
 * again and finished variants are skipped, an interrupted one resumes from its checkpoint.
 * sweep_main.ts runs it.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import * as E from 'fp-ts/Either';
import { commandLine, type Command, type Parsed, type Schema } from '@resnet/cli';
import { openRun } from '@resnet/training';
import { DEPTHS } from '@resnet/variants';
import { RESUME_FLAGS, TRAIN_FLAGS, type TrainConfig, type TrainFlags } from './config.ts';
import { describeStep, planVariant, variantDir, type RunState, type SweepStep } from './sweep_plan.ts';

const OWN = {
  variants: { kind: 'intList', values: DEPTHS, default: DEPTHS, help: 'depths to train, in order' },
  out: { kind: 'string', default: 'runs/sweep', help: 'sweep folder; ResNet-N trains in <out>/resnetN' },
} as const satisfies Schema;

// Every train:serve flag but those the sweep decides per variant.
const PASSED = Object.fromEntries(Object.entries(TRAIN_FLAGS).filter(([name]) => !['variant', 'out', 'resume'].includes(name))) as Omit<typeof TRAIN_FLAGS, 'variant' | 'out' | 'resume'>;
const FLAGS = { ...OWN, ...PASSED } as const satisfies Schema;

const SUMMARY = [
  'Trains each of --variants with the same train:serve flags into <out>/resnetN, one after the other.',
  'Run the same command again to continue: finished variants are skipped, an interrupted one resumes',
  'from its checkpoint, and a larger --epochs extends finished ones. Then: npx nx run report:serve --runs=<out> --out=<dir>.',
  'Every train:serve flag except --variant, --out and --resume is accepted and passed on.',
].join('\n');

/** Reads what a variant's directory holds. */
export function readState(dir: string): RunState {
  if (!existsSync(dir)) return { _tag: 'Absent' };
  const entries = readdirSync(dir);
  if (!entries.includes('config.json')) return entries.length === 0 ? { _tag: 'Absent' } : { _tag: 'NotARun', reason: 'not empty and not a run directory (no config.json): move it away or choose another --out' };
  const run = openRun<TrainConfig>(dir);
  if (E.isLeft(run)) return { _tag: 'NotARun', reason: run.left.message };
  if (run.right.latest === null && run.right.metrics.length === 0 && entries.every((f) => f === 'config.json' || f === 'metrics.jsonl')) {
    return { _tag: 'Unstarted', config: run.right.config };
  }
  return { _tag: 'Run', config: run.right.config, epochsDone: run.right.metrics.length, hasCheckpoint: run.right.latest !== null };
}

function trainScript(): string {
  const root = typeof __dirname === 'string' ? resolve(__dirname, '../../..') : process.cwd();
  return join(root, 'apps', 'train', 'src', 'main.ts');
}

/** `npx nx run train:sweep`. */
export const SWEEP: Command<typeof FLAGS> = { target: 'train:sweep', name: 'sweep', summary: SUMMARY, flags: FLAGS };

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
 * @example await sweep(flags) // 0
 */
export async function sweep(parsed: Parsed<typeof FLAGS>): Promise<number> {
  const { variants, out, ...rest } = parsed;
  const flags = { ...rest, variant: '18', out: null, resume: null } as TrainFlags;
  const passthrough = passedOn(parsed);
  const resumePassthrough = passthrough.filter((a) => (RESUME_FLAGS as readonly string[]).includes(a.slice(2).split('=')[0] ?? '') && !a.startsWith('--epochs'));

  // Plan everything first: a bad folder is reported before hours of training, not after.
  const steps: SweepStep[] = [];
  for (const variant of variants) {
    const step = planVariant(out, variant, readState(variantDir(out, variant)), flags, passthrough, resumePassthrough);
    if (E.isLeft(step)) {
      console.error(`sweep: ${step.left}`);
      return 2;
    }
    steps.push(step.right);
  }
  for (const step of steps) console.log(`sweep: ${describeStep(step)}`);

  // Ctrl-C reaches the child (same process group), which saves a checkpoint; the sweep then
  // stops. nx sends SIGTERM instead: pass it on.
  let interrupted = false;
  const onSignal = () => {
    interrupted = true;
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    for (const step of steps) {
      if (step._tag === 'Skip') continue;
      if (step._tag === 'Restart') {
        for (const f of ['config.json', 'metrics.jsonl']) rmSync(join(step.dir, f), { force: true });
      }
      console.log(`\nsweep: ${describeStep(step)}\nsweep: ${commandLine('train:serve', step.args)}`);
      const child = spawnSync(process.execPath, ['--import', 'tsx', trainScript(), ...step.args], { stdio: 'inherit', env: process.env });
      if (child.status !== 0 || interrupted) {
        const code = child.status ?? 1;
        console.error(`sweep: ResNet-${step.variant} ${interrupted || code === 130 ? 'was interrupted' : `failed (exit code ${code})`}; run the same command again to continue the sweep`);
        return code === 0 ? 130 : code;
      }
    }
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  console.log(`\nsweep: done: ${variants.map((v) => `ResNet-${v}`).join(', ')} in ${out}. Report: npx nx run report:serve --runs=${out} --out=${out}/report`);
  return 0;
}
