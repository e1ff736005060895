/**
 * `train:sweep --status --out=DIR`: every run of a sweep — pending, running (epoch k/N),
 * finished, stopped, failed (with its log) — from its run directories, the Slurm submissions
 * recorded in `DIR/.slurm/` and, when Slurm answers, its queue. Also what a run directory holds
 * ({@link readState}), which the sweep plans from.
 */
import { existsSync, readdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import * as E from 'fp-ts/Either';
import { formatDuration } from '@resnet/format';
import {
  CONFIG_FILE,
  DEFAULT_STALE_SECONDS,
  isRunBookkeeping,
  isRunDirectory,
  METRICS_FILE,
  openRun,
  readProgress,
  runStanding,
  type Standing,
} from '@resnet/run-dir';
import { runErrorMessage } from './run_output.ts';
import { queuedTasks, readOutcome, readSubmissions, lastMessage, taskFiles } from './slurm_io.ts';
import type { QueuedTask, SlurmTask, TaskOutcome } from './slurm.ts';
import { runLabel, type RunState } from './sweep_plan.ts';

/**
 * Reads what a run directory holds.
 * @example readState('runs/sweep/resnet18') // { _tag: 'Run', config, epochsDone: 3, hasCheckpoint: true }
 */
export function readState(dir: string): RunState {
  if (!existsSync(dir)) return { _tag: 'Absent' };
  const entries = readdirSync(dir).filter((f) => !isRunBookkeeping(f));
  if (!entries.includes(CONFIG_FILE))
    return entries.length === 0
      ? { _tag: 'Absent' }
      : { _tag: 'NotARun', reason: 'not empty and not a run directory (no config.json): move it away or choose another --out' };
  const run = openRun(dir);
  if (E.isLeft(run)) return { _tag: 'NotARun', reason: runErrorMessage(run.left) };
  if (run.right.latest === null && run.right.metrics.length === 0 && entries.every((f) => f === CONFIG_FILE || f === METRICS_FILE)) {
    return { _tag: 'Unstarted', config: run.right.config };
  }
  return { _tag: 'Run', config: run.right.config, epochsDone: run.right.metrics.length, hasCheckpoint: run.right.latest !== null };
}

/** Where a run stands. */
export type Status = 'finished' | 'running' | 'pending' | 'stopped' | 'failed' | 'not started' | 'unknown';

/** Everything the status of one run is decided from. */
export interface RunFacts {
  readonly label: string;
  readonly dir: string;
  readonly state: RunState;
  /** Epochs it is to have: its latest submission's, else its config's. */
  readonly epochs: number | null;
  /** Its latest Slurm task (`<job>_<index>`), its log and outcome, or null for a run trained here. */
  readonly task: {
    readonly id: string;
    readonly log: string;
    readonly outcome: TaskOutcome | null;
    readonly lastMessage: string | null;
  } | null;
  /** The task in Slurm's queue; null: not queued; undefined: the queue could not be asked. */
  readonly queued: QueuedTask | null | undefined;
  /** Where the run stands from its own files and lock (@resnet/run-dir `runStanding`); null: no run there yet. */
  readonly standing: Standing | null;
}

/** One line of the status. */
export interface RunStatus {
  readonly label: string;
  readonly dir: string;
  readonly status: Status;
  readonly detail: string;
}

const ACTIVE = /^(RUNNING|COMPLETING|CONFIGURING|STAGE_OUT|RESIZING|SIGNALING)$/;

/**
 * Where a run stands, from its facts: running while its Slurm task runs or a live process holds
 * its lock; then finished when its metrics have every epoch; otherwise the queue and the task's
 * recorded outcome (130: stopped with a checkpoint) decide, or, for a run trained here, its own
 * records (the error it failed with, the signal that stopped it, a process killed without a word).
 * @example runStatus({ …, state: { _tag: 'Run', epochsDone: 3, … }, epochs: 10, queued: { id: '42_0', state: 'RUNNING', reason: 'None' } }) // { status: 'running', detail: 'epoch 4/10 (Slurm task 42_0)' }
 */
export function runStatus(f: RunFacts): RunStatus {
  const done = f.state._tag === 'Run' ? f.state.epochsDone : 0;
  const epochs = f.epochs ?? (f.state._tag === 'Run' ? f.state.config.epochs : null);
  const of = `${epochs ?? '?'}`;
  const line = (status: Status, detail: string): RunStatus => ({ label: f.label, dir: f.dir, status, detail });
  if (f.state._tag === 'NotARun') return line('failed', f.state.reason);
  const all = epochs !== null && done >= epochs;
  // A run whose last epoch is in metrics.jsonl still writes its model until its process ends.
  const epoch = all ? `all ${of} epochs done, writing the model` : `epoch ${done + 1}/${of}`;
  // Where in the epoch, from the training process's own record of it.
  const p = f.standing?._tag === 'Training' ? f.standing.progress : null;
  const within =
    !all && p !== null && p.epoch === done + 1 ? `, step ${p.step}/${p.steps}, ${formatDuration(p.etaSeconds)} of training left` : '';
  if (f.queued !== null && f.queued !== undefined && ACTIVE.test(f.queued.state))
    return line('running', `${epoch} (Slurm task ${f.queued.id})${within}`);
  if (f.standing?._tag === 'Training')
    return line('running', `${epoch} (pid ${f.standing.owner.pid} on ${f.standing.owner.host})${within}`);
  if (all) return line('finished', `${done}/${of} epochs`);
  if (f.queued !== null && f.queued !== undefined)
    return line('pending', `${done}/${of} epochs done; Slurm task ${f.queued.id} ${f.queued.state.toLowerCase()} (${f.queued.reason})`);
  const progress = done === 0 ? 'no epoch done' : `${done}/${of} epochs done`;
  if (f.task === null) return trainedHere(f, progress, line);
  const log = `log: ${f.task.log}`;
  const said = f.task.lastMessage === null ? '' : `: ${f.task.lastMessage}`;
  if (f.queued === undefined) return line('unknown', `${progress}; Slurm's queue could not be asked (squeue); ${log}`);
  if (f.task.outcome === null) {
    return existsSync(f.task.log)
      ? line(
          'failed',
          `${progress}; task ${f.task.id} ended without recording an outcome (killed: time limit, memory or node failure?)${said}; ${log}`,
        )
      : line('failed', `${progress}; task ${f.task.id} left the queue without starting${said}`);
  }
  if (f.task.outcome.code === 130)
    return line('stopped', `${progress} (stopped with a checkpoint, e.g. at its time limit); submit the sweep again to continue; ${log}`);
  return line('failed', `${progress}; task ${f.task.id} exited with ${f.task.outcome.code}${said}; ${log}`);
}

// A run this machine trained (no Slurm task): its own records say how it ended.
function trainedHere(f: RunFacts, progress: string, line: (status: Status, detail: string) => RunStatus): RunStatus {
  if (f.state._tag === 'Absent') return line('not started', 'no run directory yet');
  const again = 'run the sweep again to continue';
  const s = f.standing;
  if (s?._tag === 'Failed') return line('failed', `${progress}; ${s.error}; run the sweep again to retry from its last checkpoint`);
  if (s?._tag === 'Stopped')
    return line('stopped', `${progress}; stopped by ${s.stop.reason} at epoch ${s.stop.epoch + 1}, step ${s.stop.step}; ${again}`);
  if (s?._tag === 'Stale') return line('stopped', `${progress}; ${s.who} stopped without a word (killed?); ${again}`);
  return line('stopped', `${progress}; ${again}`);
}

/**
 * Gathers the facts of every run of the sweep in `out` and decides each one's status; the
 * runs its Slurm submissions name, in task order, then run directories found there.
 * @example sweepStatus('runs/s') // Right({ runs: [{ label: 'ResNet-18 seed 1', status: 'finished', … }], jobs: ['42'] })
 */
export function sweepStatus(out: string): E.Either<string, { readonly runs: readonly RunStatus[]; readonly jobs: readonly string[] }> {
  if (!existsSync(out)) return E.left(`${out} does not exist: give the --out of a sweep`);
  const submissions = readSubmissions(out);
  if (E.isLeft(submissions)) return submissions;
  // The latest submission of each run directory.
  const latest = new Map<string, { readonly jobId: string; readonly task: SlurmTask }>();
  for (const s of submissions.right) for (const task of s.tasks) latest.set(task.dir, { jobId: s.jobId, task });
  const found = readdirSync(out, { withFileTypes: true })
    .filter((d) => d.isDirectory() && isRunDirectory(join(out, d.name)))
    .map((d) => join(out, d.name))
    .sort();
  const known = new Set([...latest.keys()].map((d) => join(d)));
  const dirs = [...latest.keys(), ...found.filter((d) => !known.has(join(d)))];
  const jobs = submissions.right.map((s) => s.jobId);
  const queue = queuedTasks(jobs);
  const runs = dirs.map((dir) => {
    const state = readState(dir);
    const submitted = latest.get(dir);
    const label = submitted !== undefined ? runLabel(submitted.task) : labelOf(dir, state);
    let task: RunFacts['task'] = null;
    let queued: RunFacts['queued'] = null;
    if (submitted !== undefined) {
      const id = `${submitted.jobId}_${submitted.task.index}`;
      const files = taskFiles(out, submitted.jobId, submitted.task.index);
      task = { id, log: files.log, outcome: readOutcome(files.outcome), lastMessage: lastMessage(files.log) };
      queued = queue === null ? undefined : (queue.find((q) => q.id === id) ?? null);
    }
    const progress = readProgress(dir);
    const epochsDone = state._tag === 'Run' ? state.epochsDone : 0;
    const epochs = submitted?.task.epochs ?? (state._tag === 'Run' ? state.config.epochs : Number.POSITIVE_INFINITY);
    const standing =
      state._tag === 'Run' || state._tag === 'Unstarted'
        ? runStanding(
            dir,
            { epochsDone, epochs, progress: E.isRight(progress) ? progress.right : null },
            { staleSeconds: DEFAULT_STALE_SECONDS },
          )
        : null;
    return runStatus({ label, dir, state, epochs: submitted?.task.epochs ?? null, task, queued, standing });
  });
  return E.right({ runs, jobs });
}

/**
 * The status as a table, one run per line, and a count per status.
 * @example formatStatus('runs/s', status) // 'ResNet-18 seed 1  finished  2/2 epochs  runs/s/resnet18-seed1\n…'
 */
export function formatStatus(out: string, status: { readonly runs: readonly RunStatus[]; readonly jobs: readonly string[] }): string {
  if (status.runs.length === 0)
    return `${out}: no runs (no run directories and no Slurm submissions): start one with npx nx run train:sweep --out=${out}`;
  const width = (f: (r: RunStatus) => string) => Math.max(...status.runs.map((r) => f(r).length));
  const [wl, ws] = [width((r) => r.label), width((r) => r.status)];
  const lines = status.runs.map((r) => `${r.label.padEnd(wl)}  ${r.status.padEnd(ws)}  ${basename(r.dir)}: ${r.detail}`);
  const counts = (['finished', 'running', 'pending', 'stopped', 'failed', 'not started', 'unknown'] as const)
    .map((s) => [s, status.runs.filter((r) => r.status === s).length] as const)
    .filter(([, n]) => n > 0)
    .map(([s, n]) => `${n} ${s}`);
  const jobs = status.jobs.length === 0 ? '' : ` (Slurm job${status.jobs.length > 1 ? 's' : ''} ${status.jobs.join(', ')})`;
  return [`sweep ${out}${jobs}:`, ...lines, `${status.runs.length} run${status.runs.length === 1 ? '' : 's'}: ${counts.join(', ')}`].join(
    '\n',
  );
}

function labelOf(dir: string, state: RunState): string {
  const seed = /-seed(\d+)$/.exec(basename(dir));
  if (state._tag === 'Run') return runLabel({ variant: state.config.variant, seed: seed === null ? null : state.config.seed });
  return basename(dir);
}
