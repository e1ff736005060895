// How an app ends, with real processes: a signal with and without a stop request, cleanups on
// every path, and a launcher that dies (a stand-in for npx/nx, named as they are).
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { APP_ENV, WORKSPACE } from './testing.ts';
import { launcherName } from './lifecycle.ts';

const ON_LINUX = process.platform === 'linux';

describe('launcherName: which processes above an app are `npx nx run`', () => {
  test('npx, nx and the shells they put between are launchers (argv as ps shows them)', () => {
    expect(launcherName(['npm', 'exec', 'nx', 'run', 'train:sweep', '--variants=18,34'])).toBe('npx');
    expect(launcherName(['sh', '-c', "'nx' run train:sweep --variants=18,34"])).toBe('sh');
    expect(launcherName(['node', '/work/main/node_modules/.bin/nx', 'run', 'train:sweep'])).toBe('nx');
    expect(
      launcherName([
        '/bin/sh',
        '-c',
        'TSX_TSCONFIG_PATH=tsconfig.base.json node --import tsx apps/train/src/sweep_main.ts --variants=18,34',
      ]),
    ).toBe('sh');
  });

  test("the user's shell, nice, nohup, a test runner or a script are not: their exit does not stop the app", () => {
    for (const argv of [
      ['bash'],
      ['-bash'],
      ['bash', '/dev/fd/3'],
      ['nice', '-n', '19', 'npx'],
      ['nohup', 'node'],
      ['node', '/w/node_modules/.bin/jest'],
      ['/bin/sh', '-c', 'jest'],
      ['sh', '-c', 'make train'],
      ['slurmstepd: [12.batch]'],
    ]) {
      expect(launcherName(argv)).toBeNull();
    }
  });
});

/** A scratch folder with an app that registers a cleanup, asks for stop requests unless told not to, and reports. */
function fixture(): { readonly dir: string; readonly app: string; readonly marker: string } {
  const dir = mkdtempSync(join(tmpdir(), 'lifecycle-'));
  const marker = join(dir, 'temporary');
  const app = join(dir, 'app.ts');
  writeFileSync(
    app,
    `import { mkdirSync, rmSync } from 'node:fs';
import { onCleanup, runApp, stopRequests } from '${join(WORKSPACE, 'libs/cli/src/mod.ts')}';
runApp('demo', async () => {
  mkdirSync(${JSON.stringify(marker)});
  onCleanup(() => rmSync(${JSON.stringify(marker)}, { recursive: true, force: true }));
  // A bug while something (a server, a child process, a timer) still holds the event loop.
  if (process.argv.includes('--throw')) { setInterval(() => undefined, 1000); throw new Error('a bug'); }
  if (process.argv.includes('--plain')) { console.log('ready'); await new Promise((r) => setTimeout(r, 60_000)); return 0; }
  const stop = stopRequests('demo', 'saving', { watchEveryMs: 100 });
  console.log('ready');
  while (!stop.requested()) await new Promise((r) => setTimeout(r, 20));
  console.log('stopped: ' + stop.reason());
  stop.release();
  return 130;
});
`,
  );
  return { dir, app, marker };
}

function ended(child: ChildProcess): Promise<{ code: number | null; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((done) => child.on('close', (code) => done({ code, stdout, stderr })));
}

function once(child: ChildProcess, text: string): Promise<void> {
  return new Promise((done) => {
    let seen = '';
    child.stdout?.on('data', (d: Buffer) => {
      seen += d.toString();
      if (seen.includes(text)) done();
    });
  });
}

describe('an app that fails', () => {
  test('an unexpected error ends it with exit 1, the stack on stderr and cleanups run, even while a timer or child would keep it alive', async () => {
    const { app, marker } = fixture();
    const child = spawn(process.execPath, ['--import', 'tsx', app, '--throw'], { cwd: WORKSPACE, env: APP_ENV });
    const r = await ended(child);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^demo: unexpected error: Error: a bug\n\s+at /);
    expect(existsSync(marker)).toBe(false);
  });
});

describe('an app and signals', () => {
  test('without a stop request a signal ends it at once, 128 + the signal, with one line and its temporary folder removed', async () => {
    const { app, marker } = fixture();
    const child = spawn(process.execPath, ['--import', 'tsx', app, '--plain'], { cwd: WORKSPACE, env: APP_ENV });
    const result = ended(child);
    await once(child, 'ready');
    expect(existsSync(marker)).toBe(true);
    child.kill('SIGTERM');
    const r = await result;
    expect(r.code).toBe(143);
    expect(r.stderr).toBe('demo: stopped by SIGTERM\n');
    expect(existsSync(marker)).toBe(false);
  });

  test.each([['SIGINT'], ['SIGTERM'], ['SIGHUP']] as const)(
    'with a stop request, %s asks the app to stop at its next safe point; it ends as it chooses, cleanups run',
    async (signal) => {
      const { app, marker } = fixture();
      const child = spawn(process.execPath, ['--import', 'tsx', app], { cwd: WORKSPACE, env: APP_ENV });
      const result = ended(child);
      await once(child, 'ready');
      child.kill(signal);
      const r = await result;
      expect(r.code).toBe(130);
      expect(r.stdout).toContain(`stopped: ${signal}`);
      expect(r.stderr).toContain(`demo: ${signal}`);
      expect(existsSync(marker)).toBe(false);
    },
  );
});

(ON_LINUX ? describe : describe.skip)('an app whose launcher dies', () => {
  test('notices within its watch interval and stops like on a signal (a stand-in nx, killed hard)', async () => {
    const { dir, app, marker } = fixture();
    // A launcher named as nx is: <dir>/node_modules/.bin/nx, run by node, starting the app and waiting.
    mkdirSync(join(dir, 'node_modules', '.bin'), { recursive: true });
    const nx = join(dir, 'node_modules', '.bin', 'nx');
    writeFileSync(
      nx,
      `const { spawn } = require('node:child_process');
const child = spawn(process.execPath, ['--import', 'tsx', ${JSON.stringify(app)}], { stdio: 'inherit', env: process.env, cwd: ${JSON.stringify(WORKSPACE)} });
setInterval(() => {}, 1000);
`,
    );
    chmodSync(nx, 0o755);
    const launcher = spawn(process.execPath, [nx], { cwd: WORKSPACE, env: APP_ENV });
    const result = ended(launcher);
    await once(launcher, 'ready');
    // The app goes on writing to the same pipe after its launcher is gone.
    launcher.kill('SIGKILL');
    // The pipe closes when the app, its last writer, has ended.
    const r = await result;
    expect(r.stdout).toMatch(/stopped: npx nx run, which launched it, is gone \(nx pid \d+ exited\)/);
    expect(existsSync(marker)).toBe(false);
  });
});
