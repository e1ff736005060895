// Training through real `npx nx run`, stopped the ways a user's training gets stopped: npx
// killed (nx and the app used to train on with no terminal), nx sent SIGTERM. Each time the
// app saves a checkpoint, says how to continue on stderr and in the run's stopped.json, and
// leaves no process behind.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const root = resolve(__dirname, '../../..');
const ON_CI = process.env['CI'] === 'true';
const REAL = existsSync('/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz');
const ENV: NodeJS.ProcessEnv = {
  ...process.env,
  NX_DAEMON: 'false',
  NX_NO_CLOUD: 'true',
  NX_SKIP_NX_CACHE: 'true',
  NX_TUI: 'false',
  FORCE_COLOR: '0',
};
delete ENV['NX_INVOCATION_ROOT_PID'];

/** Pids of the processes whose command line mentions `text`. */
function processesWith(text: string): number[] {
  return readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p))
    .filter((p) => {
      try {
        return readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(text);
      } catch {
        return false;
      }
    })
    .map(Number);
}

async function until(what: string, ok: () => boolean, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** `npx nx run train:serve` of a small run in `out`, with its output collected; resolves once it trains. */
async function startTraining(
  out: string,
): Promise<{ readonly npx: ChildProcess; readonly output: () => string; readonly exited: Promise<number | null> }> {
  const npx = spawn(
    'npx',
    ['nx', 'run', 'train:serve', '--variant=18', '--epochs=1', '--train-limit=4096', '--test-limit=64', '--mini-batch=16', `--out=${out}`],
    { cwd: root, env: ENV, detached: true },
  );
  let output = '';
  npx.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  npx.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number | null>((done) => npx.on('exit', (code) => done(code)));
  await until('the first training steps', () => /epoch 1 .*\d+\/256/.test(output), 90_000);
  return { npx, output: () => output, exited };
}

(REAL || ON_CI ? describe : describe.skip)('a training stopped from outside, through real nx', () => {
  test('npx killed: the app notices its launcher is gone, saves a checkpoint, records how to continue, and exits', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'signals-')), 'run');
    const { npx, exited } = await startTraining(out);
    npx.kill('SIGTERM');
    await exited;
    await until('the training to end', () => processesWith(`--out=${out}`).length === 0, 60_000);
    const stopped = JSON.parse(readFileSync(join(out, 'stopped.json'), 'utf8')) as {
      reason: string;
      continueWith: string;
      epoch: number;
      step: number;
    };
    expect(stopped).toMatchObject({
      reason: expect.stringMatching(/^npx nx run, which launched it, is gone \((npx|sh|nx) pid \d+ exited\)$/) as unknown,
      continueWith: `npx nx run train:serve --resume=${out}`,
      epoch: 0,
    });
    expect(stopped.step).toBeGreaterThan(0);
    expect(existsSync(join(out, 'latest.json'))).toBe(true);
  }, 180_000);

  test('the shell between nx and the app killed (as `pkill -f` does): nx ends and closes the app’s output, and the app still saves a checkpoint and stopped.json', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'signals-')), 'run');
    const { exited } = await startTraining(out);
    // nx runs the app through `/bin/sh -c "… node … --out=<out>"`; with it gone nx exits and the app's
    // stdout and stderr are pipes nobody reads: its next line is an EPIPE (that crashed it before 2026-12-06).
    const [shell] = processesWith(`--out=${out}`).filter((pid) => readFileSync(`/proc/${pid}/cmdline`, 'utf8').startsWith('/bin/sh'));
    expect(shell).toBeDefined();
    process.kill(shell ?? 0, 'SIGTERM');
    await exited;
    await until('the training to end', () => processesWith(`--out=${out}`).length === 0, 60_000);
    expect(existsSync(join(out, 'latest.json'))).toBe(true);
    expect(JSON.parse(readFileSync(join(out, 'stopped.json'), 'utf8'))).toMatchObject({
      reason: expect.stringMatching(/^npx nx run, which launched it, is gone \((npx|sh|nx) pid \d+ exited\)$/) as unknown,
      continueWith: `npx nx run train:serve --resume=${out}`,
      epoch: 0,
    });
  }, 180_000);

  test('nx sent SIGTERM: the continue line reaches stderr, stopped.json has it, npx exits 130', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'signals-')), 'run');
    const { npx, output, exited } = await startTraining(out);
    const [nx] = processesWith('.bin/nx').filter((pid) => processesWith(`--out=${out}`).includes(pid));
    expect(nx).toBeDefined();
    process.kill(nx ?? 0, 'SIGTERM');
    expect(await exited).toBe(130);
    await until('the training to end', () => processesWith(`--out=${out}`).length === 0, 60_000);
    expect(output()).toMatch(
      new RegExp(`saved a checkpoint after \\d+ steps of epoch 1 in ${out}; continue with: npx nx run train:serve --resume=${out}`),
    );
    expect(JSON.parse(readFileSync(join(out, 'stopped.json'), 'utf8'))).toMatchObject({
      reason: 'SIGTERM',
      continueWith: `npx nx run train:serve --resume=${out}`,
    });
    void npx;
  }, 180_000);
});
