// The PyTorch scripts the report's comparisons rest on, run for real on a few steps (Debian's
// python3-torch): tools/torch_reference.py, whose run directory must pass our validating readers
// and show up in the report beside ours, and tools/bench_torch.py, the baseline of the speed
// table's "× PyTorch" ratios. Required on CI (CI=true), skipped with a notice elsewhere without torch.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import * as E from 'fp-ts/Either';
import { openRun, readRunEvaluation, type RunConfig } from '@resnet/run-dir';
import { PROTOCOLS, runSpec } from '@resnet/recipe';
import { weightSchema } from '@resnet/spec';
import { epochs, runConfig, tempDir, writeRun } from '@resnet/results/testing';
import { runReport } from './_test_support.ts';

const root = resolve(__dirname, '../../..');
const PYTHON = '/usr/bin/python3';
const SCRIPT = join(root, 'tools', 'torch_reference.py');
const BENCH_SCRIPT = join(root, 'tools', 'bench_torch.py');
const ON_CI = process.env['CI'] === 'true';
const hasTorch = spawnSync(PYTHON, ['-c', 'import torch'], { encoding: 'utf8' }).status === 0;
const hasData = existsSync('/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz');
const realTest = (hasTorch && hasData) || ON_CI ? test : test.skip;
const torchTest = hasTorch || ON_CI ? test : test.skip;
if (!((hasTorch && hasData) || ON_CI))
  console.warn(
    `[report] SKIPPED the PyTorch scripts' tests: ${hasTorch ? 'no Fashion-MNIST in /usr/share/datasets/fashion-mnist (apt-get install -y dataset-fashion-mnist)' : `${PYTHON} cannot import torch (apt-get install -y python3-torch)`}`,
  );

/**
 * Our spec's count of trainable parameters for a run's network, and what the seed report's code has instead:
 * a bias on every convolution, and no batch norm (scale and offset) on the projection shortcuts.
 */
function parameterCounts(config: RunConfig): { readonly ours: number; readonly seedCode: number } {
  const spec = runSpec(config);
  if (E.isLeft(spec)) throw new Error(spec.left.message);
  const weights = weightSchema(spec.right.net).filter((w) => w.trainable);
  const size = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);
  const ours = weights.reduce((sum, w) => sum + size(w.shape), 0);
  const convBiases = weights.filter((w) => w.role._tag === 'ConvWeight').reduce((sum, w) => sum + (w.shape[3] ?? 0), 0);
  const shortcutNorms = weights.filter((w) => w.layer.endsWith('shortcut_bn')).reduce((sum, w) => sum + size(w.shape), 0);
  return { ours, seedCode: ours + convBiases - shortcutNorms };
}

function python(...args: string[]) {
  const r = spawnSync(PYTHON, [SCRIPT, ...args], { encoding: 'utf8', cwd: root, timeout: 120_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const TWO_STEPS = ['--variant=18', '--epochs=1', '--train-limit=256', '--test-limit=128', '--threads=2'];
let twoSteps: { readonly dir: string; readonly result: ReturnType<typeof python> } | null = null;
/** The 2-step run of the default protocol, trained once for the tests that read it (a PyTorch run costs ~10 s). */
function twoStepRun(): { readonly dir: string; readonly result: ReturnType<typeof python> } {
  if (twoSteps === null) {
    const dir = join(tempDir(), 'runs', 'pytorch-resnet18');
    twoSteps = { dir, result: python(...TWO_STEPS, `--out=${dir}`) };
  }
  return twoSteps;
}

describe('tools/torch_reference.py (PyTorch reference of the default protocol, and the seed report’s own code)', () => {
  realTest(
    'a 2-step run writes config.json, metrics.jsonl and evaluation.json that our readers accept, and the report shows it beside ours',
    async () => {
      const { dir, result: r } = twoStepRun();
      const runs = dirname(dir);
      expect([r.code, r.stderr.split('\n').filter((l) => l.startsWith('torch_reference:'))]).toEqual([0, []]);
      expect(r.stderr).toContain('epoch 1/1: loss ');
      expect(readdirSync(dir).sort()).toEqual(['config.json', 'evaluation.json', 'metrics.jsonl']);

      const opened = openRun(dir);
      if (E.isLeft(opened)) throw new Error(opened.left.message);
      const { config, metrics } = opened.right;
      expect(config).toMatchObject({
        protocol: 'default',
        variant: 18,
        version: 'v1.5',
        stem: 'imagenet',
        epochs: 1,
        batchSize: 128,
        trainLimit: 256,
        testLimit: 128,
        zeroInitResidual: true,
        clipNorm: PROTOCOLS.default.clipNorm,
        // The default protocol's rule for a 1-epoch run: warmup a tenth of it.
        schedule: { _tag: 'Cosine', lr: 0.1, warmupEpochs: 0.1, floor: 0 },
        momentum: 0.9,
        nesterov: true,
        weightDecay: 0.0005,
        augment: { crop: true, flip: true },
        backend: { name: 'pytorch', device: expect.stringMatching(/^cpu \(2 threads, torch /) as unknown },
        reference: { framework: 'pytorch', version: expect.any(String) as unknown, script: 'tools/torch_reference.py', code: 'ours' },
        command: `${PYTHON} ${SCRIPT} ${TWO_STEPS.join(' ')} --out=${dir}`,
      });
      // The network PyTorch trained has exactly our spec's parameters.
      expect(config.reference?.parameters).toBe(parameterCounts(config).ours);
      expect(metrics).toHaveLength(1);
      // Exactly the keys our loop writes, in its order; 2 steps of 128: lr 0.1 then the cosine's 0.
      expect(Object.keys(JSON.parse(readFileSync(join(dir, 'metrics.jsonl'), 'utf8')) as object)).toEqual([
        'epoch',
        'loss',
        'trainAcc',
        'testAcc',
        'examplesPerSec',
        'lr',
        'seconds',
        'cpuSeconds',
      ]);
      expect(metrics[0]).toMatchObject({ epoch: 1, lr: 0 });
      expect(metrics[0]?.cpuSeconds).toBeGreaterThan(0);
      expect(metrics[0]?.loss).toBeGreaterThan(0);
      expect((metrics[0]?.testAcc ?? -1) * 128).toBeCloseTo(Math.round((metrics[0]?.testAcc ?? -1) * 128), 9);

      const evaluation = readRunEvaluation(dir, config);
      expect(evaluation).toMatchObject(E.right({ weights: { _tag: 'Final', epoch: 1 }, testImages: 128 }));
      expect(E.isRight(evaluation) && evaluation.right?.accuracy).toBe(metrics[0]?.testAcc);

      // Beside a run of ours of the same settings, in the report: a row of its own, no "settings differ" note.
      writeRun(
        join(runs, 'resnet18'),
        runConfig(18, { epochs: 1, trainLimit: 256, testLimit: 128, schedule: { _tag: 'Cosine', lr: 0.1, warmupEpochs: 0.1, floor: 0 } }),
        epochs(1),
      );
      const out = join(tempDir(), 'report');
      const made = await runReport(`--runs=${runs}`, `--out=${out}`);
      expect([made.code, made.stderr]).toEqual([0, '']);
      const md = readFileSync(join(out, 'report.md'), 'utf8');
      expect(md).toMatch(
        /^\| ResNet-18 \(PyTorch reference\) \| v1\.5 \| basic \| 11,175,370 \|.*\| PyTorch reference, cpu \(2 threads, torch [^|]+\) \|/m,
      );
      expect(md).not.toContain('Mixed protocols');
      expect(md).toContain('- **PyTorch reference:** after 1 epoch of the same settings, final test accuracy ResNet-18 ');
      expect(md).toContain('Confusion matrix of the final model (epoch 1) on 128 test images');
    },
    90_000,
  );

  realTest(
    '--code seed trains the seed report’s own network (biased convolutions, projections without batch norm) on its protocol, recorded as such',
    () => {
      const dir = join(tempDir(), 'seed-code');
      const r = python('--code=seed', '--variant=18', '--epochs=1', '--train-limit=256', '--test-limit=64', '--threads=2', `--out=${dir}`);
      expect([r.code, r.stderr.split('\n').filter((l) => l.startsWith('torch_reference:'))]).toEqual([0, []]);
      const opened = openRun(dir);
      if (E.isLeft(opened)) throw new Error(opened.left.message);
      const { config, metrics } = opened.right;
      expect(config).toMatchObject({
        protocol: 'seed',
        version: 'v1',
        stem: 'imagenet',
        batchSize: 256,
        imageSize: 96,
        schedule: { _tag: 'Constant', lr: 0.1 },
        momentum: 0,
        nesterov: false,
        weightDecay: 0,
        augment: { crop: false, flip: false },
        zeroInitResidual: false,
        clipNorm: null,
        reference: { framework: 'pytorch', script: 'tools/torch_reference.py', code: 'seed' },
      });
      const counts = parameterCounts(config);
      expect(config.reference?.parameters).toBe(counts.seedCode);
      expect(counts.seedCode).not.toBe(counts.ours);
      expect(r.stderr).toContain(
        `The seed report's code in PyTorch: its ResNet-18 (${counts.seedCode.toLocaleString('en-US')} parameters), d2l's init`,
      );
      // One step of 256 at the constant rate.
      expect(metrics).toHaveLength(1);
      expect(metrics[0]).toMatchObject({ epoch: 1, lr: 0.1 });
      expect((metrics[0]?.testAcc ?? -1) * 64).toBeCloseTo(Math.round((metrics[0]?.testAcc ?? -1) * 64), 9);

      // The seed's code builds the paper's networks at 18 and 34 only: other depths are refused before anything is written.
      const deep = python('--code=seed', '--variant=50', `--out=${join(tempDir(), 'deep')}`);
      expect([deep.code, deep.stderr]).toEqual([
        2,
        expect.stringContaining(
          "--code seed runs ResNet-18 or 34, got --variant 50: the seed's code builds its ResNet-50 from basic blocks, not the paper's network",
        ) as unknown,
      ]);
      expect(existsSync(join(tempDir(), 'deep'))).toBe(false);
    },
    120_000,
  );

  realTest(
    '--clip-norm clips with torch.nn.utils.clip_grad_norm_ and is recorded as train:serve records it',
    () => {
      const opened = (dir: string, r: ReturnType<typeof python>) => {
        expect([r.code, r.stderr.split('\n').filter((l) => l.startsWith('torch_reference:'))]).toEqual([0, []]);
        const o = openRun(dir);
        if (E.isLeft(o)) throw new Error(o.left.message);
        return o.right;
      };
      const run = (dir: string, ...extra: string[]) => opened(dir, python(...TWO_STEPS, `--out=${dir}`, ...extra));
      // Without the flag, the protocol's own clipping (as train:serve); 0 is none.
      const byDefault = opened(twoStepRun().dir, twoStepRun().result);
      const plain = run(join(tempDir(), 'plain'), '--clip-norm=0');
      // A norm of 1e-6 leaves the second step almost only its weight decay: the epoch's loss moves away from the unclipped run's.
      const clipped = run(join(tempDir(), 'clipped'), '--clip-norm=1e-6');
      expect([byDefault.config.clipNorm, plain.config.clipNorm, clipped.config.clipNorm]).toEqual([PROTOCOLS.default.clipNorm, null, 1e-6]);
      expect(Math.abs((clipped.metrics[0]?.loss ?? NaN) - (plain.metrics[0]?.loss ?? NaN))).toBeGreaterThan(1e-3);
      const bad = python('--clip-norm=-1', `--out=${join(tempDir(), 'bad')}`);
      expect([bad.code, bad.stderr]).toEqual([
        2,
        expect.stringContaining('--clip-norm must be a number ≥ 0 (0: no clipping), got -1.0') as unknown,
      ]);
    },
    90_000,
  );

  realTest(
    'a run stopped by SIGTERM after its first epoch continues with --resume to the metrics and confusion matrix of an uninterrupted one, bit for bit; one process per folder',
    async () => {
      const SETTINGS = ['--variant=18', '--epochs=3', '--train-limit=256', '--test-limit=128', '--threads=2'];
      const full = join(tempDir(), 'full');
      expect(python(...SETTINGS, `--out=${full}`).code).toBe(0);

      /** Starts the script; resolves when its stderr contains `text` (then calls `then`), and again with its exit. */
      const watch = (args: readonly string[], text: string, then: (child: ReturnType<typeof spawn>) => void) =>
        new Promise<{ code: number | null; stderr: string }>((done) => {
          const child = spawn(PYTHON, [SCRIPT, ...args], { cwd: root });
          let stderr = '';
          let seen = false;
          child.stderr.on('data', (chunk: Buffer) => {
            stderr += chunk.toString();
            if (!seen && stderr.includes(text)) {
              seen = true;
              then(child);
            }
          });
          child.on('close', (code) => done({ code, stderr }));
        });
      const cut = join(tempDir(), 'cut');
      const stopped = await watch([...SETTINGS, `--out=${cut}`], 'epoch 1/3:', (child) => child.kill('SIGTERM'));
      expect([stopped.code, stopped.stderr.trim().split('\n').pop()]).toEqual([
        130,
        `torch_reference: interrupted; ${cut} keeps the epochs finished so far and their checkpoint: continue with /usr/bin/python3 tools/torch_reference.py --resume=${cut}`,
      ]);
      expect(readdirSync(cut).sort()).toEqual(['checkpoint.pt', 'config.json', 'metrics.jsonl']);
      expect(readFileSync(join(cut, 'metrics.jsonl'), 'utf8').trim().split('\n')).toHaveLength(1);
      // Starting it afresh in the same folder is refused, pointing at --resume.
      const again = python(...SETTINGS, `--out=${cut}`);
      expect([again.code, again.stderr.trim()]).toEqual([
        2,
        `torch_reference: --out=${cut} exists and is not empty: choose a new --out, or remove ${cut} first (it holds an unfinished run of this script: continue it with --resume=${cut})`,
      ]);
      // --resume takes the run's own settings, and no others.
      const other = python(`--resume=${cut}`, '--variant=34', '--seed=1');
      expect([other.code, other.stderr]).toEqual([
        2,
        expect.stringContaining('--resume continues the run with the settings its config.json records: drop --variant, --seed') as unknown,
      ]);
      const both = python(`--resume=${cut}`, `--out=${cut}`);
      expect([both.code, both.stderr]).toEqual([2, expect.stringContaining('one of the two') as unknown]);

      // While it trains, a second process is refused the folder.
      let second: ReturnType<typeof python> = { code: null, stdout: '', stderr: 'not run' };
      const resumed = await watch([`--resume=${cut}`, '--threads=2'], 'resuming after epoch 1 of 3', () => {
        second = python(`--resume=${cut}`, '--threads=2');
      });
      expect([second.code, second.stderr.trim()]).toEqual([
        1,
        `torch_reference: another process is training into ${cut} (it holds the folder's lock): wait for it to end, or stop it (Ctrl-C or kill keeps its finished epochs), then continue with --resume=${cut}`,
      ]);
      expect([resumed.code, resumed.stderr.split('\n').filter((l) => l.startsWith('torch_reference:'))]).toEqual([0, []]);
      expect(readdirSync(cut).sort()).toEqual(['config.json', 'evaluation.json', 'metrics.jsonl']);

      // Every epoch's loss, accuracies and learning rate equal the uninterrupted run's to the bit (the timings are the epochs' own).
      const without = (o: Record<string, unknown>, keys: readonly string[]) =>
        Object.fromEntries(Object.entries(o).filter(([k]) => !keys.includes(k)));
      const results = (dir: string) =>
        readFileSync(join(dir, 'metrics.jsonl'), 'utf8')
          .trim()
          .split('\n')
          .map((line) => without(JSON.parse(line) as Record<string, unknown>, ['examplesPerSec', 'seconds', 'cpuSeconds']));
      expect(results(cut)).toHaveLength(3);
      expect(results(cut)).toEqual(results(full));
      // The final model's evaluation too; it names the run's own command and config, as the uninterrupted run's does.
      const evaluation = (dir: string) => JSON.parse(readFileSync(join(dir, 'evaluation.json'), 'utf8')) as Record<string, unknown>;
      const config = (dir: string) => JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;
      expect(without(evaluation(cut), ['run', 'command'])).toEqual(without(evaluation(full), ['run', 'command']));
      const { run: runCut, command: commandCut } = evaluation(cut);
      expect([runCut, commandCut]).toEqual([{ variant: 18, createdAt: config(cut)['createdAt'] }, config(cut)['command']]);
      const opened = openRun(cut);
      expect(E.isRight(opened) && opened.right.metrics.length).toBe(3);

      // A finished run, a folder of ours, and nothing at all: refused in one line each.
      const finished = python(`--resume=${cut}`);
      expect([finished.code, finished.stderr.trim()]).toEqual([
        2,
        `torch_reference: --resume=${cut}: the run is finished (evaluation.json written): nothing to continue`,
      ]);
      const ours = join(tempDir(), 'ours');
      writeRun(ours, runConfig(18), epochs(1));
      const notOurs = python(`--resume=${ours}`);
      expect([notOurs.code, notOurs.stderr]).toEqual([
        2,
        expect.stringContaining(`continue our own runs with npx nx run train:serve --resume=${ours}`) as unknown,
      ]);
      const missing = python(`--resume=${join(tempDir(), 'none')}`);
      expect([missing.code, missing.stderr]).toEqual([2, expect.stringContaining('no such folder') as unknown]);
    },
    // Three runs of ~10 s and two short refusals; a minute under a background training run at nice 19.
    180_000,
  );

  realTest('refuses an --out that holds something, and a bad number, with one line and nothing written; --help describes the flags', () => {
    const out = join(tempDir(), 'taken');
    mkdirSync(out);
    writeFileSync(join(out, 'mine.txt'), 'keep');
    const taken = python(`--out=${out}`);
    expect([taken.code, taken.stderr.trim()]).toEqual([
      2,
      `torch_reference: --out=${out} exists and is not empty: choose a new --out, or remove ${out} first`,
    ]);
    expect(readdirSync(out)).toEqual(['mine.txt']);
    const fresh = join(tempDir(), 'fresh');
    const bad = python('--test-limit=0', `--out=${fresh}`);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--test-limit must be an integer from 1 to 10000, got 0');
    const noData = python(`--data-dir=${tempDir()}`, `--out=${fresh}`);
    expect(noData.code).toBe(1);
    expect(noData.stderr).toContain('lacks train-images-idx3-ubyte.gz');
    expect(existsSync(fresh)).toBe(false);
    const help = python('--help');
    expect(help.code).toBe(0);
    for (const flag of [
      '--code',
      '--variant',
      '--epochs',
      '--mini-batch',
      '--train-limit',
      '--test-limit',
      '--seed',
      '--threads',
      '--out',
      '--resume',
      '--data-dir',
    ])
      expect(help.stdout).toContain(flag);
  });
});

describe('tools/bench_torch.py (the PyTorch baseline of bench:serve)', () => {
  torchTest(
    'times 1 step after 1 warm-up of ResNet-18 and prints one JSON measurement',
    () => {
      const r = spawnSync(
        PYTHON,
        [BENCH_SCRIPT, '--variant', '18', '--image-size', '28', '--batch-size', '8', '--steps', '1', '--warmup', '1', '--threads', '2'],
        { encoding: 'utf8', cwd: root, timeout: 120_000 },
      );
      expect([r.status, r.stderr]).toEqual([0, '']);
      const measured = JSON.parse(r.stdout.trim().split('\n').pop() ?? '') as Record<string, unknown>;
      expect(measured).toMatchObject({
        variant: 18,
        imageSize: 28,
        batchSize: 8,
        backend: 'pytorch',
        steps: 1,
        warmup: 1,
        device: expect.stringMatching(/^cpu \(2 threads, torch /) as unknown,
      });
      expect(measured['examplesPerSec']).toBeGreaterThan(0);
      expect(measured['medianStepMs']).toBeGreaterThan(0);
    },
    60_000,
  );
});
