/**
 * Command-line flags as data: a schema describes each flag once, and the same
 * schema parses `--name=value` arguments (with precise errors) and renders `--help`.
 * Pure: takes the argument list, returns an Either; the app prints and exits.
 */
import * as E from 'fp-ts/Either';
import { absurd } from 'fp-ts/function';
import type { OutputKind } from '@resnet/files';

/**
 * One flag's type, default and help text. A string flag with `output` names a file or folder
 * the app writes: the preamble checks that it can be written before the app starts.
 */
export type Flag =
  | { readonly kind: 'int'; readonly min: number; readonly max?: number; readonly default: number | null; readonly help: string }
  | { readonly kind: 'number'; readonly min: number; readonly max?: number; readonly default: number | null; readonly help: string }
  | { readonly kind: 'enum'; readonly values: readonly string[]; readonly default: string | null; readonly help: string }
  | { readonly kind: 'intList'; readonly values: readonly number[]; readonly default: readonly number[]; readonly help: string }
  | { readonly kind: 'enumList'; readonly values: readonly string[]; readonly default: readonly string[]; readonly help: string }
  | { readonly kind: 'bool'; readonly default: boolean | null; readonly help: string }
  | { readonly kind: 'string'; readonly default: string | null; readonly help: string; readonly output?: OutputKind };

/** A schema: flag names (kebab-case, as typed) to flags. */
export type Schema = Readonly<Record<string, Flag>>;

/**
 * The parsed value type of a flag: `null` is possible only when the default is `null`
 * (a flag whose default depends on something else, e.g. a protocol).
 */
export type ValueOf<F extends Flag> = F extends { kind: 'intList' }
  ? readonly number[]
  : F extends { kind: 'enumList' }
    ? readonly string[]
    : | (F extends { kind: 'int' | 'number' }
          ? number
          : F extends { kind: 'enum' | 'string' }
            ? F extends { values: readonly (infer V)[] }
              ? V
              : string
            : boolean)
      | (F extends { default: null } ? null : never);

/** Parsed flags, keyed like the schema. */
export type Parsed<S extends Schema> = { readonly [K in keyof S]: ValueOf<S[K]> };

/** What went wrong with the command line; `help` means `--help` was asked for. */
export type CliError = { readonly _tag: 'Help' } | { readonly _tag: 'BadFlag'; readonly message: string };

/**
 * Parses `--name=value` / `--name value` / `--flag` arguments against a schema.
 * Unknown flags, missing values, non-numbers, out-of-range numbers and values
 * outside an enum are errors that name the flag and list what is accepted.
 * @example
 * parseFlags(['--input=96'], { input: { kind: 'int', min: 1, default: 224, help: 'image side' } })
 * // Right({ input: 96 })
 */
export function parseFlags<S extends Schema>(args: readonly string[], schema: S): E.Either<CliError, Parsed<S>> {
  const values: Record<string, unknown> = Object.fromEntries(Object.entries(schema).map(([name, flag]) => [name, flag.default]));
  const seen = new Set<string>();
  if (args.some((a) => a === '--help' || a === '-h')) return E.left({ _tag: 'Help' });
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] ?? '';
    if (arg === '--') continue;
    const match = /^--([a-z][a-z0-9-]*)(?:=(.*))?$/i.exec(arg);
    if (match === null) return bad(`unexpected argument "${arg}": flags look like --name=value (see --help)`);
    const name = match[1] ?? '';
    const flag = schema[name];
    if (flag === undefined) return bad(unknownFlag(name, Object.keys(schema)));
    let raw = match[2];
    // A switch takes `--flag`, `--flag=false` or `--flag false` (there are no positional arguments to confuse it with).
    if (raw === undefined && flag.kind === 'bool' && (args[i + 1] === 'true' || args[i + 1] === 'false')) {
      raw = args[i + 1];
      i++;
    }
    if (raw === undefined && flag.kind !== 'bool') {
      const next = args[i + 1];
      if (next === undefined || next.startsWith('--')) return bad(`--${name} needs a value: ${describe(flag)}`);
      raw = next;
      i++;
    }
    if (seen.has(name)) return bad(`--${name} is given twice`);
    seen.add(name);
    const parsed = parseValue(name, flag, raw);
    if (E.isLeft(parsed)) return parsed;
    values[name] = parsed.right;
  }
  return E.right(values as Parsed<S>);
}

/**
 * Renders usage text from the schema.
 * @example console.log(helpText('table', 'Prints Table 1.', schema))
 */
export function helpText(command: string, summary: string, schema: Schema): string {
  const rows = Object.entries(schema).map(([name, flag]) => {
    const head = flag.kind === 'bool' ? `--${name}` : `--${name}=${placeholder(flag)}`;
    const def =
      flag.default === null || (Array.isArray(flag.default) && flag.default.length === 0)
        ? ''
        : ` (default: ${Array.isArray(flag.default) ? flag.default.join(',') : String(flag.default)})`;
    return [head, `${flag.help}${def}`] as const;
  });
  const width = Math.max(...rows.map(([h]) => h.length), 10);
  return [
    `Usage: ${command} [flags]`,
    '',
    summary,
    '',
    'Flags:',
    ...rows.map(([h, t]) => `  ${h.padEnd(width)}  ${t}`),
    `  ${'--help'.padEnd(width)}  show this help`,
  ].join('\n');
}

function parseValue(name: string, flag: Flag, raw: string | undefined): E.Either<CliError, unknown> {
  switch (flag.kind) {
    case 'bool':
      if (raw === undefined || raw === 'true') return E.right(true);
      if (raw === 'false') return E.right(false);
      return bad(`--${name} is a switch: use --${name} or --${name}=false, not "${raw}"`);
    case 'int':
    case 'number': {
      const value = Number(raw);
      const isInt = flag.kind === 'int';
      if (raw === undefined || raw.trim() === '' || !Number.isFinite(value) || (isInt && !Number.isInteger(value))) {
        return bad(`--${name} must be ${isInt ? 'an integer' : 'a number'}, got "${raw ?? ''}"`);
      }
      if (value < flag.min || (flag.max !== undefined && value > flag.max)) return bad(`--${name} must be ${range(flag)}, got ${value}`);
      return E.right(value);
    }
    case 'enum':
      return raw !== undefined && flag.values.includes(raw)
        ? E.right(raw)
        : bad(`--${name} must be one of ${flag.values.join(', ')}, got "${raw ?? ''}"`);
    case 'intList': {
      const items = (raw ?? '').split(',').map((s) => s.trim());
      const wrong = items.find((s) => !flag.values.map(String).includes(s));
      if (wrong !== undefined) return bad(`--${name} takes a comma-separated list from ${flag.values.join(', ')}, got "${wrong}"`);
      return E.right([...new Set(items.map(Number))]);
    }
    case 'enumList': {
      const items = (raw ?? '').split(',').map((s) => s.trim());
      const wrong = items.find((s) => !flag.values.includes(s));
      if (wrong !== undefined) return bad(`--${name} takes a comma-separated list from ${flag.values.join(', ')}, got "${wrong}"`);
      return E.right([...new Set(items)]);
    }
    case 'string':
      return raw !== undefined && raw !== '' ? E.right(raw) : bad(`--${name} needs a non-empty value`);
    default:
      return absurd(flag);
  }
}

/**
 * Flag names nx takes for itself: `nx run app:target --version=v1` prints nx's version or
 * drops the flag, and any flag that starts with one of these names followed by `-`
 * (`--batch-size`, `--verbose-x`) is dropped too, with no error. App flags must avoid them.
 */
export const NX_CLAIMED = [
  'version',
  'batch',
  'parallel',
  'verbose',
  'help',
  'tui',
  'graph',
  'project',
  'target',
  'runner',
  'prod',
  'cloud',
  'dte',
  'c',
  'configuration',
  'exclude-task-dependencies',
] as const;

/**
 * Whether nx swallows `--name` before it reaches an app (see {@link NX_CLAIMED}).
 * @example nxClaims('batch-size') // true
 */
export function nxClaims(name: string): boolean {
  return NX_CLAIMED.some((claimed) => name === claimed || name.startsWith(`${claimed}-`) || name.startsWith(`${claimed}_`));
}

/** Our names for flags whose usual spelling nx swallows: the usual spelling → ours. */
export const RENAMED: Readonly<Record<string, string>> = { version: 'block-version', 'batch-size': 'mini-batch' };

function unknownFlag(name: string, names: readonly string[]): string {
  const renamed = RENAMED[name];
  if (renamed !== undefined && names.includes(renamed)) {
    return `--${name} is called --${renamed} here: nx takes --${name} for itself and would drop it without a word when it comes before \`--\`. Use --${renamed}=…`;
  }
  const near = names.filter((n) => distance(n, name) <= (n.length >= 5 ? 2 : 1) || (name.length >= 3 && n.includes(name)));
  const hint = near.length > 0 ? `did you mean ${near.map((n) => `--${n}`).join(' or ')}? ` : '';
  return `unknown flag --${name}; ${hint}expected one of ${names.map((n) => `--${n}`).join(', ')} (see --help)`;
}

/** Edit distance (insertions, deletions, substitutions). */
function distance(a: string, b: string): number {
  let row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++)
      next.push(Math.min((row[j] ?? 0) + 1, (next[j - 1] ?? 0) + 1, (row[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1)));
    row = next;
  }
  return row[b.length] ?? 0;
}

function bad(message: string): E.Either<CliError, never> {
  return E.left({ _tag: 'BadFlag', message });
}

function range(flag: { readonly kind: 'int' | 'number'; readonly min: number; readonly max?: number }): string {
  return flag.max === undefined ? `≥ ${flag.min}` : `between ${flag.min} and ${flag.max}`;
}

function placeholder(flag: Flag): string {
  switch (flag.kind) {
    case 'int':
      return 'N';
    case 'number':
      return 'X';
    case 'enum':
      return flag.values.join('|');
    case 'intList':
    case 'enumList':
      return flag.values.join(',');
    case 'bool':
      return '';
    case 'string':
      return 'VALUE';
    default:
      return absurd(flag);
  }
}

function describe(flag: Flag): string {
  switch (flag.kind) {
    case 'int':
      return `an integer ${range(flag)}`;
    case 'number':
      return `a number ${range(flag)}`;
    case 'enum':
    case 'intList':
    case 'enumList':
    case 'bool':
    case 'string':
      return placeholder(flag);
    default:
      return absurd(flag);
  }
}
