// Every jest run of the workspace (jest.preset.js) gets one temporary folder, TMPDIR for its tests
// and every process they start, removed when the run ends (tools/jest/tmp_root_*.cjs): what a test
// leaves behind does not pile up. A real jest, on a two-file fixture project built from the preset,
// in its workers; and the same project without the two hooks, where the folders stay.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const root = resolve(__dirname, '../../..');

const FIXTURE_TEST = `
import { spawnSync } from 'node:child_process';
import { mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

test('leaves a folder behind, and so does a process it starts', () => {
  const own = mkdtempSync(join(tmpdir(), 'left-behind-'));
  writeFileSync(join(own, 'checkpoint'), 'x'.repeat(4096));
  const child = spawnSync('mktemp', ['-d'], { encoding: 'utf8' }).stdout.trim();
  writeFileSync(
    join(process.env['REPORT_DIR'] ?? '', \`\${process.pid}-\${Math.random()}.json\`),
    JSON.stringify({ pid: process.pid, own, child, mode: statSync(tmpdir()).mode & 0o777 }),
  );
});
`;

interface Report {
  readonly pid: number;
  readonly own: string;
  readonly child: string;
  readonly mode: number;
}

/** Runs jest (two workers) on a fresh two-file fixture project with TMPDIR=`outer`; what each test reported. */
function runFixture(hooks: boolean): { readonly outer: string; readonly jestPid: number; readonly reports: readonly Report[] } {
  const work = mkdtempSync(join(tmpdir(), 'tmp-root-'));
  const project = join(work, 'project');
  const outer = join(work, 'outer');
  const reports = join(work, 'reports');
  for (const d of [join(project, 'src'), outer, reports]) mkdirSync(d, { recursive: true });
  writeFileSync(
    join(project, 'jest.config.cjs'),
    `module.exports = { ...require(${JSON.stringify(join(root, 'jest.preset.js'))}), rootDir: __dirname, displayName: 'fixture', cacheDirectory: ${JSON.stringify(join(work, 'cache'))}${hooks ? '' : ', globalSetup: undefined, globalTeardown: undefined'} };\n`,
  );
  for (const name of ['a_test.ts', 'b_test.ts']) writeFileSync(join(project, 'src', name), FIXTURE_TEST);
  const r = spawnSync(
    process.execPath,
    [join(root, 'node_modules/jest/bin/jest.js'), '--config', join(project, 'jest.config.cjs'), '--maxWorkers=2'],
    {
      cwd: project,
      encoding: 'utf8',
      env: { ...process.env, TMPDIR: outer, REPORT_DIR: reports, CI: 'true' },
      timeout: 120_000,
    },
  );
  if (r.status !== 0) throw new Error(`jest on the fixture exited ${r.status}:\n${r.stdout}\n${r.stderr}`);
  return {
    outer,
    jestPid: r.pid ?? -1,
    reports: readdirSync(reports).map((f) => JSON.parse(readFileSync(join(reports, f), 'utf8')) as Report),
  };
}

describe("a jest run's temporary folder", () => {
  test('tests and the processes they start write under one folder of the run, in the workers too; it is gone when jest ends', () => {
    const { outer, jestPid, reports } = runFixture(true);
    expect(reports).toHaveLength(2);
    // Both files ran in workers, not in jest's own process: TMPDIR reached the workers.
    expect(reports.map((r) => r.pid)).not.toContain(jestPid);
    const runRoot = reports[0]?.own.split('/').slice(0, -1).join('/') ?? '';
    expect(runRoot).toMatch(new RegExp(`^${outer}/jest-fixture-[^/]+$`));
    for (const r of reports) {
      // Others may pass through it (munge to a Slurm test's cluster), not list it.
      expect(r.mode.toString(8)).toBe('711');
      expect(r.own.startsWith(`${runRoot}/left-behind-`)).toBe(true);
      expect(r.child.startsWith(`${runRoot}/tmp.`)).toBe(true);
      expect([existsSync(r.own), existsSync(r.child)]).toEqual([false, false]);
    }
    expect(readdirSync(outer)).toEqual([]);
  });

  test('without the two hooks, the same tests leave their folders in TMPDIR (what the hooks prevent)', () => {
    const { outer, reports } = runFixture(false);
    expect(reports).toHaveLength(2);
    for (const r of reports) expect([existsSync(r.own), existsSync(r.child)]).toEqual([true, true]);
    expect(readdirSync(outer)).toHaveLength(4);
  });
});
