/**
 * Recovering app flags that `nx run` swallowed.
 *
 * nx parses its command line with yargs-parser, which treats `--batch-size=64` as nx's own
 * `--batch` option (any flag that starts with an nx option name followed by `-` or `_`:
 * `--batch-size`, `--parallel-x`, `--verbose-y`), so `nx run train:serve --batch-size=64`
 * never reaches the app. On Linux the nx process's full command line is readable in
 * /proc; this module finds it among our ancestors and recovers the app's flags from it.
 * Everything after a `--` is always forwarded by nx and needs no recovery.
 */
import { readFileSync } from 'node:fs';

/** nx's own `run` options (exact names): these stay with nx and are not app flags. */
const NX_OPTIONS = new Set([
  'batch', 'parallel', 'verbose', 'skip-nx-cache', 'skip-remote-cache', 'output-style', 'tui', 'tui-auto-exit', 'configuration', 'c', 'prod',
  'exclude-task-dependencies', 'skip-sync', 'nx-bail', 'nx-ignore-cycles', 'graph', 'runner', 'project', 'target', 'help', 'version', 'dte', 'cloud', 'no-cloud', 'no-dte', 'excludeTaskDependencies', 'skipNxCache',
]);

/**
 * The app flags of an nx command line (`… nx run <project>:<target> [flags] [-- flags]`):
 * every `--flag` after the target that is not one of nx's own options, or `null` when the
 * command line is not an `nx run` of `target`.
 * @example
 * appArgsFromNxCommandLine(['node', '/w/node_modules/.bin/nx', 'run', 'train:serve', '--batch-size=64', '--verbose'], 'train:serve')
 * // ['--batch-size=64']
 */
export function appArgsFromNxCommandLine(argv: readonly string[], target: string): readonly string[] | null {
  const nxAt = argv.findIndex((a) => /(^|\/)nx(\.js)?$/.test(a));
  if (nxAt < 0) return null;
  const rest = argv.slice(nxAt + 1);
  const [project, name] = target.split(':');
  // `nx run project:target …` or the infix `nx target project …`.
  const start = rest[0] === 'run' && rest[1] === target ? 2 : rest[0] === name && rest[1] === project ? 2 : -1;
  if (start < 0) return null;
  const out: string[] = [];
  const args = rest.slice(start);
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] ?? '';
    if (arg === '--') return [...out, ...args.slice(i + 1)];
    const match = /^--?([^=]+)(=.*)?$/.exec(arg);
    if (match === null) continue;
    const key = match[1] ?? '';
    if (NX_OPTIONS.has(key)) {
      // Skip a separate value of an nx option that takes one.
      if (match[2] === undefined && ['parallel', 'output-style', 'configuration', 'c', 'runner', 'project'].includes(key)) i++;
      continue;
    }
    out.push(arg);
    // `--name value`: keep the value with its flag.
    const next = args[i + 1];
    if (match[2] === undefined && next !== undefined && !next.startsWith('-')) {
      out.push(next);
      i++;
    }
  }
  return out;
}

/**
 * The arguments an app should parse: its own, or — when it runs under `nx run` and nx
 * dropped some — the flags recovered from the nx process's command line. Recovered flags
 * are used only if they include every argument the app did receive, so nothing is lost.
 * @example appArgs(process.argv.slice(2), 'train:serve')
 */
export function appArgs(own: readonly string[], target: string, ancestors: () => readonly (readonly string[])[] = ancestorCommandLines): readonly string[] {
  if (process.env['NX_TASK_TARGET_PROJECT'] === undefined) return own;
  for (const argv of ancestors()) {
    const recovered = appArgsFromNxCommandLine(argv, target);
    if (recovered !== null && own.every((a) => recovered.includes(a))) return recovered;
  }
  return own;
}

/** Command lines of this process's ancestors, nearest first (Linux /proc; empty elsewhere). */
export function ancestorCommandLines(): readonly (readonly string[])[] {
  const out: string[][] = [];
  let pid = process.ppid;
  for (let depth = 0; depth < 8 && pid > 1; depth++) {
    try {
      out.push(readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter((s) => s !== ''));
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      pid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    } catch {
      break;
    }
  }
  return out;
}
