// The app as a user runs it: a child process, its stdout, stderr and exit code.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { epochs, runConfig, tempDir, writeRun } from '@resnet/results/testing';
import { pngSize } from './_test_png.ts';

const root = resolve(__dirname, '../../..');

function run(...args: string[]) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(root, 'apps/report/src/main.ts'), ...args], {
    encoding: 'utf8',
    cwd: root,
    env: { ...process.env, NX_TASK_TARGET_PROJECT: '', TSX_TSCONFIG_PATH: join(root, 'tsconfig.base.json') },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('report app, end to end', () => {
  test('a folder of runs and a run directory, comma-separated, give report.md and the charts', () => {
    const dir = tempDir();
    writeRun(join(dir, 'runs', 'resnet50'), runConfig(50, { epochs: 5 }), epochs(2));
    writeRun(join(dir, 'runs', 'resnet18'), runConfig(18), epochs(3));
    const single = writeRun(join(dir, 'extra'), runConfig(34, { machine: undefined }), epochs(1));
    const out = join(dir, 'report');
    const r = run(`--runs=${join(dir, 'runs')},${single}`, `--out=${out}`);
    expect(r).toMatchObject({ code: 0, stderr: '' });
    expect(r.stdout).toContain(`wrote ${join(out, 'report.md')}, ${join(out, 'summary.md')} and 8 chart files (3 runs)`);
    const md = readFileSync(join(out, 'report.md'), 'utf8');
    // Ordered by depth: 18, 34, 50.
    expect([...md.matchAll(/^### (ResNet-\d+)/gm)].map((m) => m[1])).toEqual(['ResNet-18', 'ResNet-34', 'ResNet-50']);
    expect(md).toContain('planned epochs: 10 — ResNet-18');
    expect(md).toContain('| not recorded |');
    for (const name of ['resnet18', 'resnet34', 'resnet50', 'all']) {
      expect(readFileSync(join(out, 'charts', `${name}.svg`), 'utf8')).toContain('<svg');
      expect(pngSize(new Uint8Array(readFileSync(join(out, 'charts', `${name}.png`))))).not.toBeNull();
    }
  });

  test('bad input exits non-zero with one line on stderr and writes nothing', () => {
    const dir = tempDir();
    const out = join(dir, 'report');
    const r = run(`--runs=${join(dir, 'missing')}`, `--out=${out}`);
    expect(r).toMatchObject({
      code: 2,
      stdout: '',
      stderr: `report: --runs: ${join(dir, 'missing')} does not exist: pass run directories (with config.json) or folders of them, comma-separated\n`,
    });
    expect(existsSync(out)).toBe(false);
  });
});
