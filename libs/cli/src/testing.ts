/**
 * An app as a user runs it, for the apps' tests: its main file in a child process under
 * tsx (with the workspace's paths), its exit code, stdout and stderr. Import it as
 * `@resnet/cli/testing`, from tests only.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { join, resolve } from 'node:path';

/** The workspace root. */
export const WORKSPACE = resolve(__dirname, '../../..');

/** The environment of an app run by a test: tsx resolves `@resnet/*` by tsconfig.base.json; not inside an nx task. */
export const APP_ENV: NodeJS.ProcessEnv = {
  ...process.env,
  NX_TASK_TARGET_PROJECT: '',
  TSX_TSCONFIG_PATH: join(WORKSPACE, 'tsconfig.base.json'),
};

/**
 * The node arguments that run `main` (a path from the workspace root) with `args`, for spawn.
 * @example spawn(process.execPath, mainArgs('apps/web/src/main.ts', ['--port=0']), { cwd: WORKSPACE, env: APP_ENV })
 */
export function mainArgs(main: string, args: readonly string[]): string[] {
  return ['--import', 'tsx', join(WORKSPACE, main), ...args];
}

/** How an app run ended. */
export interface AppRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs `main` (a path from the workspace root) with `args` to the end.
 * @example runMain('apps/table/src/main.ts', ['--help']) // { code: 0, stdout: 'Usage: npx nx run table:serve [flags]…', stderr: '' }
 */
export function runMain(main: string, args: readonly string[]): AppRun {
  const r = spawnSync(process.execPath, mainArgs(main, args), { encoding: 'utf8', cwd: WORKSPACE, env: APP_ENV });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** An app running in a child process, for tests that act on it while it runs (signals, a second process). */
export interface LiveApp {
  readonly child: ChildProcess;
  /** What it has printed so far. */
  readonly stdout: () => string;
  readonly stderr: () => string;
  /** Resolves once its stdout has matched `pattern`. */
  readonly waitFor: (pattern: RegExp) => Promise<void>;
  /** Resolves when it has ended and its output is closed. */
  readonly ended: Promise<AppRun>;
}

/**
 * Starts `main` (a path from the workspace root) with `args`, as {@link runMain} does, without waiting.
 * @example const app = startMain('apps/web/src/main.ts', ['--port=0']); await app.waitFor(/web: http/); app.child.kill('SIGTERM'); (await app.ended).code // 0
 */
export function startMain(main: string, args: readonly string[]): LiveApp {
  const child = spawn(process.execPath, mainArgs(main, args), { cwd: WORKSPACE, env: APP_ENV });
  let stdout = '';
  let stderr = '';
  const waiting: { readonly pattern: RegExp; readonly done: () => void }[] = [];
  child.stdout.on('data', (d: Buffer) => {
    stdout += d.toString();
    for (const w of waiting.filter((w) => w.pattern.test(stdout))) {
      waiting.splice(waiting.indexOf(w), 1);
      w.done();
    }
  });
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const ended = new Promise<AppRun>((done) => child.on('close', (code) => done({ code, stdout, stderr })));
  const waitFor = (pattern: RegExp) => new Promise<void>((done) => (pattern.test(stdout) ? done() : waiting.push({ pattern, done })));
  return { child, stdout: () => stdout, stderr: () => stderr, waitFor, ended };
}
