// Crash safety by fault injection: a tiny training run is killed with SIGKILL again and again
// (before its first checkpoint, while a checkpoint is being written, at random moments),
// restarted each time with the command the app tells the user to run, and must finish with
// exactly the weights and metrics of a run that was never interrupted.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, watch, type FSWatcher } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { APP_ENV, mainArgs, runMain, WORKSPACE } from '@resnet/cli/testing';

const REAL = existsSync('/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz');
const ON_CI = process.env['CI'] === 'true';
const ENTRY = 'apps/train/src/main.ts';

// 8 epochs of 2 steps on 8×8 images: a checkpoint (≈90 MB with the SGD velocities) every two steps.
const TINY = ['--variant=18', '--image-size=8', '--train-limit=32', '--test-limit=16', '--mini-batch=16', '--epochs=8', '--seed=7'];

const runToEnd = (args: readonly string[]) => runMain(ENTRY, args);

type Moment = 'early' | 'training' | 'checkpoint' | 'random';

/**
 * Starts the app and SIGKILLs it at `moment`; resolves with whether it was killed (false: it
 * finished first) and whether the killed process had a checkpoint of its own half-written then.
 */
function runAndKill(
  args: readonly string[],
  dir: string,
  moment: Moment,
  delayMs: number,
): Promise<{ readonly killed: boolean; readonly whileWriting: boolean; readonly code: number | null; readonly output: string }> {
  return new Promise((done) => {
    const child = spawn(process.execPath, mainArgs(ENTRY, args), { cwd: WORKSPACE, env: APP_ENV });
    let output = '';
    let killed = false;
    let whileWriting = false;
    // This process's own temporary checkpoint folder (`.<id>.tmp-<pid>`): one left by an earlier killed process does not count.
    const own = (name: string) => name.endsWith(`.tmp-${child.pid}`);
    // A restarted run that had no checkpoint yet removes checkpoints/ (restartRun) while this polls: gone means not writing.
    const writing = () => {
      try {
        return readdirSync(join(dir, 'checkpoints')).some(own);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
        throw e;
      }
    };
    const kill = () => {
      if (killed || child.exitCode !== null) return;
      killed = true;
      whileWriting = writing();
      child.kill('SIGKILL');
    };
    child.stdout.on('data', (d: Buffer) => {
      output += d.toString();
      if (moment === 'training' && /→ /.test(output)) setTimeout(kill, delayMs);
    });
    child.stderr.on('data', (d: Buffer) => void (output += d.toString()));
    const started = Date.now();
    // A checkpoint being written: its temporary directory appears in checkpoints/. Watch for it
    // (inotify: no poll interval to miss it under load) and poll as well.
    let watcher: FSWatcher | null = null;
    if (moment === 'checkpoint' && existsSync(dir)) {
      watcher = watch(dir, { recursive: true }, (_event, name) => {
        if (name !== null && own(String(name)) && String(name).startsWith('checkpoints')) kill();
      });
      // Node's recursive watch on Linux walks subfolders as they come and go (temporary checkpoint
      // folders are renamed or removed under it); an error there is not the app's: the poll below goes on.
      watcher.on('error', () => undefined);
    }
    const poll = () => {
      if (child.exitCode !== null || killed) return;
      if (moment === 'early' && Date.now() - started >= delayMs) return kill();
      if (moment === 'random' && Date.now() - started >= delayMs) return kill();
      if (moment === 'checkpoint' && writing()) return kill();
      setTimeout(poll, 1);
    };
    poll();
    child.on('exit', (code) => {
      watcher?.close();
      done({ killed, whileWriting, code, output });
    });
  });
}

/** The command the app tells the user: the original one, or the one its message suggests instead. */
function suggested(output: string): readonly string[] | null {
  const m = /continue it with: npx nx run train:serve (--resume=\S+)$/m.exec(output);
  return m?.[1] === undefined ? null : [m[1]];
}

const metricsOf = (dir: string) =>
  readFileSync(join(dir, 'metrics.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, number>)
    .map(({ epoch, loss, trainAcc, testAcc, lr }) => ({ epoch, loss, trainAcc, testAcc, lr }));

const realTest = REAL || ON_CI ? test : test.skip;
if (!REAL && !ON_CI) console.warn('SKIPPED: the crash-safety test needs the real Fashion-MNIST: apt-get install dataset-fashion-mnist');

const cleanups: (() => void)[] = [];
afterAll(() => cleanups.forEach((clean) => clean()));

describe('train:serve survives SIGKILL at any moment', () => {
  realTest(
    'killed at least 10 times (before the first checkpoint, during checkpoint writes, at random), restarted as told, it ends with the weights of an uninterrupted run',
    async () => {
      const base = mkdtempSync(join(tmpdir(), 'crash-'));
      // Two runs with checkpoints (257 MB): removed however the test ends.
      cleanups.push(() => rmSync(base, { recursive: true, force: true }));
      const reference = join(base, 'reference');
      expect(runToEnd([...TINY, `--out=${reference}`]).code).toBe(0);

      const dir = join(base, 'killed');
      const original = [...TINY, `--out=${dir}`];
      // A fixed plan, so a failure reproduces: moments and delays (ms).
      const plan: [Moment, number][] = [
        ['early', 300],
        ['training', 0],
        ['checkpoint', 0],
        ['random', 2500],
        ['checkpoint', 0],
        ['training', 150],
        ['checkpoint', 0],
        ['random', 3500],
        ['early', 1200],
        ['checkpoint', 0],
        ['training', 50],
        ['random', 1500],
        ['checkpoint', 0],
        ['random', 4500],
      ];
      const log: string[] = [];
      let kills = 0;
      for (const [moment, delay] of plan) {
        let r = await runAndKill(original, dir, moment, delay);
        const next = r.killed ? null : suggested(r.output);
        if (!r.killed && next !== null) r = await runAndKill(next, dir, moment, delay);
        log.push(`${moment}/${delay}: ${r.killed ? `killed${r.whileWriting ? ' while writing a checkpoint' : ''}` : `exit ${r.code}`}`);
        if (r.killed) kills++;
        else if (r.code !== 0) throw new Error(`a restart failed (exit ${r.code}):\n${r.output}\n${log.join('\n')}`);
        if (!r.killed && r.code === 0 && existsSync(join(dir, 'model'))) break;
      }
      // Finish: the original command, then what it says to run.
      let last = runToEnd(original);
      const next = suggested(last.stderr);
      if (next !== null) last = runToEnd(next);
      if (last.code !== 0 && !/already trained 8 epochs/.test(last.stderr))
        throw new Error(`finishing failed:\n${last.stdout}\n${last.stderr}\n${log.join('\n')}`);

      // The log says which moments were hit: e.g. "checkpoint/0: killed while writing a checkpoint" (its own temporary folder present).
      const duringCheckpoints = log.filter((l) => l.endsWith('while writing a checkpoint')).length;
      expect({ kills: kills >= 10, duringCheckpoints: duringCheckpoints >= 3, log }).toEqual({ kills: true, duringCheckpoints: true, log });
      expect(metricsOf(dir)).toEqual(metricsOf(reference));
      expect(Buffer.compare(readFileSync(join(dir, 'model', 'weights.bin')), readFileSync(join(reference, 'model', 'weights.bin')))).toBe(
        0,
      );
    },
    600_000,
  );

  realTest(
    'with --checkpoint-minutes, a kill in the middle of a long epoch loses only the steps since the last checkpoint: --resume continues mid-epoch and ends as an uninterrupted run',
    async () => {
      const base = mkdtempSync(join(tmpdir(), 'midepoch-'));
      cleanups.push(() => rmSync(base, { recursive: true, force: true }));
      // One epoch of 6 steps, a checkpoint after every step (0.00001 minutes = 0.6 ms).
      const LONG = ['--variant=18', '--image-size=8', '--train-limit=96', '--test-limit=16', '--mini-batch=16', '--epochs=1', '--seed=7'];
      const reference = join(base, 'reference');
      expect(runToEnd([...LONG, `--out=${reference}`]).code).toBe(0);

      const dir = join(base, 'killed');
      const child = spawn(process.execPath, mainArgs(ENTRY, [...LONG, '--checkpoint-minutes=0.00001', `--out=${dir}`]), {
        cwd: WORKSPACE,
        env: APP_ENV,
      });
      // Killed once latest.json points at a checkpoint 3 or more steps into epoch 1.
      const at = await new Promise<{ epoch: number; step: number } | null>((done) => {
        const poll = () => {
          if (child.exitCode !== null) return done(null);
          try {
            const latest = JSON.parse(readFileSync(join(dir, 'latest.json'), 'utf8')) as { epoch: number; step: number };
            if (latest.epoch === 0 && latest.step >= 3) {
              child.kill('SIGKILL');
              return done(latest);
            }
          } catch {
            // not there yet, or being replaced
          }
          setTimeout(poll, 1);
        };
        poll();
      });
      await new Promise((resolve) => child.on('exit', resolve));
      expect(at).not.toBeNull();
      const resumed = runToEnd([`--resume=${dir}`]);
      expect({ code: resumed.code, stderr: resumed.code === 0 ? '' : resumed.stderr }).toEqual({ code: 0, stderr: '' });
      expect(resumed.stdout).toMatch(/resuming \S+ at epoch 1, step [4-6] \(1 epochs planned\)/);
      expect(metricsOf(dir)).toEqual(metricsOf(reference));
      expect(Buffer.compare(readFileSync(join(dir, 'model', 'weights.bin')), readFileSync(join(reference, 'model', 'weights.bin')))).toBe(
        0,
      );
    },
    300_000,
  );
});
