import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as E from 'fp-ts/Either';
import { command, commandLine, parseCommand, type Command } from './command.ts';
import { NX_CLAIMED, nxClaims } from './flags.ts';

const FLAGS = {
  'block-version': { kind: 'enum', values: ['v1', 'v1.5'], default: 'v1', help: 'block version' },
  'mini-batch': { kind: 'int', min: 1, default: 128, help: 'mini-batch size' },
  title: { kind: 'string', default: 'Runs', help: 'title' },
} as const;
const COMMAND: Command<typeof FLAGS> = command('demo:serve', { summary: 'A demo.', flags: FLAGS });

function capture(args: readonly string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const result = parseCommand(COMMAND, args, { log: (m: string) => void out.push(m), error: (m: string) => void err.push(m) });
  return { result, out: out.join('\n'), err: err.join('\n') };
}

describe('parseCommand: the preamble of every app', () => {
  test('flags are parsed; --print-flags prints them with the schema and stops (exit 0)', () => {
    expect(capture(['--mini-batch=64']).result).toEqual(E.right({ 'block-version': 'v1', 'mini-batch': 64, title: 'Runs' }));
    const printed = capture(['--block-version', 'v1.5', '--print-flags']);
    expect(printed.result).toEqual(E.left(0));
    expect(JSON.parse(printed.out)).toEqual({
      target: 'demo:serve',
      args: ['--block-version', 'v1.5', '--print-flags'],
      flags: { 'block-version': 'v1.5', 'mini-batch': 128, title: 'Runs' },
      schema: FLAGS,
    });
  });

  test('--help prints usage with the nx command and every flag (exit 0); a bad flag is one line on stderr (exit 2)', () => {
    const help = capture(['--help']);
    expect(help.result).toEqual(E.left(0));
    expect(help.out).toContain('Usage: npx nx run demo:serve [flags]');
    for (const flag of ['--block-version=v1|v1.5', '--mini-batch=N', '--title=VALUE', '--print-flags']) expect(help.out).toContain(flag);
    const bad = capture(['--mini-batch=0']);
    expect(bad).toMatchObject({ result: E.left(2), out: '', err: 'demo: --mini-batch must be ≥ 1, got 0' });
  });

  test('the usual spellings that nx swallows are refused with our name for them', () => {
    expect(capture(['--version=v1.5']).err).toContain('--version is called --block-version here: nx takes --version for itself');
    expect(capture(['--batch-size=64']).err).toContain('--batch-size is called --mini-batch here');
  });

  test('a misspelled flag gets a suggestion', () => {
    expect(capture(['--titel=x']).err).toContain('unknown flag --titel; did you mean --title?');
    expect(capture(['--batch=1']).err).toContain('did you mean --mini-batch?');
    expect(capture(['--zzz=1']).err).not.toContain('did you mean');
  });
});

describe('nxClaims', () => {
  test('names nx takes, and any name that starts with one of them and a dash, are claimed; ours are not', () => {
    for (const name of NX_CLAIMED) expect(nxClaims(name)).toBe(true);
    expect(nxClaims('batch-size')).toBe(true);
    expect(nxClaims('verbose-log')).toBe(true);
    for (const name of ['block-version', 'mini-batch', 'variants', 'protocol', 'print-flags', 'channels'])
      expect(nxClaims(name)).toBe(false);
  });
});

describe('commandLine', () => {
  test('quotes what a shell would split or expand, so the line works when pasted', () => {
    expect(commandLine('report:serve', ['--runs=runs/a,runs/b', '--title=My runs', "--x=it's", '--y=$HOME'])).toBe(
      `npx nx run report:serve --runs=runs/a,runs/b --title='My runs' --x='it'\\''s' --y='$HOME'`,
    );
    expect(commandLine('table:serve', [])).toBe('npx nx run table:serve');
    expect(commandLine('table:serve', ['--', '--input=28'])).toBe('npx nx run table:serve --input=28');
  });
});

describe('command: an app command from its nx target', () => {
  test("messages start with the project's name for its serve or build target, else with the target's", () => {
    const names = ['table:serve', 'train:serve', 'web:build', 'train:export', 'train:sweep', 'web:e2e'].map(
      (t) => command(t, { summary: 's', flags: FLAGS }).name,
    );
    expect(names).toEqual(['table', 'train', 'web', 'export', 'sweep', 'e2e']);
    expect(command('demo:serve', { summary: 'A demo.', flags: FLAGS })).toEqual(COMMAND);
  });
});

describe('parseCommand: output paths are checked before the app runs', () => {
  const OUT_FLAGS = {
    json: { kind: 'string', default: null, help: 'a file to write', output: 'file' },
    out: { kind: 'string', default: null, help: 'a folder to write', output: 'directory' },
  } as const;
  const OUT = command('demo:serve', { summary: 'A demo.', flags: OUT_FLAGS });
  const scratch = mkdtempSync(join(tmpdir(), 'command-'));
  writeFileSync(join(scratch, 'a.txt'), 'x');

  function errorOf(args: readonly string[]): { readonly result: E.Either<number, unknown>; readonly err: string } {
    const err: string[] = [];
    const result = parseCommand(OUT, args, { log: () => undefined, error: (m: string) => void err.push(m) });
    return { result, err: err.join('\n') };
  }

  test('a path that can be written passes; a folder where a file goes, a file where a folder goes, a path under a file: one line naming the flag, exit 2', () => {
    expect(errorOf([`--json=${join(scratch, 'new.json')}`, `--out=${join(scratch, 'new', 'deep')}`]).result).toEqual(
      E.right({ json: join(scratch, 'new.json'), out: join(scratch, 'new', 'deep') }),
    );
    expect(errorOf([`--json=${scratch}`])).toEqual({
      result: E.left(2),
      err: `demo: --json=${scratch}: a folder is there, where a file goes; give the path of a file`,
    });
    expect(errorOf([`--out=${join(scratch, 'a.txt')}`])).toEqual({
      result: E.left(2),
      err: `demo: --out=${join(scratch, 'a.txt')}: a file is there, where a folder goes; give the path of a folder (new or existing)`,
    });
    expect(errorOf([`--json=${join(scratch, 'a.txt', 'x.json')}`])).toEqual({
      result: E.left(2),
      err: `demo: --json=${join(scratch, 'a.txt', 'x.json')}: ${join(scratch, 'a.txt')} is a file, so nothing can be created under it`,
    });
  });

  test("--help lists every app's exit codes and the command's own", () => {
    const help: string[] = [];
    parseCommand(command('demo:serve', { summary: 'A demo.', flags: OUT_FLAGS, exitCodes: { 130: 'interrupted, saved' } }), ['--help'], {
      log: (m: string) => void help.push(m),
      error: () => undefined,
    });
    for (const line of ['    0  done', '    2  bad command line', '  130  interrupted, saved']) expect(help.join('\n')).toContain(line);
    expect(help.join('\n')).not.toContain('stopped by SIGINT');
    const plain: string[] = [];
    parseCommand(OUT, ['--help'], { log: (m: string) => void plain.push(m), error: () => undefined });
    for (const line of ['  129  stopped by SIGHUP', '  130  stopped by SIGINT (Ctrl-C)', '  143  stopped by SIGTERM'])
      expect(plain.join('\n')).toContain(line);
  });
});
