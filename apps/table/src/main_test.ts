// The app as a user runs it: a child process, its stdout, stderr and exit code.
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runMain } from '@resnet/cli/testing';

const run = (...args: string[]) => runMain('apps/table/src/main.ts', args);

describe('table app', () => {
  test('--format=json prints one array with the documented keys and torchvision’s counts', () => {
    const { code, stdout } = run('--format=json', '--channels=1', '--classes=10');
    expect(code).toBe(0);
    const rows = JSON.parse(stdout) as {
      depth: number;
      version: string;
      params: number;
      macs: number;
      stages: { name: string; outputSize: number[]; blocks: number }[];
    }[];
    expect(rows.map((r) => [r.depth, r.version, r.params])).toEqual([
      [18, 'v1', 11_175_370],
      [34, 'v1', 21_283_530],
      [50, 'v1', 23_522_250],
      [101, 'v1', 42_514_378],
      [152, 'v1', 58_158_026],
    ]);
    expect(rows.every((r) => Number.isInteger(r.macs))).toBe(true);
    expect(rows[0]?.stages[1]).toMatchObject({ name: 'conv2_x', outputSize: [56, 56], blocks: 2 });
  });

  test.each([
    [['--variants=35'], '--variants takes a comma-separated list from 18, 34, 50, 101, 152, got "35"'],
    [['--input=0'], '--input must be between 1 and 8192, got 0'],
    [['--block-version=v2'], '--block-version must be one of v1, v1.5, got "v2"'],
    [['--version=v1.5'], '--version is called --block-version here'],
    [['--bogus'], 'unknown flag --bogus'],
  ])('bad flags %j exit 2 with a message and print nothing on stdout', (args, message) => {
    const { code, stdout, stderr } = run(...args);
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toContain(message);
  });

  test('--help lists the flags and exits 0', () => {
    const { code, stdout } = run('--help');
    expect(code).toBe(0);
    expect(stdout).toContain('--block-version=v1|v1.5');
  });

  test('--out writes the file whole', () => {
    const out = join(mkdtempSync(join(tmpdir(), 'table-')), 'table.json');
    expect(run('--format=json', '--variants=50', `--out=${out}`).code).toBe(0);
    expect(JSON.parse(readFileSync(out, 'utf8'))[0].params).toBe(25_557_032);
    expect(existsSync(`${out}.tmp`)).toBe(false);
  });
});
