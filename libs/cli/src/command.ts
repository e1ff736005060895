/**
 * The preamble every app shares: a command as data (its nx target, summary and flag
 * schema), parsing with `--help` and `--print-flags`, errors on stderr, the exit code.
 * An app's main.ts is one line: `runCommand(COMMAND, app)`.
 */
import * as E from 'fp-ts/Either';
import { checkOutputPath, describeOutputPathError } from '@resnet/files';
import { helpText, parseFlags, type Parsed, type Schema } from './flags.ts';
import { runApp } from './run_app.ts';

/** One app command: the nx target that runs it, what it does, its flags. */
export interface Command<S extends Schema> {
  /** The nx target, e.g. `train:serve`; messages start with `name:`. */
  readonly target: string;
  /** Prefix of every message, e.g. `train`. */
  readonly name: string;
  /** What the command does, for `--help` (may span lines). */
  readonly summary: string;
  readonly flags: S;
  /** Exit codes beyond {@link EXIT_CODES}, for `--help`, in place of {@link SIGNAL_EXIT_CODES} when not empty (e.g. 130: interrupted, checkpoint saved). */
  readonly exitCodes: Readonly<Record<number, string>>;
}

/** What every app's exit code means. */
export const EXIT_CODES: Readonly<Record<number, string>> = {
  0: 'done',
  1: 'failed (the data, a file, the machine, or a second Ctrl-C that quit at once); the message says what and how to go on',
  2: 'bad command line (a flag, or a path that cannot be used); nothing was written',
};

/** The codes of an app that a signal ends at once (those of a command that has `exitCodes` of its own replace them). */
export const SIGNAL_EXIT_CODES: Readonly<Record<number, string>> = {
  129: 'stopped by SIGHUP (a closed terminal); nothing half-written is left',
  130: 'stopped by SIGINT (Ctrl-C); nothing half-written is left',
  143: 'stopped by SIGTERM; nothing half-written is left',
};

/**
 * A command from its nx target: messages start with the project's name for its `serve` or
 * `build` target (`train:serve` → `train`), else with the target's (`train:export` → `export`).
 * @example const TABLE = command('table:serve', { summary: 'Prints Table 1 …', flags: FLAGS }) // TABLE.name === 'table'
 */
export function command<S extends Schema>(
  target: string,
  spec: { readonly summary: string; readonly flags: S; readonly exitCodes?: Readonly<Record<number, string>> },
): Command<S> {
  const [project = target, name = ''] = target.split(':');
  return {
    target,
    name: name === 'serve' || name === 'build' || name === '' ? project : name,
    summary: spec.summary,
    flags: spec.flags,
    exitCodes: spec.exitCodes ?? {},
  };
}

/** The flag every command has besides `--help`: shows what reached the app through nx. */
export const PRINT_FLAGS = {
  'print-flags': {
    kind: 'bool',
    default: false,
    help: 'print the flags as the app received and parsed them (JSON) and exit: shows what nx passed on',
  },
} as const satisfies Schema;

/** What `--print-flags` prints: the parsed values, the raw arguments and the schema. */
export interface PrintedFlags {
  readonly target: string;
  readonly args: readonly string[];
  readonly flags: Readonly<Record<string, unknown>>;
  readonly schema: Schema;
}

/**
 * Parses `args` for `command`. `--help` prints the help (Left 0), `--print-flags` prints
 * {@link PrintedFlags} as JSON (Left 0), a bad flag prints `name: message` on stderr (Left 2).
 * @example parseCommand(TABLE, ['--input=28']) // Right({ input: 28, … })
 */
export function parseCommand<S extends Schema>(
  command: Command<S>,
  args: readonly string[],
  out: Pick<Console, 'log' | 'error'> = console,
): E.Either<number, Parsed<S>> {
  const parsed = parseFlags(args, { ...command.flags, ...PRINT_FLAGS });
  if (E.isLeft(parsed)) {
    if (parsed.left._tag === 'Help') {
      out.log(usage(command));
      return E.left(0);
    }
    out.error(`${command.name}: ${parsed.left.message}`);
    return E.left(2);
  }
  const { 'print-flags': print, ...flags } = parsed.right;
  if (print === true) {
    out.log(JSON.stringify({ target: command.target, args, flags, schema: command.flags } satisfies PrintedFlags, null, 2));
    return E.left(0);
  }
  // Every output path is checked before any work: a bad one is found in a second, not after minutes.
  for (const [name, flag] of Object.entries(command.flags)) {
    const value = (flags as Readonly<Record<string, unknown>>)[name];
    if (flag.kind !== 'string' || flag.output === undefined || typeof value !== 'string') continue;
    const problem = checkOutputPath(value, flag.output);
    if (problem !== null) {
      out.error(`${command.name}: --${name}=${value}: ${describeOutputPathError(problem)}`);
      return E.left(2);
    }
  }
  return E.right(flags as unknown as Parsed<S>);
}

/**
 * The `--help` text of a command.
 * @example console.log(usage(TABLE))
 */
export function usage<S extends Schema>(command: Command<S>): string {
  const codes = { ...EXIT_CODES, ...(Object.keys(command.exitCodes).length > 0 ? command.exitCodes : SIGNAL_EXIT_CODES) };
  const notes = [
    command.summary,
    '',
    `Give flags after the target as --name=value, or all of them after \`--\` (nx drops flags that come before a \`--\`, and shows its own help for --help before it).`,
    '',
    'Exit codes of the app (`npx nx run` reports any but 0 as a failed task and exits 1, or 130 when nx itself got the signal):',
    ...Object.entries(codes).map(([code, meaning]) => `  ${code.padStart(3)}  ${meaning}`),
  ].join('\n');
  return helpText(`npx nx run ${command.target}`, notes, { ...command.flags, ...PRINT_FLAGS });
}

/**
 * Runs an app: parses `process.argv` for `command`, then `app(flags, args)`; sets the exit code.
 * @example runCommand(TABLE, table)
 */
export function runCommand<S extends Schema>(
  command: Command<S>,
  app: (flags: Parsed<S>, args: readonly string[]) => number | Promise<number>,
): void {
  const args = process.argv.slice(2);
  runApp(command.name, () => {
    const parsed = parseCommand(command, args);
    return E.isLeft(parsed) ? parsed.left : app(parsed.right, args);
  });
}

/**
 * The command line that runs `target` with `args`, quoted for a POSIX shell so that it
 * works when pasted (`--title='My runs'`); a `--` separator is left out (the flags work without it).
 * @example commandLine('report:serve', ['--title=My runs']) // "npx nx run report:serve --title='My runs'"
 */
export function commandLine(target: string, args: readonly string[]): string {
  return [`npx nx run ${target}`, ...args.filter((a) => a !== '--').map(quote)].join(' ');
}

function quote(arg: string): string {
  if (/^[\w@%+=:,./-]*$/.test(arg) && arg !== '') return arg;
  const flag = /^(--[a-z][a-z0-9-]*=)(.*)$/is.exec(arg);
  const [head, value] = flag === null ? ['', arg] : [flag[1] ?? '', flag[2] ?? ''];
  return `${head}'${value.replace(/'/g, `'\\''`)}'`;
}
