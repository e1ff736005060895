/**
 * A committed benchmark beside the runs: `<runs folder>/bench.json`, the output of
 * `npx nx run bench:serve --format=json --out=<runs folder>/bench.json`, read and checked so the
 * report can show a speed table measured apart from the training runs (whose epoch times may
 * have shared the cores). bench:serve writes a JSON array of measurements (apps/bench
 * render.ts `Measurement`); a file may instead be an object `{ "machine": "…", "command": "…",
 * "measurements": [ … ] }` that also says where and how it was measured.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as t from 'io-ts';
import * as E from 'fp-ts/Either';
import { PRECISIONS } from '@resnet/recipe';
import { decode, describeFailure, finite, int, named, oneOf, withDefault } from './codec.ts';

/** The file's name in a runs folder. */
export const BENCH_FILE = 'bench.json';

/** What bench:serve timed: whole SGD steps, or the test pass (inference-mode forward + argmax). */
export const BENCH_MODES = ['train', 'infer'] as const;
export type BenchMode = (typeof BENCH_MODES)[number];

const numberOrNull = withDefault(named(t.union([finite, t.null]), 'a number or null'), null);

/** One measurement of bench:serve (apps/bench render.ts writes it). */
export const BenchMeasurementCodec = t.type(
  {
    /** `train` when the file predates bench:serve's `mode` (it timed only training steps then). */
    mode: withDefault(oneOf(BENCH_MODES), 'train'),
    variant: finite,
    imageSize: finite,
    batchSize: finite,
    /** `pytorch` for the baseline, else the tfjs backend. */
    backend: named(t.string, 'a string'),
    /** Device with threads, library version and ISA, e.g. `cpu (2 threads, oneDNN 2.6.3, avx2)`. */
    device: named(t.string, 'a string'),
    examplesPerSec: finite,
    medianStepMs: finite,
    steps: finite,
    warmup: finite,
    fused: named(t.union([t.boolean, t.null]), 'true, false or null'),
    /** What the convolutions computed in; PyTorch's `bf16` is torch.autocast. `fp32` in files that predate it. */
    precision: withDefault(oneOf(PRECISIONS), 'fp32'),
    /** examples/s over PyTorch fp32's of the same configuration (null without that row). */
    vsPytorch: named(t.union([finite, t.null]), 'a number or null'),
    /** examples/s over PyTorch bf16 autocast's of the same configuration (null without that row). */
    vsPytorchBf16: numberOrNull,
    /**
     * The process's resident-memory high-water mark over the measurement (warm-up included),
     * bytes: Linux's `VmHWM` for tfjs, `ru_maxrss` of its own process for PyTorch. Null in files
     * that predate it or where the OS does not say.
     */
    peakRssBytes: numberOrNull,
    /** tfjs's own count of tensor bytes at the step's peak (null for PyTorch and in older files). */
    peakTensorBytes: numberOrNull,
    /** peakRssBytes over PyTorch fp32's of the same configuration (null without both). */
    memoryVsPytorch: numberOrNull,
    /** The peak `estimateStepMemory` predicted from the spec before the row ran (tfjs training rows; else null). */
    estimatedRssBytes: numberOrNull,
    /**
     * A bf16 row's examples/s over the fp32 row of the same backend and configuration (PyTorch's autocast over its
     * fp32 too); null for fp32 rows, without that row, and in files that predate it.
     */
    vsOwnFp32: numberOrNull,
    /**
     * Rounds measured (`bench:serve --rounds`, every configuration's rows once per round, in turn): examplesPerSec and
     * medianStepMs are then medians over the rounds, peak memory the largest, and each ratio the median of the ratios
     * within each round. 1 in files that predate it.
     */
    rounds: withDefault(int(1), 1),
    /** examples/s in each round, in order (empty in files that predate it). */
    roundExamplesPerSec: withDefault(named(t.array(finite), 'a list of numbers'), []),
  },
  'a measurement object',
);
export type BenchMeasurement = Readonly<t.TypeOf<typeof BenchMeasurementCodec>>;

const measurements = named(t.array(BenchMeasurementCodec), 'a list of measurements');
const BenchObjectCodec = t.type({
  machine: withDefault(named(t.union([t.string, t.null]), 'a string'), null),
  command: withDefault(named(t.union([t.string, t.null]), 'a string'), null),
  measurements,
});

/** A bench.json, checked. */
export interface BenchFile {
  readonly path: string;
  readonly measurements: readonly BenchMeasurement[];
  /** Where it was measured, when the file says. */
  readonly machine: string | null;
  /** The command that measured it, when the file says. */
  readonly command: string | null;
}

/** Why a bench.json cannot be used; `message` says what and where (the app adds the way out). */
export interface BenchError {
  readonly _tag: 'BadBench';
  readonly file: string;
  readonly reason: string;
  readonly message: string;
}

function badBench(file: string, reason: string): E.Either<BenchError, never> {
  return E.left({ _tag: 'BadBench', file, reason, message: `${file}: ${reason}` });
}

/**
 * Checks a parsed bench.json; `path` names the file in errors.
 * @example parseBench([{ variant: 18, imageSize: 28, batchSize: 128, backend: 'onednn', … }], 'runs/bench.json') // Right({ measurements: [...], machine: null, command: null })
 */
export function parseBench(value: unknown, path: string): E.Either<BenchError, BenchFile> {
  const wrapped = typeof value === 'object' && value !== null && !Array.isArray(value);
  const list = wrapped ? (value as { measurements?: unknown }).measurements : value;
  if (!Array.isArray(list) || list.length === 0) {
    return badBench(
      path,
      'expected bench:serve --format=json output (a non-empty array of measurements, or { "machine", "command", "measurements" })',
    );
  }
  const file = wrapped
    ? decode(BenchObjectCodec, value)
    : E.map((m: BenchMeasurement[]) => ({ machine: null, command: null, measurements: m }))(decode(measurements, value));
  if (E.isLeft(file)) {
    // A measurement's field is named with the measurement's place in the list.
    const items = decode(measurements, list);
    if (E.isLeft(items) && items.left.field !== '(the whole file)') {
      const at = Number(items.left.field);
      const inner = decode(BenchMeasurementCodec, list[at], '(the whole measurement)');
      if (E.isLeft(inner)) return badBench(path, `measurement ${at + 1}: ${describeFailure(inner.left)}`);
    }
    return badBench(path, describeFailure(file.left));
  }
  return E.right({ path, ...file.right });
}

/**
 * The bench.json of each folder that has one, in the order given.
 * @example readBenches(['docs/results']) // Right([{ path: 'docs/results/bench.json', … }]) or Right([])
 */
export function readBenches(folders: readonly string[]): E.Either<BenchError, readonly BenchFile[]> {
  const found: BenchFile[] = [];
  for (const folder of [...new Set(folders)]) {
    const path = join(folder, BENCH_FILE);
    if (!existsSync(path)) continue;
    let json: unknown;
    try {
      json = JSON.parse(readFileSync(path, 'utf8'));
    } catch (e) {
      return badBench(path, `not valid JSON (${(e as Error).message})`);
    }
    const bench = parseBench(json, path);
    if (E.isLeft(bench)) return bench;
    found.push(bench.right);
  }
  return E.right(found);
}
