// The train apps at their edges, as a user meets them: output paths refused before any work, a
// read-only or full file system in one line (no stack trace, nothing half-written left), the
// exit codes their --help states.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runMain, startMain, type AppRun } from '@resnet/cli/testing';
import { describeTmpfs, withTmpfs } from '@resnet/files/testing';

const REAL = existsSync('/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz');
const ON_CI = process.env['CI'] === 'true';
const tmp = () => mkdtempSync(join(tmpdir(), 'train-exits-'));

/** Every entry under `dir`, recursively, relative to it. */
function tree(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' }).sort();
}

describe('output paths are refused in a second, before the run is read or the data loaded', () => {
  const dir = tmp();
  writeFileSync(join(dir, 'a-file'), 'x');
  mkdirSync(join(dir, 'a-folder'));
  test.each([
    [
      'evaluate_main',
      ['--run=runs/none', `--predictions=${join(dir, 'a-folder')}`],
      `--predictions=${join(dir, 'a-folder')}: a folder is there, where a file goes`,
    ],
    [
      'evaluate_main',
      ['--run=runs/none', `--json=${join(dir, 'a-file', 'evaluation.json')}`],
      `--json=${join(dir, 'a-file', 'evaluation.json')}: ${join(dir, 'a-file')} is a file, so nothing can be created under it`,
    ],
    ['main', [`--out=${join(dir, 'a-file', 'run')}`], `--out=${join(dir, 'a-file', 'run')}: ${join(dir, 'a-file')} is a file`],
    ['main', [`--resume=${join(dir, 'a-file')}`], `--resume=${join(dir, 'a-file')}: a file is there, where a folder goes`],
    ['sweep_main', [`--out=${join(dir, 'a-file')}`], `--out=${join(dir, 'a-file')}: a file is there, where a folder goes`],
    [
      'export_main',
      ['--run=runs/none', `--out=${join(dir, 'a-file')}`],
      `--out=${join(dir, 'a-file')}: a file is there, where a folder goes`,
    ],
  ])('train %s %j: exit 2, one line', (main, args, message) => {
    const started = Date.now();
    const r = runMain(`apps/train/src/${main}.ts`, args);
    expect({ code: r.code, stderr: r.stderr.trim().split('\n').length }).toEqual({ code: 2, stderr: 1 });
    expect(r.stderr).toContain(message);
    expect(r.stderr).not.toContain('unexpected error');
    expect(Date.now() - started).toBeLessThan(15_000);
    expect(tree(dir)).toEqual(['a-file', 'a-folder']);
  });
});

describeTmpfs('a read-only or full file system (a tmpfs mounted for the test)', () => {
  test('--out on a read-only file system one level down says "read-only", not ENOENT', async () => {
    await withTmpfs({ kib: 64, readOnly: true }, (ro) => {
      const r = runMain('apps/train/src/main.ts', ['--variant=18', `--out=${join(ro, 'runs', 'r1')}`]);
      expect(r.code).toBe(2);
      expect(r.stderr.trim()).toBe(
        `train: --out=${join(ro, 'runs', 'r1')}: cannot write there: ${ro}: the file system is read-only (EROFS, open)`,
      );
    });
  });

  (REAL || ON_CI ? test : test.skip)('a disk that fills up at the first checkpoint: one line, exit 1, no temporary file left', async () => {
    await withTmpfs({ kib: 3 * 1024 }, (small) => {
      const out = join(small, 'run');
      const r = runMain('apps/train/src/main.ts', [
        '--variant=18',
        '--epochs=1',
        '--train-limit=64',
        '--test-limit=32',
        '--mini-batch=32',
        `--out=${out}`,
      ]);
      expect(r.code).toBe(1);
      // The checkpoint folder (or metrics.jsonl) it was writing; its way on: no checkpoint yet, so start again.
      expect(r.stderr).toMatch(
        /^train: \S+: no space left on the device \(ENOSPC, write\); no checkpoint was written yet: once that is fixed, start the run again with the same command$/m,
      );
      expect(r.stderr).not.toContain('unexpected error');
      expect(r.stderr).not.toMatch(/\n\s+at /);
      expect(tree(out).filter((f) => /\.tmp-\d+/.test(f))).toEqual([]);
    });
  });
});

/** Starts `main` with `args`, sends `signal` once the first progress line is out; resolves with how it ended. */
async function stoppedAtFirstStep(main: string, args: readonly string[], signal: NodeJS.Signals): Promise<AppRun> {
  const app = startMain(main, args);
  await app.waitFor(/epoch 1 \[/);
  app.child.kill(signal);
  return app.ended;
}

(REAL || ON_CI ? describe : describe.skip)('a training stopped by a signal in its first epoch', () => {
  test('a sweep stopped by Ctrl-C names one way to continue: the same sweep command', async () => {
    const out = join(tmp(), 'sweep');
    const args = [
      '--variants=18',
      '--epochs=1',
      '--image-size=16',
      '--train-limit=512',
      '--test-limit=64',
      '--mini-batch=16',
      `--out=${out}`,
    ];
    const r = await stoppedAtFirstStep('apps/train/src/sweep_main.ts', args, 'SIGINT');
    expect(r.code).toBe(130);
    const lines = `${r.stdout}\n${r.stderr}`.split('\n').filter((l) => /continue/.test(l));
    expect(lines).toEqual([
      expect.stringMatching(
        new RegExp(
          `saved a checkpoint after \\d+ steps of epoch 1 in ${out}/resnet18; continue with: npx nx run train:sweep ${args.join(' ')}$`,
        ),
      ),
    ]);
    expect(JSON.parse(readFileSync(join(out, 'resnet18', 'stopped.json'), 'utf8'))).toMatchObject({
      reason: 'SIGINT (Ctrl-C)',
      continueWith: `npx nx run train:sweep ${args.join(' ')}`,
    });
  }, 120_000);

  test('SIGTERM: checkpoint saved, the continue line on stderr and in stopped.json, exit 130; evaluating it claims no test accuracy of the run', async () => {
    const out = join(tmp(), 'run');
    const { code, stderr } = await stoppedAtFirstStep(
      'apps/train/src/main.ts',
      ['--variant=18', '--epochs=1', '--image-size=16', '--train-limit=512', '--test-limit=64', '--mini-batch=16', `--out=${out}`],
      'SIGTERM',
    );
    expect(code).toBe(130);
    expect(stderr).toContain('train: SIGTERM: finishing this step and saving a checkpoint');
    expect(stderr).toMatch(
      new RegExp(`saved a checkpoint after \\d+ steps of epoch 1 in ${out}; continue with: npx nx run train:serve --resume=${out}`),
    );
    expect(JSON.parse(readFileSync(join(out, 'stopped.json'), 'utf8'))).toMatchObject({
      format: 'resnet-ts/stopped@1',
      reason: 'SIGTERM',
      epoch: 0,
      continueWith: `npx nx run train:serve --resume=${out}`,
    });

    const evaluated = runMain('apps/train/src/evaluate_main.ts', [`--run=${out}`, '--test-limit=16']);
    expect(evaluated.code).toBe(0);
    expect(evaluated.stdout).toContain('(the run has no final model yet: its last checkpoint)');
    expect(evaluated.stdout).not.toContain("the run's test accuracy was measured");

    // Continued: the record of the stop goes.
    const resumed = runMain('apps/train/src/main.ts', [`--resume=${out}`]);
    expect(resumed.code).toBe(0);
    expect(existsSync(join(out, 'stopped.json'))).toBe(false);
  }, 180_000);
});

(REAL || ON_CI ? describe : describe.skip)('one process owns a run', () => {
  test('a second training of the same --out, or a --resume of it, while the first trains: refused with the owner, the first unharmed; killed hard, its lock is taken over', async () => {
    const out = join(tmp(), 'run');
    const args = [
      '--variant=18',
      '--epochs=1',
      '--image-size=16',
      '--train-limit=2048',
      '--test-limit=64',
      '--mini-batch=16',
      `--out=${out}`,
    ];
    const first = startMain('apps/train/src/main.ts', args);
    await first.waitFor(/epoch 1 \[/);

    for (const second of [args, [`--resume=${out}`]]) {
      const r = runMain('apps/train/src/main.ts', second);
      expect(r.code).toBe(1);
      expect(r.stderr.trim()).toMatch(
        new RegExp(
          `^train: ${out} is being trained by pid ${first.child.pid} on this host since \\S+ \\(npx nx run train:serve .*\\): wait for it to end, or stop it \\(kill ${first.child.pid} saves a checkpoint\\), then continue with: npx nx run train:serve --resume=${out}$`,
        ),
      );
    }
    // Killed hard: its lock stays, names a dead process, and the next training of the run takes it over.
    first.child.kill('SIGKILL');
    await first.ended;
    expect(readdirSync(out)).toContain('.lock');
    const again = runMain('apps/train/src/main.ts', [`--resume=${out}`]);
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(
      new RegExp(`^${out} was locked by pid ${first.child.pid} \\(.*\\), which is no longer running: taking the run over$`, 'm'),
    );
    expect(
      readFileSync(join(out, 'metrics.jsonl'), 'utf8')
        .trim()
        .split('\n')
        .map((l) => (JSON.parse(l) as { epoch: number }).epoch),
    ).toEqual([1]);
    expect(readdirSync(out)).not.toContain('.lock');
  }, 180_000);
});
