/**
 * `train:sweep --on=slurm`, the pure part: the job array's batch script (task i trains run i by
 * the same sweep command a local sweep runs, so a requeued task resumes from its checkpoint), the
 * sbatch command line, the submission record (`<out>/.slurm/<job>.json`, the one format this
 * module owns: what each array task trains), the task's outcome file, and squeue's output.
 * slurm_io.ts runs sbatch and squeue and reads and writes the files.
 */
import * as E from 'fp-ts/Either';

/** Where a sweep's Slurm files live inside its folder (no config.json: the report and the sweep pass it by). */
export const SLURM_DIR = '.slurm';

/** Seconds before the time limit at which Slurm asks a task to stop (SIGTERM to the task, which saves a checkpoint). */
export const STOP_LEAD_SECONDS = 300;

/** The environment variable that tells a sweep it runs as a Slurm task, naming its outcome file. */
export const OUTCOME_ENV = 'RESNET_SWEEP_OUTCOME';

/** The command that submitted a task's sweep, which continues it after a stop (the task's own command would train locally). */
export const SUBMITTED_BY_ENV = 'RESNET_SWEEP_SUBMITTED_BY';

/** One array task of a submission: the run it trains. */
export interface SlurmTask {
  readonly index: number;
  readonly variant: number;
  readonly seed: number | null;
  readonly dir: string;
  /** Epochs the run is to have when the task ends. */
  readonly epochs: number;
}

/** `<out>/.slurm/<jobId>.json`: one `sbatch` of a sweep. */
export interface Submission {
  readonly format: typeof SUBMISSION_FORMAT;
  readonly jobId: string;
  readonly submittedAt: string;
  /** The train:sweep command that submitted it. */
  readonly command: string;
  readonly script: string;
  /** Each task's log; `%a` stands for the array index. */
  readonly log: string;
  readonly tasks: readonly SlurmTask[];
}

export const SUBMISSION_FORMAT = 'resnet-sweep-slurm/1';

/** How a task's sweep ended, written by the task itself (a task killed hard writes none). */
export interface TaskOutcome {
  readonly code: number;
  readonly endedAt: string;
  /** Slurm's restart count of the attempt (0: first; requeues count up). */
  readonly restart: number;
}

/** What the batch script and sbatch need to know. */
export interface ScriptOptions {
  /** The workspace root: the script changes to it, as nx does before running the app. */
  readonly root: string;
  readonly node: string;
  /** The sweep's `--out`, as given (relative to `root` or absolute). */
  readonly out: string;
  /** The sweep's other flags, passed to every task (train:serve's flags; not --variants, --seeds, --out). */
  readonly passthrough: readonly string[];
  /** Whether runs are named by seed (`--seeds`). */
  readonly seeded: boolean;
  /** The absolute folder of the tasks' logs and outcome files (`<job>_<index>.log`, `<job>_<index>.outcome.json`). */
  readonly logs: string;
  /** The command that wrote the script, for its header. */
  readonly command: string;
}

/**
 * The job array's batch script: array task i runs train:sweep for run i alone. The sweep plans
 * it as a local sweep does (fresh, resume from a checkpoint, or skip when finished), so a task
 * requeued after preemption continues where it stopped. `exec` makes the sweep the job's main
 * process: `--signal=B:TERM@…` before the time limit reaches it, and it saves a checkpoint.
 * @example batchScript(tasks, { root: '/w', node: '/usr/bin/node', out: 'runs/s', passthrough: ['--epochs=2'], seeded: true, logs: '/w/runs/s/.slurm/logs', command: '…' })
 */
export function batchScript(tasks: readonly SlurmTask[], options: ScriptOptions): string {
  const cases = tasks.map(
    (t) =>
      `  ${t.index}) run=(${quote(`--variants=${t.variant}`)}${options.seeded && t.seed !== null ? ` ${quote(`--seeds=${t.seed}`)}` : ''}) ;; # ${t.dir}`,
  );
  const outcome = `"${options.logs.replace(/["\\$`]/g, '\\$&')}/\${SLURM_ARRAY_JOB_ID}_\${SLURM_ARRAY_TASK_ID}.outcome.json"`;
  return [
    '#!/bin/bash',
    `# train:sweep's Slurm job array, written by: ${options.command.replace(/\n/g, ' ')}`,
    '# Array task i trains one run with the same sweep command a local sweep runs: a requeued',
    '# task (preemption, scontrol requeue) resumes from its checkpoint; a finished run is skipped.',
    'set -u',
    'case "${SLURM_ARRAY_TASK_ID:?this script is a Slurm job array; submit it with train:sweep --on=slurm}" in',
    ...cases,
    '  *) echo "train:sweep: no run for array task $SLURM_ARRAY_TASK_ID" >&2; exit 2 ;;',
    'esac',
    `cd ${quote(options.root)}`,
    `export TSX_TSCONFIG_PATH=${quote(`${options.root}/tsconfig.base.json`)}`,
    '# oneDNN takes every core it sees; a task has the CPUs Slurm gave it.',
    'export OMP_NUM_THREADS="${SLURM_CPUS_PER_TASK:-1}"',
    `export ${OUTCOME_ENV}=${outcome}`,
    `export ${SUBMITTED_BY_ENV}=${quote(options.command)}`,
    `exec ${quote(options.node)} --import tsx apps/train/src/sweep_main.ts ${[`--out=${options.out}`, ...options.passthrough].map(quote).join(' ')} "\${run[@]}"`,
    '',
  ].join('\n');
}

/** What users set on every cluster. */
export interface SbatchOptions {
  readonly tasks: number;
  readonly name: string;
  /** Each task's log, with `%A` (job) and `%a` (array index). */
  readonly log: string;
  readonly chdir: string;
  readonly cpusPerTask: number;
  /** As sbatch takes it: `16G`, `4000M`. */
  readonly mem: string;
  readonly partition: string | null;
  readonly time: string | null;
  /** More sbatch options, given last so they override ours. */
  readonly extra: readonly string[];
}

/**
 * sbatch's arguments (before the script): a requeueable array whose tasks append to their log
 * across attempts and get SIGTERM {@link STOP_LEAD_SECONDS} s before their time limit.
 * @example sbatchArgs({ tasks: 4, name: 'resnet-sweep', log: '/o/.slurm/logs/%A_%a.log', chdir: '/w', cpusPerTask: 2, mem: '3000M', partition: null, time: null, extra: [] })[0] // '--parsable'
 */
export function sbatchArgs(o: SbatchOptions): readonly string[] {
  return [
    '--parsable',
    `--array=0-${o.tasks - 1}`,
    `--job-name=${o.name}`,
    '--requeue',
    '--open-mode=append',
    `--output=${o.log}`,
    `--chdir=${o.chdir}`,
    '--nodes=1',
    '--ntasks=1',
    `--cpus-per-task=${o.cpusPerTask}`,
    `--mem=${o.mem}`,
    `--signal=B:TERM@${STOP_LEAD_SECONDS}`,
    ...(o.partition === null ? [] : [`--partition=${o.partition}`]),
    ...(o.time === null ? [] : [`--time=${o.time}`]),
    ...o.extra,
  ];
}

/**
 * The job id sbatch --parsable prints (`id` or `id;cluster`).
 * @example parseJobId('4242;lab\n') // Right('4242')
 */
export function parseJobId(stdout: string): E.Either<string, string> {
  const id = stdout.trim().split(';')[0] ?? '';
  return /^\d+$/.test(id) ? E.right(id) : E.left(`sbatch printed no job id (got "${stdout.trim()}")`);
}

/**
 * `--sbatch`'s options: split on spaces, with single or double quotes for a value that has some.
 * @example splitOptions('--account=lab --comment="two words"') // Right(['--account=lab', '--comment=two words'])
 */
export function splitOptions(text: string): E.Either<string, readonly string[]> {
  const words: string[] = [];
  let word: string | null = null;
  let quoteChar: string | null = null;
  for (const c of text) {
    if (quoteChar !== null) {
      if (c === quoteChar) quoteChar = null;
      else word = (word ?? '') + c;
    } else if (c === '"' || c === "'") {
      quoteChar = c;
      word = word ?? '';
    } else if (/\s/.test(c)) {
      if (word !== null) words.push(word);
      word = null;
    } else word = (word ?? '') + c;
  }
  if (quoteChar !== null) return E.left(`--sbatch has an unclosed ${quoteChar}`);
  if (word !== null) words.push(word);
  // A word that is not an option is the value of the option before it (`--qos long`); sbatch would take any other for its script.
  const stray = words.find((w, i) => !w.startsWith('-') && !(words[i - 1]?.startsWith('-') === true && !words[i - 1]?.includes('=')));
  if (stray !== undefined) return E.left(`--sbatch takes sbatch options (--name=value, or --name value), got "${stray}" on its own`);
  const ours = words.find((w) => /^--(array|parsable|output|open-mode|chdir)(=|$)/.test(w));
  if (ours !== undefined)
    return E.left(`--sbatch cannot set ${ours.split('=')[0]}: the sweep sets it (one array task per run, each with its log)`);
  return E.right(words);
}

/** A task's state in Slurm's queue (squeue). */
export interface QueuedTask {
  /** `<array job>_<index>`. */
  readonly id: string;
  /** PENDING, RUNNING, COMPLETING, REQUEUED, … */
  readonly state: string;
  readonly reason: string;
}

/**
 * squeue's `--array --noheader --format=%i|%T|%r` output, one line per array task.
 * @example parseQueue('42_0|RUNNING|None\n42_1|PENDING|Resources\n') // [{ id: '42_0', state: 'RUNNING', reason: 'None' }, …]
 */
export function parseQueue(stdout: string): readonly QueuedTask[] {
  return stdout
    .split('\n')
    .map((l) => l.trim().split('|'))
    .flatMap(([id, state, reason]) => (id === undefined || id === '' || state === undefined ? [] : [{ id, state, reason: reason ?? '' }]));
}

/**
 * Reads a submission record (the JSON of `<out>/.slurm/<job>.json`), checking every field.
 * @example parseSubmission(JSON.parse(text), path) // Right({ jobId: '42', tasks: [...] , … })
 */
export function parseSubmission(value: unknown, path: string): E.Either<string, Submission> {
  const bad = (what: string) => E.left(`${path}: ${what}; it is train:sweep's record of a Slurm submission (delete it if the job is gone)`);
  if (typeof value !== 'object' || value === null) return bad('not a JSON object');
  const v = value as Record<string, unknown>;
  if (v['format'] !== SUBMISSION_FORMAT) return bad(`"format" must be "${SUBMISSION_FORMAT}", got ${JSON.stringify(v['format'])}`);
  for (const key of ['jobId', 'submittedAt', 'command', 'script', 'log'] as const)
    if (typeof v[key] !== 'string') return bad(`"${key}" must be a string`);
  if (!Array.isArray(v['tasks'])) return bad('"tasks" must be a list');
  const tasks: SlurmTask[] = [];
  for (const [i, t] of (v['tasks'] as unknown[]).entries()) {
    const task = t as Record<string, unknown>;
    const ints = ['index', 'variant', 'epochs'].every((k) => Number.isInteger(task[k]));
    if (
      typeof t !== 'object' ||
      t === null ||
      !ints ||
      typeof task['dir'] !== 'string' ||
      !(task['seed'] === null || Number.isInteger(task['seed']))
    ) {
      return bad(`tasks[${i}] must have integer index, variant and epochs, a seed (integer or null) and a dir`);
    }
    tasks.push({
      index: task['index'] as number,
      variant: task['variant'] as number,
      seed: task['seed'] as number | null,
      dir: task['dir'] as string,
      epochs: task['epochs'] as number,
    });
  }
  return E.right({
    format: SUBMISSION_FORMAT,
    jobId: v['jobId'] as string,
    submittedAt: v['submittedAt'] as string,
    command: v['command'] as string,
    script: v['script'] as string,
    log: v['log'] as string,
    tasks,
  });
}

/**
 * Reads a task's outcome file; null when it is not one (a task killed while writing it writes no other).
 * @example parseOutcome({ code: 1, endedAt: '…', restart: 0 }) // { code: 1, … }
 */
export function parseOutcome(value: unknown): TaskOutcome | null {
  if (typeof value !== 'object' || value === null) return null;
  const v = value as Record<string, unknown>;
  return Number.isInteger(v['code']) && typeof v['endedAt'] === 'string' && Number.isInteger(v['restart'])
    ? { code: v['code'] as number, endedAt: v['endedAt'] as string, restart: v['restart'] as number }
    : null;
}

/** A word for the shell, single-quoted when it needs quoting. */
function quote(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}
