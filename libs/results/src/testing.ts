/**
 * Synthetic run directories for tests (this lib's and its users'): config.json as
 * train:serve writes it (default protocol) and a few epochs of metrics.jsonl. Import it as
 * `@resnet/results/testing`, from tests only.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as E from 'fp-ts/Either';
import { PROTOCOLS } from '@resnet/recipe';
import { evaluationFile, parseRunConfig, writeEvaluation, type EpochMetrics, type EvaluationFile } from '@resnet/run-dir';
import type { LoadedRun } from './load.ts';

/** A fresh temporary directory. */
export function tempDir(prefix = 'report-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** config.json of a default-protocol run of `variant` as train:serve writes it (the protocol's clipping), with `overrides` on top. */
export function runConfig(variant: number, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    format: 'resnet-ts/run@1',
    protocol: 'default',
    variant,
    version: 'v1.5',
    stem: 'imagenet',
    epochs: 10,
    batchSize: 128,
    schedule: { _tag: 'Cosine', lr: 0.1, warmupEpochs: 1, floor: 0 },
    momentum: 0.9,
    nesterov: true,
    weightDecay: 0.0005,
    labelSmoothing: 0,
    // The protocol's own clipping, as train:serve writes it unless --clip-norm is given.
    clipNorm: PROTOCOLS[overrides['protocol'] === 'seed' ? 'seed' : 'default'].clipNorm,
    imageSize: 28,
    augment: { crop: true, flip: true },
    zeroInitResidual: true,
    trainLimit: null,
    testLimit: null,
    seed: 0,
    classes: 10,
    createdAt: '2026-11-28T05:49:03.368Z',
    backend: { name: 'onednn', device: 'cpu (2 threads, oneDNN 2.6.3, avx2)', tfjsVersion: '4.22.0', node: 'v20.20.2' },
    machine: { cpus: 2, cpuModel: 'AMD EPYC', memoryGiB: 24, platform: 'linux-x64' },
    dataSource: '/usr/share/datasets/fashion-mnist',
    command: `train:serve --variant=${variant} --epochs=10 --out=runs/report/resnet${variant}`,
    ...overrides,
  };
}

/** config.json of a PyTorch reference run of `variant` as tools/torch_reference.py writes it, with `overrides` on top. */
export function referenceConfig(variant: number, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return runConfig(variant, {
    createdAt: '2026-11-29T10:00:00.000Z',
    backend: { name: 'pytorch', device: 'cpu (2 threads, torch 1.13.0a0)' },
    command: `/usr/bin/python3 tools/torch_reference.py --variant ${variant} --out runs/report/pytorch-resnet${variant}`,
    reference: { framework: 'pytorch', version: '1.13.0a0', script: 'tools/torch_reference.py' },
    ...overrides,
  });
}

/**
 * A 10-class confusion matrix of 100 images per class: `right[i]` of class i predicted right,
 * the rest as class i + 1 (mod 10).
 * @example confusionMatrix([90, 80, …])[0] // [90, 10, 0, …]
 */
export function confusionMatrix(right: readonly number[]): number[][] {
  return right.map((r, i) => Array.from({ length: right.length }, (_, j) => (j === i ? r : j === (i + 1) % right.length ? 100 - r : 0)));
}

/** The evaluation.json of a run's final model with `confusion`, as train:evaluate --json writes it. */
export function evaluationOf(config: Record<string, unknown>, confusion: readonly (readonly number[])[], epoch = 3): EvaluationFile {
  return evaluationFile({
    config: { variant: config['variant'] as number, createdAt: config['createdAt'] as string },
    weights: { _tag: 'Final', epoch },
    confusion,
    command: `npx nx run train:evaluate --run=runs/resnet${String(config['variant'])} --json=runs/resnet${String(config['variant'])}/evaluation.json`,
  });
}

/** Writes `evaluation` as the run's evaluation.json. */
export function writeRunEvaluation(dir: string, evaluation: EvaluationFile): void {
  writeEvaluation(join(dir, 'evaluation.json'), evaluation);
}

/** `epochs` epochs of plausible metrics; epoch e has loss 1/e, train acc 0.70 + e/100, test acc 0.68 + e/100, 40 ex/s, 1500 s. */
export function epochs(count: number): readonly Record<string, number>[] {
  return Array.from({ length: count }, (_, i) => {
    const e = i + 1;
    return { epoch: e, loss: 1 / e, trainAcc: (70 + e) / 100, testAcc: (68 + e) / 100, examplesPerSec: 38 + e, lr: 0.1 / e, seconds: 1500 };
  });
}

/** Writes a run directory; `metrics: null` writes no metrics.jsonl. */
export function writeRun(
  dir: string,
  config: Record<string, unknown> | string,
  metrics: readonly Record<string, unknown>[] | string | null,
): string {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'config.json'), typeof config === 'string' ? config : `${JSON.stringify(config, null, 2)}\n`);
  if (metrics !== null)
    writeFileSync(
      join(dir, 'metrics.jsonl'),
      typeof metrics === 'string' ? metrics : metrics.map((m) => `${JSON.stringify(m)}\n`).join(''),
    );
  return dir;
}

/**
 * A run as loadRun returns it, without touching the disk: ours, or with `reference` a PyTorch
 * reference run; with `confusion`, its evaluation.json holds that matrix.
 */
export function memoryRun(
  dir: string,
  variant: number,
  options: {
    readonly overrides?: Record<string, unknown>;
    readonly epochs?: number;
    readonly reference?: boolean;
    readonly confusion?: readonly (readonly number[])[];
  } = {},
): LoadedRun {
  const raw = options.reference === true ? referenceConfig(variant, options.overrides) : runConfig(variant, options.overrides);
  const config = parseRunConfig(raw, `${dir}/config.json`);
  if (E.isLeft(config)) throw new Error(config.left);
  const count = options.epochs ?? 3;
  return {
    dir,
    config: config.right,
    metrics: epochs(count) as unknown as readonly EpochMetrics[],
    evaluation: options.confusion === undefined ? null : evaluationOf(raw, options.confusion, count),
  };
}
