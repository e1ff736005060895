// train:sweep --on=slurm on a real one-node Slurm cluster (tools/slurm_cluster.sh, started here):
// a 2 × 2 sweep equals the same sweep run locally, a requeued task resumes from its checkpoint
// and ends as an uninterrupted one, a failing task shows as failed with its log, and the status
// and the report read the finished sweep. Without Slurm on PATH the flag fails in one line.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { APP_ENV, runMain } from '@resnet/cli/testing';
import { learningOf, slurm, startCluster, sweepWith, waitUntil, type Cluster } from './_slurm_test_support.ts';

const REAL = existsSync('/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz');
const ON_CI = process.env['CI'] === 'true';
// One CPU per task (two tasks at a time on two cores); the local reference runs with as many threads.
const TINY = ['--image-size=8', '--train-limit=64', '--test-limit=32', '--mini-batch=32', '--epochs=2', '--cpus-per-task=1'];
const LOCAL_ENV = { ...APP_ENV, OMP_NUM_THREADS: '1' };

// Every folder a test makes (runs with checkpoints: 1.5 GB in all) goes when the file ends.
const made: string[] = [];
const scratch = () => {
  const dir = mkdtempSync(join(tmpdir(), 'sweep-slurm-'));
  made.push(dir);
  return dir;
};
afterAll(() => {
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
});
const status = (cluster: Cluster, out: string) => sweepWith(cluster.env, ['--status', `--out=${out}`]);
const jobOf = (stdout: string): string => /submitted Slurm job (\d+)/.exec(stdout)?.[1] ?? 'none';

describe('train:sweep --on=slurm without Slurm', () => {
  test('fails with one line naming what is missing; nothing is written', () => {
    const out = join(scratch(), 's');
    // PATH with node alone: no sbatch, no squeue.
    const bin = scratch();
    symlinkSync(process.execPath, join(bin, 'node'));
    const r = sweepWith({ ...APP_ENV, PATH: bin }, ['--on=slurm', '--variants=18', `--out=${out}`]);
    expect(r).toEqual({
      code: 1,
      stdout: '',
      stderr:
        "sweep: --on=slurm needs Slurm's sbatch and squeue on PATH, and they are not there: run this on the cluster's login node (Debian/Ubuntu: apt-get install slurm-client), or leave out --on=slurm to train here\n",
    });
    expect(existsSync(out)).toBe(false);
  });

  test('Slurm flags without --on=slurm, and --seed with --seeds, are refused before anything is done', () => {
    const out = join(scratch(), 's');
    expect(sweepWith(APP_ENV, ['--partition=gpu', `--out=${out}`])).toMatchObject({
      code: 2,
      stderr: 'sweep: --partition applies to --on=slurm only\n',
    });
    expect(sweepWith(APP_ENV, ['--seeds=1,2', '--seed=3', `--out=${out}`])).toMatchObject({
      code: 2,
      stderr: 'sweep: give --seed (one run per variant) or --seeds (one run per variant and seed), not both\n',
    });
    expect(sweepWith(APP_ENV, ['--status', '--variants=18', `--out=${out}`])).toMatchObject({
      code: 2,
      stderr: 'sweep: --status lists the runs of the sweep in --out and takes no other flag, not --variants\n',
    });
    expect(sweepWith(APP_ENV, ['--on=slurm', '--sbatch=--array=0-9', `--out=${out}`])).toMatchObject({
      code: 2,
      stderr: 'sweep: --sbatch cannot set --array: the sweep sets it (one array task per run, each with its log)\n',
    });
    expect(existsSync(out)).toBe(false);
  });
});

let cluster: Cluster | null = null;
let why = '';
beforeAll(() => {
  const started = REAL || ON_CI ? startCluster() : 'the real Fashion-MNIST is not installed: apt-get install dataset-fashion-mnist';
  if (typeof started === 'string') {
    why = started;
    // CI installs Slurm and the dataset: a cluster that cannot start there is a failure, not a skip.
    if (ON_CI) throw new Error(`the Slurm tests cannot run: ${why}`);
    console.warn(`SKIPPED: the Slurm sweep tests: ${why}`);
  } else cluster = started;
}, 60_000);
afterAll(() => cluster?.stop());

/** Runs `body` with the cluster, or passes over it (with the warning above) where none could start. */
const withCluster = (body: (c: Cluster) => Promise<void>) => async () => {
  if (cluster === null) return;
  await body(cluster);
};

describe('train:sweep --on=slurm on a one-node cluster', () => {
  test(
    'a sweep of 2 variants × 2 seeds finishes all four runs with the metrics of the same sweep run locally; again, it submits nothing; the status and the report read it',
    withCluster(async (c) => {
      const root = scratch();
      const out = join(root, 'slurm');
      const submitted = sweepWith(c.env, ['--on=slurm', '--variants=18,34', '--seeds=1,2', ...TINY, `--out=${out}`]);
      expect({ code: submitted.code, stderr: submitted.stderr }).toEqual({ code: 0, stderr: '' });
      const job = jobOf(submitted.stdout);
      expect(submitted.stdout).toContain(`task ${job}_3: ResNet-34 seed 2 in ${out}/resnet34-seed2`);
      expect(submitted.stdout).toContain(`npx nx run train:sweep --status --out=${out}`);

      // A local sweep of the same runs meanwhile (one thread, as each task has).
      const local = join(root, 'local');
      const here = sweepWith(LOCAL_ENV, [
        '--variants=18,34',
        '--seeds=1,2',
        ...TINY.filter((a) => !a.startsWith('--cpus')),
        `--out=${local}`,
      ]);
      expect({ code: here.code, stderr: here.stderr }).toEqual({ code: 0, stderr: '' });

      await waitUntil(
        () => `four finished runs; status:\n${status(c, out).stdout}`,
        () => status(c, out).stdout.includes('4 runs: 4 finished'),
        180_000,
      );
      for (const run of ['resnet18-seed1', 'resnet34-seed1', 'resnet18-seed2', 'resnet34-seed2']) {
        expect({ run, learning: learningOf(join(out, run)) }).toEqual({ run, learning: learningOf(join(local, run)) });
        expect(JSON.parse(readFileSync(join(out, run, 'config.json'), 'utf8'))).toMatchObject({ seed: Number(run.slice(-1)), epochs: 2 });
      }
      // The seeds differ: two seeds of one variant did not train alike.
      expect(learningOf(join(out, 'resnet18-seed1'))).not.toEqual(learningOf(join(out, 'resnet18-seed2')));

      const shown = status(c, out);
      expect(shown.code).toBe(0);
      expect(shown.stdout).toMatch(
        new RegExp(`^sweep ${out} \\(Slurm job ${job}\\):\\nResNet-18 seed 1  finished  resnet18-seed1: 2/2 epochs\\n`),
      );
      expect(shown.stdout).toContain('ResNet-34 seed 2  finished  resnet34-seed2: 2/2 epochs');

      const again = sweepWith(c.env, ['--on=slurm', '--variants=18,34', '--seeds=1,2', ...TINY, `--out=${out}`]);
      expect(again.code).toBe(0);
      expect(again.stdout).toContain('ResNet-34 seed 2: ');
      expect(again.stdout).toContain('has finished 2 epochs; skipped');
      expect(again.stdout).toContain('sweep: nothing to submit.');

      const report = runMain('apps/report/src/main.ts', [`--runs=${out}`, `--out=${join(root, 'report')}`]);
      expect({ code: report.code, stderr: report.stderr }).toEqual({ code: 0, stderr: '' });
      const md = readFileSync(join(root, 'report', 'report.md'), 'utf8');
      for (const run of ['resnet18-seed1', 'resnet34-seed1', 'resnet18-seed2', 'resnet34-seed2']) expect(md).toContain(run);
    }),
    300_000,
  );

  test(
    'a requeued task (scontrol requeue) saves a checkpoint, resumes from it and ends with the metrics and weights of an uninterrupted run',
    withCluster(async (c) => {
      const root = scratch();
      const out = join(root, 'slurm');
      // 4 epochs of 64 steps: long enough to be requeued in the middle of its second epoch.
      const flags = [
        '--variants=18',
        '--seeds=5',
        '--image-size=16',
        '--train-limit=2048',
        '--test-limit=64',
        '--mini-batch=32',
        '--epochs=4',
      ];
      const submitted = sweepWith(c.env, ['--on=slurm', ...flags, '--cpus-per-task=1', `--out=${out}`]);
      expect({ code: submitted.code, stderr: submitted.stderr }).toEqual({ code: 0, stderr: '' });
      const task = `${jobOf(submitted.stdout)}_0`;
      const dir = join(out, 'resnet18-seed5');
      const metrics = join(dir, 'metrics.jsonl');
      const epochs = () => (existsSync(metrics) ? readFileSync(metrics, 'utf8').trim().split('\n').filter(Boolean).length : 0);
      await waitUntil(
        () => `its first epoch (status: ${status(c, out).stdout})`,
        () => epochs() >= 1,
        120_000,
      );
      slurm(c, 'scontrol', ['requeue', task]);
      // The first attempt ends: stopped by SIGTERM after its step, with a checkpoint (exit 130).
      const outcome = join(out, '.slurm', 'logs', `${task}.outcome.json`);
      await waitUntil(
        () => `the first attempt's outcome in ${outcome}`,
        () => existsSync(outcome),
        60_000,
      );
      expect(JSON.parse(readFileSync(outcome, 'utf8'))).toMatchObject({ code: 130, restart: 0 });
      const stoppedAt = epochs();
      expect(stoppedAt).toBeLessThan(4);
      // Slurm holds a requeued job back for a while; let it start now.
      await waitUntil(
        () => `${task} pending again`,
        () => slurm(c, 'squeue', ['--array', '--noheader', '--format=%T', `--jobs=${task}`]).trim() === 'PENDING',
        60_000,
      );
      slurm(c, 'scontrol', ['update', `jobid=${task}`, 'StartTime=now']);
      await waitUntil(
        () => `the requeued task to finish (status: ${status(c, out).stdout})`,
        () => status(c, out).stdout.includes('1 run: 1 finished'),
        180_000,
      );
      // Finished means its task has left the queue, so its outcome is there.
      expect(JSON.parse(readFileSync(outcome, 'utf8'))).toMatchObject({ code: 0, restart: 1 });
      const log = readFileSync(join(out, '.slurm', 'logs', `${task}.log`), 'utf8');
      expect(log).toContain('DUE TO JOB REQUEUE');
      expect(log).toContain(`sweep: ResNet-18 seed 5: resuming ${dir} from its checkpoint (${stoppedAt} of 4 epochs done)`);

      const local = join(root, 'local');
      const here = sweepWith(LOCAL_ENV, [...flags, `--out=${local}`]);
      expect({ code: here.code, stderr: here.stderr }).toEqual({ code: 0, stderr: '' });
      expect(learningOf(dir)).toEqual(learningOf(join(local, 'resnet18-seed5')));
      expect(
        Buffer.compare(
          readFileSync(join(dir, 'model', 'weights.bin')),
          readFileSync(join(local, 'resnet18-seed5', 'model', 'weights.bin')),
        ),
      ).toBe(0);
    }),
    420_000,
  );

  test(
    "a job sbatch refuses (a partition the cluster does not have) fails with sbatch's words; nothing is left behind",
    withCluster(async (c) => {
      const out = join(scratch(), 'slurm');
      const r = sweepWith(c.env, ['--on=slurm', '--variants=18', ...TINY, '--partition=nope', `--out=${out}`]);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/^sweep: sbatch refused the job \(exit 1\): sbatch: error: .*[Pp]artition.*\n$/);
      expect(existsSync(out)).toBe(false);
    }),
    60_000,
  );

  test(
    'a task that fails (a data folder that does not exist) shows as failed in the status, with its message and log',
    withCluster(async (c) => {
      const out = join(scratch(), 'slurm');
      const submitted = sweepWith(c.env, ['--on=slurm', '--variants=18', ...TINY, '--data-dir=/nonexistent/fashion', `--out=${out}`]);
      expect({ code: submitted.code, stderr: submitted.stderr }).toEqual({ code: 0, stderr: '' });
      const task = `${jobOf(submitted.stdout)}_0`;
      await waitUntil(
        () => `a failed run (status: ${status(c, out).stdout})`,
        () => status(c, out).stdout.includes('1 run: 1 failed'),
        120_000,
      );
      const shown = status(c, out).stdout;
      const log = join(out, '.slurm', 'logs', `${task}.log`);
      expect(shown).toContain(`ResNet-18  failed  resnet18: no epoch done; task ${task} exited with 1: sweep: `);
      expect(shown).toContain('/nonexistent/fashion');
      expect(shown).toContain(`; log: ${log}`);
      expect(readdirSync(join(out, '.slurm', 'logs')).sort()).toEqual([`${task}.log`, `${task}.outcome.json`]);
    }),
    180_000,
  );
});
