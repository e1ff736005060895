/**
 * Command-line flags as data: a schema describes each flag once, and the same
 * schema parses `--name=value` arguments (with precise errors) and renders `--help`.
 * Pure: takes the argument list, returns an Either; the app prints and exits.
 */
import * as E from 'fp-ts/Either';

/** One flag's type, default and help text. */
export type Flag =
  | { readonly kind: 'int'; readonly min: number; readonly max?: number; readonly default: number | null; readonly help: string }
  | { readonly kind: 'number'; readonly min: number; readonly max?: number; readonly default: number | null; readonly help: string }
  | { readonly kind: 'enum'; readonly values: readonly string[]; readonly default: string | null; readonly help: string }
  | { readonly kind: 'intList'; readonly values: readonly number[]; readonly default: readonly number[]; readonly help: string }
  | { readonly kind: 'enumList'; readonly values: readonly string[]; readonly default: readonly string[]; readonly help: string }
  | { readonly kind: 'bool'; readonly default: boolean | null; readonly help: string }
  | { readonly kind: 'string'; readonly default: string | null; readonly help: string };

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
  : (F extends { kind: 'int' | 'number' } ? number : F extends { kind: 'enum' | 'string' } ? F extends { values: readonly (infer V)[] } ? V : string : boolean) | (F extends { default: null } ? null : never);

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
    if (flag === undefined) {
      const names = Object.keys(schema).map((n) => `--${n}`);
      return bad(`unknown flag --${name}; expected one of ${names.join(', ')} (see --help)`);
    }
    let raw = match[2];
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
    const def = flag.default === null || (Array.isArray(flag.default) && flag.default.length === 0) ? '' : ` (default: ${Array.isArray(flag.default) ? flag.default.join(',') : String(flag.default)})`;
    return [head, `${flag.help}${def}`] as const;
  });
  const width = Math.max(...rows.map(([h]) => h.length), 10);
  return [`Usage: ${command} [flags]`, '', summary, '', 'Flags:', ...rows.map(([h, t]) => `  ${h.padEnd(width)}  ${t}`), `  ${'--help'.padEnd(width)}  show this help`].join('\n');
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
      return raw !== undefined && flag.values.includes(raw) ? E.right(raw) : bad(`--${name} must be one of ${flag.values.join(', ')}, got "${raw ?? ''}"`);
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
  }
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
  }
}

function describe(flag: Flag): string {
  switch (flag.kind) {
    case 'int':
      return `an integer ${range(flag)}`;
    case 'number':
      return `a number ${range(flag)}`;
    default:
      return placeholder(flag);
  }
}
