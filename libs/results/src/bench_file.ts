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
import * as E from 'fp-ts/Either';

/** The file's name in a runs folder. */
export const BENCH_FILE = 'bench.json';

/** What bench:serve timed: whole SGD steps, or the test pass (inference-mode forward + argmax). */
export type BenchMode = 'train' | 'infer';

/** One measurement of bench:serve. */
export interface BenchMeasurement {
  /** `train` when the file predates bench:serve's `mode` (it timed only training steps then). */
  readonly mode: BenchMode;
  readonly variant: number;
  readonly imageSize: number;
  readonly batchSize: number;
  /** `pytorch` for the baseline, else the tfjs backend. */
  readonly backend: string;
  /** Device with threads, library version and ISA, e.g. `cpu (2 threads, oneDNN 2.6.3, avx2)`. */
  readonly device: string;
  readonly examplesPerSec: number;
  readonly medianStepMs: number;
  readonly steps: number;
  readonly warmup: number;
  readonly fused: boolean | null;
  /** What the convolutions computed in; PyTorch's `bf16` is torch.autocast. `fp32` in files that predate it. */
  readonly precision: 'fp32' | 'bf16';
  /** examples/s over PyTorch fp32's of the same configuration (null without that row). */
  readonly vsPytorch: number | null;
  /** examples/s over PyTorch bf16 autocast's of the same configuration (null without that row). */
  readonly vsPytorchBf16: number | null;
  /**
   * The process's resident-memory high-water mark over the measurement (warm-up included),
   * bytes: Linux's `VmHWM` for tfjs, `ru_maxrss` of its own process for PyTorch. Null in files
   * that predate it or where the OS does not say.
   */
  readonly peakRssBytes: number | null;
  /** tfjs's own count of tensor bytes at the step's peak (null for PyTorch and in older files). */
  readonly peakTensorBytes: number | null;
  /** peakRssBytes over PyTorch fp32's of the same configuration (null without both). */
  readonly memoryVsPytorch: number | null;
  /** The peak `estimateStepMemory` predicted from the spec before the row ran (tfjs training rows; else null). */
  readonly estimatedRssBytes: number | null;
}

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

function orNull(value: unknown): number | null {
  return typeof value === 'number' ? value : null;
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
  const w = (wrapped ? value : {}) as Record<string, unknown>;
  const list = wrapped ? w['measurements'] : value;
  if (!Array.isArray(list) || list.length === 0) return badBench(path, 'expected bench:serve --format=json output (a non-empty array of measurements, or { "machine", "command", "measurements" })');
  for (const field of ['machine', 'command']) {
    if (wrapped && w[field] !== undefined && w[field] !== null && typeof w[field] !== 'string') return badBench(path, `"${field}" must be a string`);
  }
  const out: BenchMeasurement[] = [];
  for (const [i, item] of list.entries()) {
    const m = (typeof item === 'object' && item !== null ? item : {}) as Record<string, unknown>;
    const missing =
      ['variant', 'imageSize', 'batchSize', 'examplesPerSec', 'medianStepMs', 'steps', 'warmup'].find((k) => typeof m[k] !== 'number' || !Number.isFinite(m[k])) ??
      ['backend', 'device'].find((k) => typeof m[k] !== 'string') ??
      (m['fused'] === null || typeof m['fused'] === 'boolean' ? undefined : 'fused') ??
      (m['vsPytorch'] === null || (typeof m['vsPytorch'] === 'number' && Number.isFinite(m['vsPytorch'])) ? undefined : 'vsPytorch') ??
      (m['vsPytorchBf16'] === undefined || m['vsPytorchBf16'] === null || (typeof m['vsPytorchBf16'] === 'number' && Number.isFinite(m['vsPytorchBf16'])) ? undefined : 'vsPytorchBf16') ??
      ['peakRssBytes', 'peakTensorBytes', 'memoryVsPytorch', 'estimatedRssBytes'].find((k) => !(m[k] === undefined || m[k] === null || (typeof m[k] === 'number' && Number.isFinite(m[k])))) ??
      (m['precision'] === undefined || m['precision'] === 'fp32' || m['precision'] === 'bf16' ? undefined : 'precision') ??
      (m['mode'] === undefined || m['mode'] === 'train' || m['mode'] === 'infer' ? undefined : 'mode');
    if (missing !== undefined) return badBench(path, `measurement ${i + 1}: "${missing}" is missing or of the wrong type (got ${JSON.stringify(m[missing]) ?? 'nothing'})`);
    const pick = m as unknown as BenchMeasurement;
    out.push({
      mode: m['mode'] === 'infer' ? 'infer' : 'train',
      variant: pick.variant, imageSize: pick.imageSize, batchSize: pick.batchSize, backend: pick.backend, device: pick.device, examplesPerSec: pick.examplesPerSec,
      medianStepMs: pick.medianStepMs, steps: pick.steps, warmup: pick.warmup, fused: pick.fused, precision: m['precision'] === 'bf16' ? 'bf16' : 'fp32',
      vsPytorch: pick.vsPytorch, vsPytorchBf16: typeof m['vsPytorchBf16'] === 'number' ? m['vsPytorchBf16'] : null,
      peakRssBytes: orNull(m['peakRssBytes']), peakTensorBytes: orNull(m['peakTensorBytes']), memoryVsPytorch: orNull(m['memoryVsPytorch']), estimatedRssBytes: orNull(m['estimatedRssBytes']),
    });
  }
  return E.right({ path, measurements: out, machine: typeof w['machine'] === 'string' ? w['machine'] : null, command: typeof w['command'] === 'string' ? w['command'] : null });
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
