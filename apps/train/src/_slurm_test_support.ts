// A real one-node Slurm cluster for the sweep's tests (tools/slurm_cluster.sh), and the sweep
// run against it as a user runs it. Not a mock: sbatch, squeue and scontrol talk to slurmctld.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { APP_ENV, mainArgs, WORKSPACE, type AppRun } from '@resnet/cli/testing';

/** A running cluster: the environment that points Slurm's commands at it, and how to stop it. */
export interface Cluster {
  readonly env: NodeJS.ProcessEnv;
  readonly dir: string;
  readonly stop: () => void;
}

/**
 * Starts a cluster in a temporary folder; null (with the reason) when this machine cannot run
 * one: Slurm or munge not installed, or not root.
 */
export function startCluster(): Cluster | string {
  const missing = ['/usr/sbin/slurmctld', '/usr/sbin/slurmd', '/usr/sbin/munged', '/usr/bin/sbatch'].filter((f) => !existsSync(f));
  if (missing.length > 0) return `Slurm is not installed (${missing.join(', ')} missing): apt-get install slurm-wlm munge`;
  if (process.getuid?.() !== 0) return 'a local Slurm cluster needs root (slurmd starts jobs as their user)';
  const dir = mkdtempSync(join(tmpdir(), 'slurm-cluster-'));
  // Short grace between SIGTERM and SIGKILL, so a test of a task killed hard does not wait 30 s.
  const r = spawnSync('bash', [join(WORKSPACE, 'tools/slurm_cluster.sh'), 'start', dir], {
    encoding: 'utf8',
    env: { ...process.env, SLURM_CLUSTER_KILL_WAIT: '20' },
  });
  if (r.status !== 0) return `tools/slurm_cluster.sh start failed (exit ${r.status}): ${r.stderr.trim()}`;
  const env = { ...APP_ENV, SLURM_CONF: join(dir, 'slurm.conf') };
  return {
    env,
    dir,
    stop: () => {
      spawnSync('bash', [join(WORKSPACE, 'tools/slurm_cluster.sh'), 'stop', dir], { encoding: 'utf8' });
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Runs train:sweep (its main file, as nx runs it) with `env`. */
export function sweepWith(env: NodeJS.ProcessEnv, args: readonly string[]): AppRun {
  const r = spawnSync(process.execPath, mainArgs('apps/train/src/sweep_main.ts', args), { encoding: 'utf8', cwd: WORKSPACE, env });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Runs a Slurm command against the cluster; its stdout, or throws with its stderr. */
export function slurm(cluster: Cluster, command: string, args: readonly string[]): string {
  const r = spawnSync(command, args, { encoding: 'utf8', env: cluster.env });
  if (r.status !== 0) throw new Error(`${command} ${args.join(' ')} failed (exit ${r.status}): ${r.stderr}`);
  return r.stdout;
}

/** Polls `ready` every 200 ms until it returns true, or throws after `ms` with `what`. */
export async function waitUntil(what: () => string, ready: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!ready()) {
    if (Date.now() > end) throw new Error(`timed out after ${ms / 1000} s waiting for ${what()}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** A run's metrics without its timings: what two runs of the same settings and seed must share. */
export function learningOf(dir: string): readonly Record<string, number>[] {
  return readFileSync(join(dir, 'metrics.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, number>)
    .map(({ epoch, loss, trainAcc, testAcc, lr }) => ({
      epoch: epoch ?? NaN,
      loss: loss ?? NaN,
      trainAcc: trainAcc ?? NaN,
      testAcc: testAcc ?? NaN,
      lr: lr ?? NaN,
    }));
}
