/**
 * How an app ends, whatever ends it: a signal (Ctrl-C is SIGINT, `kill` and Slurm send SIGTERM,
 * a closed terminal SIGHUP), its launcher dying (`npx` or `nx` killed leaves the app running
 * with nobody to see it), or the app's own return. Temporary files and folders registered with
 * {@link onCleanup} go in every case. An app with long work asks for {@link stopRequests}: the
 * first signal (or the launcher's death) then asks it to stop at a safe point and save; without
 * it, a signal exits at once with 128 + the signal's number, after the cleanups.
 */
import { readFileSync } from 'node:fs';
import { constants } from 'node:os';
import { procStat } from '@resnet/files';

const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
type StopSignal = (typeof SIGNALS)[number];

const cleanups = new Set<() => void>();
let stopHandler: ((why: string, signal: StopSignal | null) => void) | null = null;
let appName = 'app';
let listening = false;

/**
 * Runs `cleanup` when the process ends (normally, by an error or by a signal) unless the
 * returned function is called first (the work is done and the files are kept or moved).
 * @example const forget = onCleanup(() => rmSync(staging, { recursive: true, force: true })); … forget();
 */
export function onCleanup(cleanup: () => void): () => void {
  cleanups.add(cleanup);
  listenForSignals();
  return () => {
    cleanups.delete(cleanup);
    listenForSignals();
  };
}

/** Runs and forgets every registered cleanup, newest first; one that throws does not stop the others. */
export function runCleanups(): void {
  for (const cleanup of [...cleanups].reverse()) {
    cleanups.delete(cleanup);
    try {
      cleanup();
    } catch {
      // Best effort: the process is ending.
    }
  }
  listenForSignals();
}

/**
 * Installs the process-wide handlers (runApp calls it): cleanups at exit, and a stdout/stderr
 * whose reader went away (a closed terminal or pipe) that must not crash the app mid-save.
 */
export function installLifecycle(name: string): void {
  appName = name;
  process.removeListener('exit', runCleanups);
  process.on('exit', runCleanups);
  // Always our own listener: another one already there (tsx pipes into both streams, and a pipe's
  // listener removes itself on the first error, then re-throws it when no other is left) did not keep
  // an EPIPE from crashing an app whose launcher was gone (its checkpoint never saved, 2026-12-06).
  for (const stream of [process.stdout, process.stderr])
    if (!stream.listeners('error').includes(ignoreStreamError)) stream.on('error', ignoreStreamError);
}

/** A write to a closed terminal or pipe: nothing to do about it, and nobody left to tell. */
function ignoreStreamError(): void {
  return undefined;
}

/**
 * Listens for SIGINT/SIGTERM/SIGHUP only while there is something to do on one (a cleanup or a
 * stop request): a handler runs on the event loop, so an app busy in synchronous work (an
 * evaluation) would otherwise not end on Ctrl-C until that work is done. Node's default then ends it.
 */
function listenForSignals(): void {
  const wanted = cleanups.size > 0 || stopHandler !== null;
  if (wanted === listening) return;
  listening = wanted;
  for (const signal of SIGNALS) {
    if (wanted) process.on(signal, onSignal);
    else process.removeListener(signal, onSignal);
  }
}

function onSignal(signal: StopSignal): void {
  if (stopHandler !== null) return stopHandler(`${signal}${signal === 'SIGINT' ? ' (Ctrl-C)' : ''}`, signal);
  say(`${appName}: stopped by ${signal}`);
  process.exit(128 + constants.signals[signal]);
}

/** A stop asked for by a signal or by the launcher's death. */
export interface StopRequests {
  /** Whether a stop was asked for; the app polls it at safe points. */
  readonly requested: () => boolean;
  /** What asked for it ('SIGTERM', 'npx nx run, which launched it, is gone (sh pid 41 exited)'), or null. */
  readonly reason: () => string | null;
  /** Back to exiting at once on a signal; stops watching the launcher. */
  readonly release: () => void;
}

/**
 * From now until `release`, a signal or the death of the app's launcher (see
 * {@link launcherChain}) asks the app to stop at its next safe point instead of exiting (the
 * app polls `requested`, or is called back by `onRequest`); a second signal more than 2 s
 * later (a terminal may deliver one Ctrl-C twice) quits at once with exit code 1, cleanups still run.
 * @example const stop = stopRequests('train', 'finishing this step and saving a checkpoint'); … trainRun(plan, { shouldStop: stop.requested }); stop.release();
 */
export function stopRequests(
  name: string,
  whatNow: string,
  options: { readonly watchEveryMs?: number; readonly onRequest?: () => void } = {},
): StopRequests {
  let reason: string | null = null;
  let at = 0;
  const request = (why: string, signal: StopSignal | null): void => {
    if (reason !== null) {
      if (signal !== null && Date.now() - at > 2000) {
        say(`${name}: ${why} again: quitting at once, without saving`);
        process.exit(1);
      }
      return;
    }
    reason = why;
    at = Date.now();
    say(`\n${name}: ${why}: ${whatNow}${signal === null ? '' : ` (${signal === 'SIGINT' ? 'Ctrl-C' : signal} again to quit at once)`}`);
    options.onRequest?.();
  };
  stopHandler = request;
  listenForSignals();
  const chain = launcherChain();
  const timer =
    chain.length === 0
      ? null
      : setInterval(() => {
          const gone = brokenLink(chain);
          if (gone !== null) request(`npx nx run, which launched it, is gone (${gone.name} pid ${gone.pid} exited)`, null);
        }, options.watchEveryMs ?? 1000);
  timer?.unref();
  return {
    requested: () => reason !== null,
    reason: () => reason,
    release: () => {
      if (timer !== null) clearInterval(timer);
      if (stopHandler === request) stopHandler = null;
      listenForSignals();
    },
  };
}

/** One process above the app that exists only to launch it. */
export interface Launcher {
  readonly pid: number;
  /** `npx`, `nx` or `sh` (the shells nx and npx put between). */
  readonly name: string;
  /** Its parent when the app started. */
  readonly ppid: number;
}

/**
 * The processes above this one that `npx nx run …` put there to launch it (`npm exec`, the
 * shell npx runs nx in, nx, the shell nx runs the command in), nearest first; empty when the
 * app was started otherwise (node directly, a test, a shell script) or off Linux. The user's
 * own shell, `nice`, `nohup` or Slurm are not launchers: their exit does not stop the app.
 * @example launcherChain() // [{ pid: 7482, name: 'sh', ppid: 7377 }, { pid: 7377, name: 'nx', ppid: 7376 }, …]
 */
export function launcherChain(): readonly Launcher[] {
  const chain: Launcher[] = [];
  let pid = process.ppid;
  while (pid > 1 && chain.length < 8) {
    const info = readProcess(pid);
    const name = info === null ? null : launcherName(info.argv);
    if (info === null || name === null) break;
    chain.push({ pid, name, ppid: info.ppid });
    pid = info.ppid;
  }
  return chain;
}

/**
 * The launcher of `argv`, or null for any other process.
 * @example launcherName(['node', '/w/node_modules/.bin/nx', 'run', 'train:serve']) // 'nx'
 */
export function launcherName(argv: readonly string[]): string | null {
  const [exe = '', first = '', second = ''] = argv;
  const base = (s: string) => s.split('/').pop() ?? '';
  if (base(exe) === 'npm' && first === 'exec') return 'npx';
  if (base(exe) === 'npx' || (base(exe) === 'node' && base(first) === 'npx-cli.js')) return 'npx';
  if (base(exe) === 'nx' || (base(exe) === 'node' && /(^|\/)(\.bin\/nx|nx\/bin\/nx\.js)$/.test(first))) return 'nx';
  // `sh -c 'nx' run …` (npx) and `/bin/sh -c 'TSX_… node --import tsx apps/…/main.ts …'` (nx's run-commands).
  if (
    /^(sh|dash|bash)$/.test(base(exe)) &&
    first === '-c' &&
    (/^'?nx'?$/.test(second.split(' ')[0] ?? '') || /--import tsx \S*apps\/\S+\/src\/\S+\.ts/.test(second))
  )
    return 'sh';
  return null;
}

/** The launcher that is gone: dead (or a zombie), or the former parent of a launcher that was reparented. */
function brokenLink(chain: readonly Launcher[]): Launcher | null {
  if (process.ppid !== chain[0]?.pid) return chain[0] ?? null;
  for (const [i, launcher] of chain.entries()) {
    const now = readProcess(launcher.pid);
    if (now === null || now.state === 'Z') return launcher;
    // Reparented: its parent died. The outermost launcher's parent (the user's shell) is not watched.
    const parent = chain[i + 1];
    if (now.ppid !== launcher.ppid && parent !== undefined) return parent;
  }
  return null;
}

/** argv, parent and state of a process from /proc, or null (gone, or not Linux). */
function readProcess(pid: number): { readonly argv: readonly string[]; readonly ppid: number; readonly state: string } | null {
  const stat = procStat(pid);
  if (stat === null) return null;
  try {
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8')
      .split('\0')
      .filter((a) => a !== '');
    return { argv, ppid: stat.ppid, state: stat.state };
  } catch {
    return null;
  }
}

function say(line: string): void {
  try {
    process.stderr.write(`${line}\n`);
  } catch {
    // No one is reading stderr any more.
  }
}
