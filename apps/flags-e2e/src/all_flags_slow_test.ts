// Every flag of every app, through real `npx nx run` as the README writes it: before `--`
// and after `--`. The apps and their flags are discovered, not listed: each nx target that
// runs an app entry is found in apps/*/project.json, and the app itself reports its flag
// schema (`--print-flags`), so a new app or flag is covered without touching this test.
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import * as E from 'fp-ts/Either';
import { absurd } from 'fp-ts/function';
import { nxClaims, type Flag, type PrintedFlags } from '@resnet/cli';
import { DEPTHS, resnet, summarize, VERSIONS } from '@resnet/variants';

const root = resolve(__dirname, '../../..');
// Each run is its own nx invocation: under one root PID (inside `npx nx test`), nx takes two runs
// of one target (here and in another project's test beside it) for a task loop.
const ENV: NodeJS.ProcessEnv = {
  ...process.env,
  NX_DAEMON: 'false',
  NX_NO_CLOUD: 'true',
  NX_SKIP_NX_CACHE: 'true',
  NX_TUI: 'false',
  FORCE_COLOR: '0',
};
delete ENV['NX_INVOCATION_ROOT_PID'];

interface Target {
  readonly target: string;
  readonly entry: string;
}

/** Every nx target of an app project that runs an app entry with `node --import tsx <entry>`. */
function appTargets(): readonly Target[] {
  const out: Target[] = [];
  for (const app of readdirSync(join(root, 'apps'))) {
    const file = join(root, 'apps', app, 'project.json');
    if (!existsSync(file)) continue;
    const project = JSON.parse(readFileSync(file, 'utf8')) as {
      name: string;
      targets?: Record<string, { options?: { command?: string } }>;
    };
    for (const [name, target] of Object.entries(project.targets ?? {})) {
      const entry = /node --import tsx (\S+\.ts)/.exec(target.options?.command ?? '')?.[1];
      if (entry !== undefined) out.push({ target: `${project.name}:${name}`, entry });
    }
  }
  return out;
}

function printed(stdout: string): PrintedFlags {
  const start = stdout.indexOf('{\n  "target"');
  const end = stdout.indexOf('\n}', start);
  if (start < 0 || end < 0) throw new Error(`no --print-flags output in:\n${stdout}`);
  return JSON.parse(stdout.slice(start, end + 2)) as PrintedFlags;
}

function direct(t: Target, ...args: string[]): PrintedFlags {
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(root, t.entry), ...args], {
    encoding: 'utf8',
    cwd: root,
    env: { ...ENV, TSX_TSCONFIG_PATH: join(root, 'tsconfig.base.json') },
  });
  if (r.status !== 0) throw new Error(`${t.entry} ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return printed(r.stdout);
}

function nx(...args: string[]): { readonly code: number | null; readonly stdout: string; readonly stderr: string } {
  const r = spawnSync('npx', ['nx', 'run', ...args], { encoding: 'utf8', cwd: root, env: ENV, timeout: 120_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** A valid value other than the default, as typed on a command line and as parsed. */
function otherValue(name: string, flag: Flag, variant: 0 | 1): { readonly typed: string | null; readonly parsed: unknown } {
  switch (flag.kind) {
    case 'int':
    case 'number': {
      const candidates = [flag.min + (flag.kind === 'int' ? 1 : 0.5), flag.min + (flag.kind === 'int' ? 2 : 0.25)].filter(
        (v) => flag.max === undefined || v <= flag.max,
      );
      const value = candidates.find((v) => v !== flag.default) ?? flag.min;
      return { typed: String(value), parsed: value };
    }
    case 'enum': {
      const value = flag.values.find((v) => v !== flag.default) ?? flag.values[0] ?? '';
      return { typed: value, parsed: value };
    }
    case 'intList':
    case 'enumList': {
      const values = [...flag.values].slice(0, 2).reverse() as (string | number)[];
      return { typed: values.join(','), parsed: values };
    }
    case 'bool':
      // `--flag` alone, or `--flag=false`, whichever differs from the default.
      return flag.default === true || variant === 1 ? { typed: 'false', parsed: false } : { typed: null, parsed: true };
    case 'string':
      return { typed: `${name} value`, parsed: `${name} value` };
    default:
      return absurd(flag);
  }
}

const targets = appTargets();
/** The names our apps give flags whose value is a file or folder they write. */
const OUTPUT_FLAGS = ['out', 'json', 'predictions', 'screenshots', 'resume'];

describe('every flag of every app arrives through npx nx run', () => {
  test('the apps are found: train, table, report and bench targets', () => {
    expect(targets.map((t) => t.target)).toEqual(
      expect.arrayContaining(['train:serve', 'train:sweep', 'train:evaluate', 'table:serve', 'report:serve', 'bench:serve']),
    );
  });

  describe.each(targets.map((t) => [t.target, t] as const))('%s', (_, t) => {
    let cached: PrintedFlags['schema'] | null = null;
    const flagsOf = () => (cached ??= direct(t, '--print-flags').schema);

    test('no flag has a name that nx takes for itself', () => {
      expect(Object.keys(flagsOf()).filter(nxClaims)).toEqual([]);
    });

    test('every flag that names a path the app writes is checked before the work starts (declares `output`)', () => {
      const writes = Object.entries(flagsOf()).filter(([name]) => OUTPUT_FLAGS.includes(name));
      expect(writes.filter(([, flag]) => flag.kind !== 'string' || flag.output === undefined).map(([name]) => name)).toEqual([]);
    });

    test.each([
      ['as --name=value before `--` (as the README writes it)', 0],
      ['as --name value after `--`', 1],
    ] as const)('every flag, given %s, reaches the app with its value', (_how, variant) => {
      const expected: Record<string, unknown> = {};
      const args: string[] = [];
      for (const [name, flag] of Object.entries(flagsOf())) {
        const { typed, parsed } = otherValue(name, flag, variant);
        expected[name] = parsed;
        if (typed === null) args.push(`--${name}`);
        else if (variant === 0) args.push(`--${name}=${typed}`);
        else args.push(`--${name}`, typed);
      }
      const r = variant === 0 ? nx(t.target, ...args, '--print-flags') : nx(t.target, '--', ...args, '--print-flags');
      expect({ code: r.code, stderr: r.code === 0 ? '' : r.stderr }).toEqual({ code: 0, stderr: '' });
      expect(printed(r.stdout).flags).toEqual(expected);
    });
  });
});

describe('Table 1 through nx, with the block-version flag as the README writes it', () => {
  const sizes = [
    [224, 3, 1000],
    [96, 1, 10],
    [28, 1, 10],
  ] as const;
  test.each(sizes.flatMap(([input, channels, classes]) => VERSIONS.map((version) => [version, input, channels, classes] as const)))(
    '%s at %i×%i×%i: parameters and MACs of all five depths equal the spec folds',
    (version, input, channels, classes) => {
      const r = nx(
        'table:serve',
        `--input=${input}`,
        `--channels=${channels}`,
        `--classes=${classes}`,
        `--block-version=${version}`,
        '--format=json',
      );
      expect(r.code).toBe(0);
      const rows = JSON.parse(r.stdout.slice(r.stdout.indexOf('\n['), r.stdout.lastIndexOf(']') + 1)) as {
        depth: number;
        version: string;
        params: number;
        macs: number;
      }[];
      const expected = DEPTHS.map((depth) => {
        const s = E.flatMap((spec: Parameters<typeof summarize>[0]) => summarize(spec, input))(
          resnet(depth, { version, inChannels: channels, classes, stem: 'imagenet' }),
        );
        if (E.isLeft(s)) throw new Error(s.left.message);
        return { depth, version, params: s.right.params, macs: s.right.macs };
      });
      expect(rows.map(({ depth, version: v, params, macs }) => ({ depth, version: v, params, macs }))).toEqual(expected);
    },
  );

  test('v1.5 costs more MACs than v1 for the bottleneck depths (so a dropped flag would show)', () => {
    const macs = (version: string) => {
      const r = nx(
        'table:serve',
        '--input=28',
        '--channels=1',
        '--classes=10',
        `--block-version=${version}`,
        '--variants=50',
        '--format=json',
      );
      return (JSON.parse(r.stdout.slice(r.stdout.indexOf('\n['), r.stdout.lastIndexOf(']') + 1)) as { macs: number }[])[0]?.macs ?? 0;
    };
    expect(macs('v1.5')).toBeGreaterThan(macs('v1'));
  });
});
