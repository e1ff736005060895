// The train app as a user runs it: child processes, exit codes, messages, run directories.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import * as E from 'fp-ts/Either';
import { openRun, readRunEvaluation } from '@resnet/run-dir';

const root = resolve(__dirname, '../../..');
const REAL = existsSync('/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz');
const ON_CI = process.env['CI'] === 'true';

function run(script: 'main' | 'evaluate_main', ...args: string[]) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(root, `apps/train/src/${script}.ts`), ...args], {
    encoding: 'utf8',
    cwd: root,
    env: { ...process.env, NX_TASK_TARGET_PROJECT: '', TSX_TSCONFIG_PATH: join(root, 'tsconfig.base.json') },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const tmp = () => mkdtempSync(join(tmpdir(), 'train-app-'));

describe('train app: bad input gets a clear error, a non-zero exit and nothing written', () => {
  test.each([
    [['--variant=35'], 2, '--variant must be one of 18, 34, 50, 101, 152, got "35"'],
    [['--epochs=abc'], 2, '--epochs must be an integer, got "abc"'],
    [['--mini-batch=0'], 2, '--mini-batch must be between 1 and 65536, got 0'],
    [['--batch-size=64'], 2, '--batch-size is called --mini-batch here'],
    [['--backend=wasm'], 1, 'Conv2DBackpropFilter'],
  ])('%j exits %i', (args, code, message) => {
    const out = join(tmp(), 'run');
    const r = run('main', ...args, `--out=${out}`);
    expect(r.code).toBe(code);
    expect(r.stderr).toContain(message);
    expect(existsSync(out)).toBe(false);
  });

  test('--precision=bf16 on a CPU without native bf16 (simulated: ONEDNN_MAX_CPU_ISA=AVX2) or on a backend without bf16 is refused in one line, nothing written', () => {
    const out = join(tmp(), 'run');
    const r = spawnSync(process.execPath, ['--import', 'tsx', join(root, 'apps/train/src/main.ts'), '--precision=bf16', `--out=${out}`], {
      encoding: 'utf8',
      cwd: root,
      env: { ...process.env, ONEDNN_MAX_CPU_ISA: 'AVX2', TSX_TSCONFIG_PATH: join(root, 'tsconfig.base.json') },
    });
    expect(r.status).toBe(1);
    // Without the addon (no libdnnl-dev) the refusal names that instead; CI has the addon.
    expect(r.stderr.trim()).toMatch(
      /^train: --precision=bf16 needs (a CPU with native bf16 \(avx512_core_bf16 or AMX\); oneDNN runs on avx2 here: use --precision=fp32|the onednn backend, which is unavailable: .*)$/,
    );
    expect(existsSync(out)).toBe(false);
    const cpu = run('main', '--precision=bf16', '--backend=cpu', `--out=${out}`);
    expect(cpu.code).toBe(1);
    expect(cpu.stderr.trim()).toBe(
      "train: --precision=bf16 runs on the onednn backend only (tfjs's cpu backend has no bf16 training): use --backend=onednn, or --precision=fp32",
    );
    expect(existsSync(out)).toBe(false);
  });

  test("--resume keeps the run's precision: --precision with --resume is refused", () => {
    const r = run('main', `--resume=${tmp()}`, '--precision=bf16');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(
      'only --epochs, --backend, --data-dir, --repair-metrics, --checkpoint-minutes may be given with it, not --precision',
    );
  });

  test('a --data-dir without the files names the folder and the missing files', () => {
    const out = join(tmp(), 'run');
    const empty = tmp();
    const r = run('main', `--data-dir=${empty}`, `--out=${out}`, '--backend=cpu');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(empty);
    expect(r.stderr).toContain('train-images-idx3-ubyte.gz');
    expect(existsSync(out)).toBe(false);
  });

  test('a corrupted data file is rejected with its name and expected checksum', () => {
    const dir = tmp();
    for (const f of ['train-images-idx3-ubyte.gz', 'train-labels-idx1-ubyte.gz', 't10k-images-idx3-ubyte.gz', 't10k-labels-idx1-ubyte.gz'])
      writeFileSync(join(dir, f), 'not a gzip file');
    const r = run('main', `--data-dir=${dir}`, `--out=${join(tmp(), 'run')}`, '--backend=cpu');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/train-images-idx3-ubyte\.gz/);
    expect(r.stderr).toMatch(/8d4fb7e6c68d591d4c3dfef9ec88bf0d|f4a8712d7a061bf5bd6d2ca38dc4d50a/);
  });

  test('an --out that holds a different run is refused; --resume of a directory that is not a run is refused', () => {
    const out = join(tmp(), 'run');
    mkdirSync(out);
    writeFileSync(join(out, 'config.json'), JSON.stringify({ format: 'resnet-ts/run@1', variant: 50 }));
    const r = run('main', `--out=${out}`, '--backend=cpu');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('already holds a different run');
    expect(readdirSync(out)).toEqual(['config.json']);
    const notRun = tmp();
    const r2 = run('main', `--resume=${notRun}`);
    expect(r2.code).toBe(2);
    expect(r2.stderr).toContain('is not a run directory');
  });

  test('evaluate: a --json or --predictions file in a folder that does not exist is refused before anything runs', () => {
    for (const flag of ['json', 'predictions']) {
      const missing = join(tmp(), 'nope', 'evaluation.json');
      const r = run('evaluate_main', `--run=${tmp()}`, `--${flag}=${missing}`);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(`--${flag}=${missing}: the folder ${join(missing, '..')} does not exist`);
    }
  });

  test('evaluate: a --run that is not a run says which directory train:serve writes', () => {
    const r = run('evaluate_main', `--run=${tmp()}`);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('is not a run directory (no config.json): pass a directory written by train:serve --out');
  });

  test('--help lists the flags and exits 0', () => {
    const r = run('main', '--help');
    expect(r.code).toBe(0);
    for (const flag of ['--variant', '--protocol=default|seed', '--resume', '--backend']) expect(r.stdout).toContain(flag);
  });
});

const realTest = REAL || ON_CI ? test : test.skip;
if (!REAL && !ON_CI)
  console.warn('SKIPPED: the train app end-to-end test needs the real Fashion-MNIST: apt-get install dataset-fashion-mnist');

describe('train app end to end on real data (tiny: 8×8 images, 32 examples)', () => {
  realTest('trains one epoch with the summary lines and a valid run directory, resumes to a second, and evaluates', () => {
    const out = join(tmp(), 'run');
    const common = ['--variant=18', '--image-size=8', '--train-limit=32', '--test-limit=16', '--mini-batch=16'];
    const first = run('main', ...common, '--epochs=1', `--out=${out}`);
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(/^loss \d\.\d{3}, train acc \d\.\d{3}, test acc \d\.\d{3}$/m);
    expect(first.stdout).toMatch(/^\d+\.\d examples\/sec on .+$/m);
    const config = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8'));
    expect(config).toMatchObject({ format: 'resnet-ts/run@1', variant: 18, batchSize: 16, imageSize: 8, trainLimit: 32 });
    const lines = readFileSync(join(out, 'metrics.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines).toHaveLength(1);
    expect(Object.keys(lines[0])).toEqual(
      expect.arrayContaining(['epoch', 'loss', 'trainAcc', 'testAcc', 'examplesPerSec', 'lr', 'seconds']),
    );
    expect(existsSync(join(out, 'model', 'weights.bin'))).toBe(true);

    const second = run('main', `--resume=${out}`, '--epochs=2');
    expect(second.code).toBe(0);
    expect(second.stdout).toContain('resuming');
    expect(
      readFileSync(join(out, 'metrics.jsonl'), 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l).epoch),
    ).toEqual([1, 2]);
    expect(second.stdout).toContain('(2 epochs planned)');
    // config.json now plans the new total, records the change, and keeps its bookkeeping.
    expect(JSON.parse(readFileSync(join(out, 'config.json'), 'utf8'))).toMatchObject({
      epochs: 2,
      variant: 18,
      backend: { name: expect.any(String) as unknown },
      replanned: [{ afterEpoch: 1, afterStep: 0, from: 1, to: 2, at: expect.any(String) as unknown }],
    });

    const evaluated = run('evaluate_main', `--run=${out}`, '--test-limit=16');
    expect(evaluated.code).toBe(0);
    expect(evaluated.stdout).toMatch(/test acc \d\.\d{4} \(\d+\/16\)/);
    expect(evaluated.stdout).toContain('Ankle boot');
    expect(evaluated.stdout).toContain('confusion matrix');

    // --json: the run's evaluation.json, which the validating reader (report:serve's) accepts as this run's.
    const json = join(out, 'evaluation.json');
    const written = run('evaluate_main', `--run=${out}`, '--test-limit=16', `--json=${json}`);
    expect(written.code).toBe(0);
    expect(written.stdout).toContain(`evaluation of 16 images: ${json}`);
    const opened = openRun(out);
    if (E.isLeft(opened)) throw new Error(opened.left.message);
    const file = readRunEvaluation(out, opened.right.config);
    expect(file).toMatchObject(
      E.right({
        weights: { _tag: 'Final', epoch: 2 },
        testImages: 16,
        command: `npx nx run train:evaluate --run=${out} --test-limit=16 --json=${json}`,
      }),
    );
    const accuracy = /test acc (\d\.\d{4}) \((\d+)\/16\)/.exec(written.stdout);
    expect(E.isRight(file) && file.right !== null && [file.right.accuracy.toFixed(4), String(file.right.correct)]).toEqual([
      accuracy?.[1],
      accuracy?.[2],
    ]);
    expect(readdirSync(out).filter((f) => f.includes('.tmp-'))).toEqual([]);
  });

  realTest(
    'a damaged metrics line behind an intact checkpoint: --resume names --repair-metrics, which cuts the file back, says what it dropped, and the run continues',
    () => {
      const out = join(tmp(), 'run');
      const first = run(
        'main',
        '--variant=18',
        '--image-size=8',
        '--train-limit=32',
        '--test-limit=16',
        '--mini-batch=16',
        '--epochs=1',
        `--out=${out}`,
      );
      expect(first.code).toBe(0);
      const metrics = join(out, 'metrics.jsonl');
      writeFileSync(metrics, `${readFileSync(metrics, 'utf8')}{"epoch": 2, "lo\n`);
      const refused = run('main', `--resume=${out}`, '--epochs=2');
      expect(refused.code).toBe(1);
      expect(refused.stderr.trim()).toMatch(
        new RegExp(
          `^train: ${metrics.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:2: not a metrics record \\(.+\\); to cut the file back to the run's last checkpoint and continue: npx nx run train:serve --resume=.+ --repair-metrics$`,
        ),
      );
      const repaired = run('main', `--resume=${out}`, '--epochs=2', '--repair-metrics');
      expect(repaired.stderr).toBe('');
      expect(repaired.code).toBe(0);
      expect(repaired.stdout).toContain(`${out}/metrics.jsonl cut back to the checkpoint's 1 epoch; dropped line 2: `);
      expect(
        readFileSync(metrics, 'utf8')
          .trim()
          .split('\n')
          .map((l) => (JSON.parse(l) as { epoch: number }).epoch),
      ).toEqual([1, 2]);
      const alone = run('main', '--repair-metrics', `--out=${join(tmp(), 'other')}`);
      expect(alone.code).toBe(2);
      expect(alone.stderr.trim()).toBe('train: --repair-metrics repairs a run being continued: give it with --resume=<run directory>');
    },
  );
});
