/**
 * `train:sweep --on=slurm`, the part that touches the world: finds Slurm's commands, runs
 * sbatch and squeue, and reads and writes the sweep's Slurm files (slurm.ts says what they hold).
 */
import { spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { delimiter, join, resolve } from 'node:path';
import * as E from 'fp-ts/Either';
import { slurmAttempt, writeFileAtomic } from '@resnet/files';
import {
  parseJobId,
  parseOutcome,
  parseQueue,
  parseSubmission,
  SLURM_DIR,
  type QueuedTask,
  type Submission,
  type TaskOutcome,
} from './slurm.ts';

/**
 * The path of `tool` on PATH, or null.
 * @example findTool('sbatch') // '/usr/bin/sbatch'
 */
export function findTool(tool: string): string | null {
  for (const dir of (process.env['PATH'] ?? '').split(delimiter)) {
    if (dir === '') continue;
    try {
      accessSync(join(dir, tool), constants.X_OK);
      return join(dir, tool);
    } catch {
      // Not here.
    }
  }
  return null;
}

/** The sweep's Slurm folder and its logs folder. */
export function slurmDirs(out: string): { readonly dir: string; readonly logs: string } {
  const dir = resolve(out, SLURM_DIR);
  return { dir, logs: join(dir, 'logs') };
}

/**
 * Runs `sbatch args script`; the job id, or sbatch's own words when it refuses.
 * @example submit(['--parsable', '--array=0-3', …], '/o/.slurm/sweep-….sh') // Right('42')
 */
export function submit(args: readonly string[], script: string): E.Either<string, string> {
  const r = spawnSync('sbatch', [...args, script], { encoding: 'utf8' });
  if (r.error !== undefined) return E.left(`could not run sbatch: ${r.error.message}`);
  if (r.status !== 0) return E.left(`sbatch refused the job (exit ${r.status}): ${(r.stderr || r.stdout).trim().replace(/\n+/g, '; ')}`);
  return parseJobId(r.stdout);
}

/**
 * The queue's tasks of these array jobs (pending, running, requeued…); null when squeue cannot
 * be asked (not installed, or the controller does not answer). A job that has left the queue has no task here.
 * @example queuedTasks(['42']) // [{ id: '42_0', state: 'RUNNING', reason: 'None' }]
 */
export function queuedTasks(jobIds: readonly string[]): readonly QueuedTask[] | null {
  if (jobIds.length === 0) return [];
  if (findTool('squeue') === null) return null;
  const r = spawnSync('squeue', ['--array', '--noheader', '--format=%i|%T|%r', `--jobs=${jobIds.join(',')}`], { encoding: 'utf8' });
  // squeue exits 1 for job ids it no longer knows ("Invalid job id specified"): those have ended.
  if (r.status !== 0 && !/Invalid job id/i.test(r.stderr)) return null;
  return r.status === 0 ? parseQueue(r.stdout) : queuedOneByOne(jobIds);
}

function queuedOneByOne(jobIds: readonly string[]): readonly QueuedTask[] | null {
  const all: QueuedTask[] = [];
  for (const id of jobIds) {
    const r = spawnSync('squeue', ['--array', '--noheader', '--format=%i|%T|%r', `--jobs=${id}`], { encoding: 'utf8' });
    if (r.status === 0) all.push(...parseQueue(r.stdout));
    else if (!/Invalid job id/i.test(r.stderr)) return null;
  }
  return all;
}

/**
 * Every submission recorded in the sweep folder, oldest first; an unreadable record is an error naming it.
 * @example readSubmissions('runs/s') // Right([{ jobId: '42', tasks: [...] }])
 */
export function readSubmissions(out: string): E.Either<string, readonly Submission[]> {
  const { dir } = slurmDirs(out);
  if (!existsSync(dir)) return E.right([]);
  const records: Submission[] = [];
  for (const name of readdirSync(dir).filter((f) => /^\d+\.json$/.test(f))) {
    const path = join(dir, name);
    let value: unknown;
    try {
      value = JSON.parse(readFileSync(path, 'utf8'));
    } catch (e) {
      return E.left(
        `${path}: not JSON (${(e as Error).message}); it is train:sweep's record of a Slurm submission (delete it if the job is gone)`,
      );
    }
    const record = parseSubmission(value, path);
    if (E.isLeft(record)) return record;
    records.push(record.right);
  }
  return E.right(records.sort((a, b) => Number(a.jobId) - Number(b.jobId)));
}

/** Writes a submission's record (atomically: a reader sees all of it or none). */
export function writeSubmission(out: string, record: Submission): string {
  const { dir } = slurmDirs(out);
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `${record.jobId}.json`);
  writeFileAtomic(path, `${JSON.stringify(record, null, 2)}\n`);
  return path;
}

/** A task's log and outcome file. */
export function taskFiles(out: string, jobId: string, index: number): { readonly log: string; readonly outcome: string } {
  const { logs } = slurmDirs(out);
  return { log: join(logs, `${jobId}_${index}.log`), outcome: join(logs, `${jobId}_${index}.outcome.json`) };
}

/** A task's outcome, or null when it wrote none (still running, or killed hard). */
export function readOutcome(path: string): TaskOutcome | null {
  try {
    return parseOutcome(JSON.parse(readFileSync(path, 'utf8')));
  } catch {
    return null;
  }
}

/** Records how this task's sweep ended, when it runs as a Slurm task (slurm.ts's OUTCOME_ENV names the file). */
export function writeOutcome(path: string, code: number): void {
  const outcome: TaskOutcome = { code, endedAt: new Date().toISOString(), restart: slurmAttempt()?.restart ?? 0 };
  try {
    writeFileAtomic(path, `${JSON.stringify(outcome)}\n`);
  } catch (e) {
    console.error(`sweep: could not record this task's outcome in ${path}: ${(e as Error).message}`);
  }
}

/**
 * The last lines of a log that the sweep and the training wrote as messages (not progress bars), for the status.
 * @example lastMessage('/o/.slurm/logs/42_1.log') // 'sweep: ResNet-34 failed: …'
 */
export function lastMessage(log: string): string | null {
  let text: string;
  try {
    text = readFileSync(log, 'utf8');
  } catch {
    return null;
  }
  const lines = text
    .split(/[\r\n]+/)
    .map((l) => l.trim())
    .filter((l) => /^(sweep|train|slurmstepd[^:]*): /.test(l) && !/^sweep: (as |ResNet-\d+( seed \d+)?: )/.test(l));
  return lines[lines.length - 1] ?? null;
}
