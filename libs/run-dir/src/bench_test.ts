import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as E from 'fp-ts/Either';
import { parseBench, readBenches } from './bench.ts';

const made: string[] = [];
const tempDir = (): string => {
  const dir = mkdtempSync(join(tmpdir(), 'bench-'));
  made.push(dir);
  return dir;
};
afterAll(() => made.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

// Two rows of `npx nx run bench:serve --variants=18 --image-size=28 --format=json` (README, Speed).
const MEASUREMENTS = [
  {
    mode: 'train',
    variant: 18,
    imageSize: 28,
    batchSize: 128,
    backend: 'pytorch',
    device: 'cpu (2 threads, torch 1.13.0a0)',
    examplesPerSec: 153.9,
    medianStepMs: 832,
    steps: 10,
    warmup: 2,
    fused: null,
    precision: 'fp32',
    vsPytorch: 1,
    vsPytorchBf16: null,
    peakRssBytes: null,
    peakTensorBytes: null,
    memoryVsPytorch: null,
    estimatedRssBytes: null,
    vsOwnFp32: null,
    rounds: 1,
    roundExamplesPerSec: [] as number[],
  },
  {
    mode: 'train',
    variant: 18,
    imageSize: 28,
    batchSize: 128,
    backend: 'onednn',
    device: 'cpu (2 threads, oneDNN 2.6.3, avx2)',
    examplesPerSec: 226.4,
    medianStepMs: 565,
    steps: 10,
    warmup: 2,
    fused: true,
    precision: 'fp32',
    vsPytorch: 1.471,
    vsPytorchBf16: null,
    peakRssBytes: null,
    peakTensorBytes: null,
    memoryVsPytorch: null,
    estimatedRssBytes: null,
    vsOwnFp32: null,
    rounds: 1,
    roundExamplesPerSec: [] as number[],
  },
];

describe('bench.json', () => {
  test('bench:serve --format=json output (an array) is read, with machine and command not recorded', () => {
    expect(parseBench(MEASUREMENTS, 'r/bench.json')).toEqual(
      E.right({ path: 'r/bench.json', measurements: MEASUREMENTS, machine: null, command: null }),
    );
  });

  test('rows without a mode, precision, bf16 ratios or rounds (bench:serve before those) are fp32 training steps of one round; an unknown mode is refused', () => {
    const old = MEASUREMENTS.map(
      ({
        mode: _mode,
        precision: _precision,
        vsPytorchBf16: _bf16,
        peakRssBytes: _rss,
        peakTensorBytes: _tensors,
        memoryVsPytorch: _memory,
        estimatedRssBytes: _estimate,
        vsOwnFp32: _own,
        rounds: _rounds,
        roundExamplesPerSec: _perRound,
        ...rest
      }) => rest,
    );
    expect(parseBench(old, 'r/bench.json')).toEqual(
      E.right({ path: 'r/bench.json', measurements: MEASUREMENTS, machine: null, command: null }),
    );
    const infer = parseBench([{ ...MEASUREMENTS[1], mode: 'infer', batchSize: 256 }], 'r/bench.json');
    expect(E.isRight(infer) && infer.right.measurements[0]?.mode).toBe('infer');
    expect(parseBench([{ ...MEASUREMENTS[1], mode: 'eval' }], 'r/bench.json')).toMatchObject(
      E.left({ message: 'r/bench.json: measurement 1: "mode" must be one of "train", "infer", got "eval"' }),
    );
  });

  test('bf16 rows keep their precision and their ratio to PyTorch bf16 autocast; another precision is refused', () => {
    const bf16 = { ...MEASUREMENTS[1], precision: 'bf16', examplesPerSec: 320.1, vsPytorch: 2.08, vsPytorchBf16: 2.5 };
    expect(parseBench([bf16], 'r/bench.json')).toMatchObject(E.right({ measurements: [bf16] }));
    expect(parseBench([{ ...bf16, precision: 'fp16' }], 'r/bench.json')).toMatchObject(
      E.left({ message: 'r/bench.json: measurement 1: "precision" must be one of "fp32", "bf16", got "fp16"' }),
    );
    expect(parseBench([{ ...bf16, vsPytorchBf16: 'x' }], 'r/bench.json')).toMatchObject(
      E.left({ message: expect.stringContaining('"vsPytorchBf16"') as unknown }),
    );
  });

  test('rows keep their peak memory and its ratio to PyTorch’s; a figure that is not a number is refused', () => {
    const measured = { ...MEASUREMENTS[1], peakRssBytes: 5.1e8, peakTensorBytes: 2.2e8, memoryVsPytorch: 1.18 };
    expect(parseBench([measured], 'r/bench.json')).toMatchObject(E.right({ measurements: [measured] }));
    expect(parseBench([{ ...measured, peakRssBytes: '0.5 GB' }], 'r/bench.json')).toMatchObject(
      E.left({ message: 'r/bench.json: measurement 1: "peakRssBytes" must be a number or null, got "0.5 GB"' }),
    );
  });

  test('rows measured over rounds keep the rounds, each round’s examples/s and the ratio to their own fp32; a bad count is refused', () => {
    const rounds = {
      ...MEASUREMENTS[1],
      precision: 'bf16',
      vsOwnFp32: 1.26,
      rounds: 5,
      roundExamplesPerSec: [1790.5, 1858.8, 1723.2, 1917.9, 2063.2],
    };
    expect(parseBench([rounds], 'r/bench.json')).toMatchObject(E.right({ measurements: [rounds] }));
    expect(parseBench([{ ...rounds, rounds: 0 }], 'r/bench.json')).toMatchObject(
      E.left({ message: expect.stringContaining('"rounds" must be an integer ≥ 1') as unknown }),
    );
  });

  test('an object form also states the machine and the command', () => {
    const file = {
      machine: '2 × AMD EPYC',
      command: 'npx nx run bench:serve --variants=18 --format=json --out=r/bench.json',
      measurements: MEASUREMENTS,
    };
    expect(parseBench(file, 'r/bench.json')).toEqual(E.right({ path: 'r/bench.json', ...file }));
  });

  test.each([
    ['an empty array', [], 'r/bench.json: expected bench:serve --format=json output'],
    [
      'a row without a speed',
      [{ ...MEASUREMENTS[0], examplesPerSec: 'fast' }],
      'r/bench.json: measurement 1: "examplesPerSec" must be a number, got "fast"',
    ],
    [
      'a row without a device',
      [MEASUREMENTS[0], { ...MEASUREMENTS[1], device: undefined }],
      'r/bench.json: measurement 2: "device" must be a string, got nothing',
    ],
    ['a ratio that is not a number or null', [{ ...MEASUREMENTS[1], vsPytorch: '1.4' }], 'measurement 1: "vsPytorch"'],
    ['a machine that is not text', { machine: 2, measurements: MEASUREMENTS }, 'r/bench.json: "machine" must be a string'],
  ])('%s is refused, naming the file and what is wrong', (_name, value, message) => {
    const r = parseBench(value, 'r/bench.json');
    expect(r).toMatchObject(E.left({ _tag: 'BadBench', file: 'r/bench.json', message: expect.stringContaining(message) as unknown }));
  });

  test('each folder’s bench.json is found; folders without one give nothing; bad JSON is named', () => {
    const root = tempDir();
    mkdirSync(join(root, 'a'));
    mkdirSync(join(root, 'b'));
    writeFileSync(join(root, 'a', 'bench.json'), JSON.stringify(MEASUREMENTS));
    expect(readBenches([join(root, 'a'), join(root, 'b'), join(root, 'a')])).toMatchObject(
      E.right([{ path: join(root, 'a', 'bench.json'), measurements: MEASUREMENTS }]),
    );
    writeFileSync(join(root, 'b', 'bench.json'), '[{');
    expect(readBenches([join(root, 'b')])).toMatchObject(
      E.left({
        _tag: 'BadBench',
        file: join(root, 'b', 'bench.json'),
        message: expect.stringContaining(`${join(root, 'b', 'bench.json')}: not valid JSON`) as unknown,
      }),
    );
  });
});
