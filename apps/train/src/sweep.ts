/**
 * `nx run train:sweep` as a function of parsed flags — trains several variants (and seeds) under
 * one protocol into one folder (`<out>/resnet<depth>[-seed<seed>]/`, each an ordinary run
 * directory): here, one after the other, each trained in this process by the same library
 * function as train:serve (trainRun); or on a Slurm cluster (`--on=slurm`), one job array task per
 * run, each task this same sweep for its one run. Resumable: run the same command again and
 * finished runs are skipped, an interrupted one resumes from its checkpoint. `--status` lists
 * where every run stands. sweep_main.ts runs it.
 */
import { chmodSync, existsSync, mkdirSync, rmSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import * as E from 'fp-ts/Either';
import { command, commandLine, stopRequests, type Parsed, type Schema } from '@resnet/cli';
import { describeBackend, selectBackend } from '@resnet/backend';
import { formatGb } from '@resnet/format';
import { describeSource, loadFashionMnist } from '@resnet/fashion-mnist';
import { writeFileAtomic } from '@resnet/files';
import { estimateStepMemory } from '@resnet/tfjs';
import { runSpec } from '@resnet/recipe';
import { checkUnowned } from '@resnet/run-dir';
import { trainRun, type RunPlan } from '@resnet/training';
import { DEPTHS } from '@resnet/variants';
import { dataOptions, RESUME_FLAGS, resolveConfig, TRAIN_FLAGS, type TrainFlags } from './config.ts';
import { describeMachine, eventPrinter, failureMessage, INTERRUPTED_EXIT, recordingStops, runErrorMessage } from './run_output.ts';
import { batchScript, OUTCOME_ENV, sbatchArgs, splitOptions, SUBMISSION_FORMAT, SUBMITTED_BY_ENV, type SlurmTask } from './slurm.ts';
import { findTool, queuedTasks, readSubmissions, slurmDirs, submit, writeOutcome, writeSubmission } from './slurm_io.ts';
import { describeStep, parseSeeds, planRun, runLabel, sweepRuns, type SweepStep } from './sweep_plan.ts';
import { formatStatus, readState, sweepStatus } from './sweep_status.ts';

const SLURM_FLAGS = ['partition', 'time', 'cpus-per-task', 'mem', 'sbatch'] as const;

const OWN = {
  variants: { kind: 'intList', values: DEPTHS, default: DEPTHS, help: 'depths to train, in order' },
  seeds: {
    kind: 'string',
    default: null,
    help: 'comma-separated seeds: one run per variant and seed, in <out>/resnetN-seedS (instead of --seed)',
  },
  out: {
    kind: 'string',
    default: 'runs/sweep',
    help: 'sweep folder; ResNet-N trains in <out>/resnetN (with --seeds: <out>/resnetN-seedS)',
    output: 'directory',
  },
  on: {
    kind: 'enum',
    values: ['local', 'slurm'],
    default: 'local',
    help: 'local: train here, one run after the other; slurm: submit one sbatch job array, a task per run not yet finished',
  },
  status: {
    kind: 'bool',
    default: false,
    help: 'list every run of the sweep in --out (finished, running, pending, stopped, failed with its log) and exit',
  },
  partition: { kind: 'string', default: null, help: "--on=slurm: the partition (default: the cluster's default)" },
  time: {
    kind: 'string',
    default: null,
    help: "--on=slurm: each task's time limit, as sbatch takes it: 12:00:00, 2-00:00:00 (default: the partition's); the task saves a checkpoint 5 minutes before it",
  },
  'cpus-per-task': {
    kind: 'int',
    min: 1,
    max: 4096,
    default: null,
    help: "--on=slurm: CPUs per task, also its oneDNN threads (default: this machine's core count)",
  },
  mem: {
    kind: 'string',
    default: null,
    help: "--on=slurm: memory per task as sbatch takes it: 16G, 4000M (default: our estimate of the largest run's peak + 25%, at least + 0.5 GB)",
  },
  sbatch: {
    kind: 'string',
    default: null,
    help: '--on=slurm: more sbatch options, one string: "--account=lab --qos=long" (given last, they override ours)',
  },
} as const satisfies Schema;

// Every train:serve flag but those the sweep decides per variant (and the repair of one run's metrics, which train:serve does).
const PASSED = Object.fromEntries(
  Object.entries(TRAIN_FLAGS).filter(([name]) => !['variant', 'out', 'resume', 'repair-metrics'].includes(name)),
) as Omit<typeof TRAIN_FLAGS, 'variant' | 'out' | 'resume' | 'repair-metrics'>;
const FLAGS = { ...OWN, ...PASSED } as const satisfies Schema;

const SUMMARY = [
  'Trains each of --variants (for each of --seeds) with the same train:serve flags into <out>/resnetN[-seedS], one after the other;',
  'with --on=slurm, submits them instead as one Slurm job array, one task per run (requeueable: a preempted task resumes from its checkpoint).',
  'Run the same command again to continue: finished runs are skipped, an interrupted one resumes',
  'from its checkpoint, and a larger --epochs extends finished ones. --status --out=<out> lists where each run stands.',
  'Then: npx nx run report:serve --runs=<out> --out=<dir>.',
  'Every train:serve flag except --variant, --out, --resume and --repair-metrics is accepted and passed on.',
].join('\n');

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
 * Plans and runs the sweep (or submits it, or shows its status); returns the exit code. A sweep
 * that runs as a Slurm task records its exit code for `--status`.
 * @example await sweep(flags, ['--variants=18,34']) // 0
 */
export async function sweep(parsed: Parsed<typeof FLAGS>, args: readonly string[]): Promise<number> {
  const code = await sweepOrSubmit(parsed, args);
  const outcome = process.env[OUTCOME_ENV];
  if (outcome !== undefined && outcome !== '') writeOutcome(outcome, code);
  return code;
}

async function sweepOrSubmit(parsed: Parsed<typeof FLAGS>, args: readonly string[]): Promise<number> {
  const { variants, seeds: seedList, out, on, status, partition, time, 'cpus-per-task': cpusPerTask, mem, sbatch: extra, ...rest } = parsed;
  const given = args.filter((a) => a.startsWith('--') && a !== '--').map((a) => a.slice(2).split('=')[0] ?? '');
  if (status) {
    const others = given.filter((name) => name !== 'status' && name !== 'out');
    if (others.length > 0)
      return fail(
        `--status lists the runs of the sweep in --out and takes no other flag, not ${others.map((f) => `--${f}`).join(', ')}`,
        2,
      );
    const report = sweepStatus(out);
    if (E.isLeft(report)) return fail(report.left, 1);
    console.log(formatStatus(out, report.right));
    return 0;
  }
  const slurmOnly = given.filter((name) => (SLURM_FLAGS as readonly string[]).includes(name));
  if (on === 'local' && slurmOnly.length > 0)
    return fail(`${slurmOnly.map((f) => `--${f}`).join(', ')} ${slurmOnly.length > 1 ? 'apply' : 'applies'} to --on=slurm only`, 2);
  const seeds = seedList === null ? E.right(null) : parseSeeds(seedList);
  if (E.isLeft(seeds)) return fail(seeds.left, 2);
  if (seeds.right !== null && given.includes('seed'))
    return fail('give --seed (one run per variant) or --seeds (one run per variant and seed), not both', 2);
  const extraOptions = extra === null ? E.right([]) : splitOptions(extra);
  if (E.isLeft(extraOptions)) return fail(extraOptions.left, 2);
  if (on === 'slurm') {
    const missing = ['sbatch', 'squeue'].filter((tool) => findTool(tool) === null);
    if (missing.length > 0)
      return fail(
        `--on=slurm needs Slurm's ${missing.join(' and ')} on PATH, and ${missing.length > 1 ? 'they are' : 'it is'} not there: run this on the cluster's login node (Debian/Ubuntu: apt-get install slurm-client), or leave out --on=slurm to train here`,
        1,
      );
  }

  const flags = { ...rest, variant: '18', out: null, resume: null, 'repair-metrics': false } as TrainFlags;
  const passthrough = passedOn(parsed);
  const resumePassthrough = passthrough.filter(
    (a) => (RESUME_FLAGS as readonly string[]).includes(a.slice(2).split('=')[0] ?? '') && !a.startsWith('--epochs'),
  );

  // Runs an earlier submission has in Slurm's queue are left to it.
  const queued = new Map<string, string>();
  if (on === 'slurm') {
    const submissions = readSubmissions(out);
    if (E.isLeft(submissions)) return fail(submissions.left, 1);
    const queue = queuedTasks(submissions.right.map((s) => s.jobId));
    if (queue === null) return fail("cannot ask Slurm's queue (squeue failed): is the controller up? Try: squeue", 1);
    for (const s of submissions.right)
      for (const task of s.tasks) {
        const entry = queue.find((q) => q.id === `${s.jobId}_${task.index}`);
        if (entry !== undefined) queued.set(task.dir, `${entry.id} (${entry.state.toLowerCase()})`);
      }
  }

  // Plan everything first: a bad folder is reported before hours of training, not after.
  const steps: SweepStep[] = [];
  for (const run of sweepRuns(out, variants, seeds.right)) {
    const inQueue = queued.get(run.dir);
    if (inQueue !== undefined) {
      console.log(`sweep: ${runLabel(run)}: in Slurm's queue as task ${inQueue}; not submitted again`);
      continue;
    }
    // A run another process trains now is not planned around (nor its files touched): say who.
    const unowned = checkUnowned(run.dir);
    if (E.isLeft(unowned)) return fail(runErrorMessage(unowned.left), 1);
    const step = planRun(run, readState(run.dir), { flags, passthrough, resumePassthrough });
    if (E.isLeft(step)) return fail(step.left, 2);
    steps.push(step.right);
  }
  for (const step of steps) console.log(`sweep: ${describeStep(step)}`);
  const report = `npx nx run report:serve --runs=${out} --out=${out}/report`;

  if (steps.every((step) => step._tag === 'Skip')) {
    console.log(
      `\nsweep: nothing to ${on === 'slurm' ? 'submit' : 'train'}.${queued.size > 0 ? ` Watch: npx nx run train:sweep --status --out=${out}.` : ''} Report: ${report}`,
    );
    return 0;
  }
  if (on === 'slurm')
    return submitSweep(steps, {
      out,
      flags,
      seeded: seeds.right !== null,
      passthrough,
      partition,
      time,
      cpusPerTask,
      mem,
      extra: extraOptions.right,
      command: commandLine('train:sweep', args),
    });
  return trainHere(steps, { out, rest, flags, args, report });
}

interface Submit {
  readonly out: string;
  readonly flags: TrainFlags;
  readonly seeded: boolean;
  readonly passthrough: readonly string[];
  readonly partition: string | null;
  readonly time: string | null;
  readonly cpusPerTask: number | null;
  readonly mem: string | null;
  readonly extra: readonly string[];
  readonly command: string;
}

/** `--on=slurm`: one job array, a task per step that is not skipped; the record of which task trains which run. */
function submitSweep(steps: readonly SweepStep[], o: Submit): number {
  const tasks: SlurmTask[] = steps
    .flatMap((s) => (s._tag === 'Skip' ? [] : [s]))
    .map((s, index) => ({ index, variant: s.variant, seed: s.seed, dir: s.dir, epochs: s.epochs }));
  // Memory: by default what the largest run's step is estimated to need, plus a quarter (the
  // estimate's error was −11% to +7% for a step; whole runs peak 11–13% above it, libs/onednn/README.md)
  // and at least 0.5 GB (small runs: Node and the data besides).
  let mem = o.mem;
  if (mem === null) {
    let peak = 0;
    for (const t of tasks) {
      const config = resolveConfig({
        ...o.flags,
        variant: `${t.variant}` as TrainFlags['variant'],
        ...(t.seed === null ? {} : { seed: t.seed }),
      });
      const spec = E.isRight(config) ? runSpec(config.right) : null;
      if (spec === null || E.isLeft(spec) || E.isLeft(config)) continue;
      const estimate = estimateStepMemory(spec.right.net, [config.right.batchSize, config.right.imageSize, config.right.imageSize, 1]);
      if (E.isRight(estimate)) peak = Math.max(peak, estimate.right.peakRssBytes);
    }
    mem = `${Math.ceil(Math.max(peak * 1.25, peak + 0.5e9) / 2 ** 20)}M`;
    console.log(
      `sweep: memory per task ${mem} (the largest run's estimated peak, ${formatGb(peak)}, + 25%, at least + 0.5 GB; set it with --mem)`,
    );
  }
  const cpus = o.cpusPerTask ?? availableParallelism();
  const root = process.cwd();
  const { dir, logs } = slurmDirs(o.out);
  // Folders this submission creates go again if sbatch refuses it: nothing half-written.
  const created = [o.out, dir, logs].filter((d) => !existsSync(d)).reverse();
  mkdirSync(logs, { recursive: true });
  const script = join(dir, `sweep-${new Date().toISOString().replace(/[:.]/g, '-')}.sh`);
  writeFileAtomic(
    script,
    batchScript(tasks, {
      root,
      node: process.execPath,
      out: o.out,
      passthrough: o.passthrough,
      seeded: o.seeded,
      logs,
      command: o.command,
    }),
  );
  chmodSync(script, 0o755);
  const job = submit(
    sbatchArgs({
      tasks: tasks.length,
      name: 'resnet-sweep',
      log: join(logs, '%A_%a.log'),
      chdir: root,
      cpusPerTask: cpus,
      mem,
      partition: o.partition,
      time: o.time,
      extra: o.extra,
    }),
    script,
  );
  if (E.isLeft(job)) {
    rmSync(script, { force: true });
    for (const d of created) rmSync(d, { recursive: true, force: true });
    return fail(job.left, 1);
  }
  writeSubmission(o.out, {
    format: SUBMISSION_FORMAT,
    jobId: job.right,
    submittedAt: new Date().toISOString(),
    command: o.command,
    script,
    log: join(logs, `${job.right}_%a.log`),
    tasks,
  });
  console.log(
    [
      `\nsweep: submitted Slurm job ${job.right}: ${tasks.length} task${tasks.length > 1 ? 's' : ''}, ${cpus} CPU${cpus > 1 ? 's' : ''} and ${mem} each${o.time === null ? '' : `, time limit ${o.time}`}`,
      ...tasks.map((t) => `  task ${job.right}_${t.index}: ${runLabel(t)} in ${t.dir} (log: ${join(logs, `${job.right}_${t.index}.log`)})`),
      `Watch:  npx nx run train:sweep --status --out=${o.out}   (or: squeue --array --jobs=${job.right})`,
      `Then:   npx nx run report:serve --runs=${o.out} --out=${o.out}/report`,
      `A task stopped at its time limit saves a checkpoint: submit the same command again to continue what is left.`,
    ].join('\n'),
  );
  return 0;
}

interface Here {
  readonly out: string;
  readonly rest: Omit<Parsed<typeof FLAGS>, 'variants' | 'seeds' | 'out' | 'on' | 'status' | (typeof SLURM_FLAGS)[number]>;
  readonly flags: TrainFlags;
  readonly args: readonly string[];
  readonly report: string;
}

/** Trains the steps here, one after the other. */
async function trainHere(steps: readonly SweepStep[], { out, rest, flags, args, report }: Here): Promise<number> {
  // Backend and data once, for every run.
  // Every planned run has --precision (the plan refused runs recorded with another).
  const backend = await selectBackend(rest.backend, { purpose: 'training', precision: rest.precision });
  if (E.isLeft(backend)) return fail(`${backend.left.message}${backend.left._tag === 'NoBf16' ? '' : ' (choose one with --backend)'}`, 1);
  console.log(`backend: ${backend.right.reason}`);
  const data = await loadFashionMnist(dataOptions(rest['data-dir']));
  if (E.isLeft(data)) return fail(data.left.message, 1);
  console.log(describeSource(data.right.source));
  // In a Slurm task, a step may take what the task was given (SLURM_MEM_PER_NODE, MiB), not the node's memory.
  const allocated = Number(process.env['SLURM_MEM_PER_NODE'] ?? 'NaN') * 2 ** 20;

  // A signal (or npx/nx killed) stops the current run after its step, with a checkpoint, and ends the sweep.
  // In a Slurm task, what continues the sweep after a stop is submitting it again.
  const again = process.env[SUBMITTED_BY_ENV] ?? commandLine('train:sweep', args);
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
        const config = resolveConfig({
          ...flags,
          variant: `${step.variant}` as TrainFlags['variant'],
          ...(step.seed === null ? {} : { seed: step.seed }),
        });
        if (E.isLeft(config)) throw new Error(`planned ${runLabel(step)} has no config: ${config.left}`);
        // A Restart's leftover config.json (no checkpoint yet) is replaced by trainRun, once it owns the run.
        plan = {
          _tag: 'Start',
          dir: step.dir,
          config: config.right,
          replaceUnstarted: step._tag === 'Restart',
          bookkeeping: {
            createdAt: new Date().toISOString(),
            backend: describeBackend(),
            machine: describeMachine(),
            dataSource: data.right.source.dir,
            command,
          },
        };
      }
      const result = await trainRun(plan, {
        data: data.right,
        onEvent,
        onProgress: printer.bar.update,
        shouldStop: stop.requested,
        checkpointMinutes: rest['checkpoint-minutes'],
        command: again,
        ...(Number.isFinite(allocated) && allocated > 0 ? { memoryBytes: allocated } : {}),
      });
      printer.bar.done();
      if (E.isLeft(result)) {
        const failure = failureMessage(result.left);
        console.error(`sweep: ${runLabel(step)} failed: ${failure.message}; then continue the sweep with: ${again}`);
        return failure.code;
      }
      // The stop's line (stderr) already said how to continue: the sweep's command.
      if (result.right.interrupted) return 130;
    }
  } finally {
    stop.release();
  }
  const trained = [...new Set(steps.map((s) => runLabel(s)))];
  console.log(`\nsweep: done: ${trained.join(', ')} in ${out}. Report: ${report}`);
  return 0;
}

function fail(message: string, code: number): number {
  console.error(`sweep: ${message}`);
  return code;
}
