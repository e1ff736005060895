// The app as a user runs it: a child process, its stdout, stderr and exit code.
import * as E from 'fp-ts/Either';
import { runMain } from '@resnet/cli/testing';
import { parseBench } from '@resnet/run-dir';

function run(...args: string[]) {
  return runMain('apps/bench/src/main.ts', args);
}

// One step of ResNet-18 on 8×8 images, batch 2, no warm-up: a tiny real measurement.
const TINY = ['--variants=18', '--image-size=8', '--mini-batch=2', '--steps=1', '--warmup=0'] as const;

describe('bench app', () => {
  test('--help describes every flag and exits 0', () => {
    const { code, stdout } = run('--help');
    expect(code).toBe(0);
    for (const flag of [
      '--mode',
      '--variants',
      '--image-size',
      '--mini-batch',
      '--backends',
      '--steps',
      '--warmup',
      '--rounds',
      '--pytorch',
      '--format',
    ])
      expect(stdout).toContain(flag);
  });

  test.each([
    [['--variants=19'], '--variants takes a comma-separated list from 18, 34, 50, 101, 152, got "19"'],
    [['--backends=gpu'], '--backends takes a comma-separated list from tensorflow, onednn, cpu, wasm, got "gpu"'],
    [['--mini-batch=0'], '--mini-batch must be between 1 and 4096, got 0'],
    [['--mode=eval'], '--mode'],
    [['--rounds=0'], '--rounds must be between 1 and 100, got 0'],
    [['--profile', '--rounds=3'], "--profile times one round's kernels; with --rounds=3 the profiles would be of different minutes"],
  ])('bad flags %j exit 2 with a message and print nothing on stdout', (args, message) => {
    const { code, stdout, stderr } = run(...args);
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toContain(message);
  });

  test('--format=json prints one object (machine, command, measurements with the keys scripts rely on) that report:serve accepts as bench.json (a tiny real measurement on pure-JS cpu)', () => {
    const { code, stdout, stderr } = run(...TINY, '--backends=cpu', '--pytorch=false', '--format=json');
    expect({ code, stderr: code === 0 ? '' : stderr }).toEqual({ code: 0, stderr: '' });
    const parsed = JSON.parse(stdout) as { machine: string; command: string; measurements: Record<string, unknown>[] };
    expect(parsed.command).toBe(
      'npx nx run bench:serve --variants=18 --image-size=8 --mini-batch=2 --steps=1 --warmup=0 --backends=cpu --pytorch=false --format=json',
    );
    expect(parsed.machine).toMatch(/^\d+ × .*, Node v\d+/);
    const file = parseBench(parsed, 'bench.json');
    expect(E.isRight(file) ? file.right.command : file.left.message).toBe(parsed.command);
    const rows = parsed.measurements;
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ variant: 18, imageSize: 8, batchSize: 2, backend: 'cpu', vsPytorch: null });
    expect(rows[0]?.['examplesPerSec']).toBeGreaterThan(0);
  });

  test('--rounds=2 measures every row twice and reports the median with each round (a tiny real measurement on pure-JS cpu)', () => {
    const { code, stdout, stderr } = run(...TINY, '--backends=cpu', '--pytorch=false', '--rounds=2', '--format=json');
    expect({ code, stderr: code === 0 ? '' : stderr }).toEqual({ code: 0, stderr: '' });
    const rows = (JSON.parse(stdout) as { measurements: { examplesPerSec: number; rounds: number; roundExamplesPerSec: number[] }[] })
      .measurements;
    expect(rows).toHaveLength(1);
    const [row] = rows;
    expect([row?.rounds, row?.roundExamplesPerSec.length]).toEqual([2, 2]);
    const [a, b] = row?.roundExamplesPerSec ?? [];
    expect(row?.examplesPerSec).toBeCloseTo(((a ?? NaN) + (b ?? NaN)) / 2, 9);
  });

  test('--mode=infer measures the inference pass (a tiny real measurement on pure-JS cpu)', () => {
    const { code, stdout, stderr } = run('--mode=infer', ...TINY, '--backends=cpu', '--pytorch=false', '--format=json');
    expect({ code, stderr: code === 0 ? '' : stderr }).toEqual({ code: 0, stderr: '' });
    const rows = (JSON.parse(stdout) as { measurements: Record<string, unknown>[] }).measurements;
    expect(rows.map((r) => [r['mode'], r['batchSize']])).toEqual([['infer', 2]]);
  });

  test('an unavailable backend is a notice; nothing measurable at all exits 1', () => {
    const { code, stdout, stderr } = run(...TINY, '--backends=wasm', '--pytorch=false');
    expect(code).toBe(1);
    expect(stdout).toBe('');
    expect(stderr).toContain('wasm: not measured');
    expect(stderr).toContain('no tfjs backend could be measured');
  });
});
