/**
 * Synthetic run directories for tests (this lib's and its users'): config.json as
 * train:serve writes it (default protocol) and a few epochs of metrics.jsonl. Import it as
 * `@resnet/results/testing`, from tests only.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as E from 'fp-ts/Either';
import { parseRunConfig, type EpochMetrics } from '@resnet/training';
import type { LoadedRun } from './load.ts';

/** A fresh temporary directory. */
export function tempDir(prefix = 'report-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** config.json of a default-protocol run of `variant`, with `overrides` on top. */
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

/** `epochs` epochs of plausible metrics; epoch e has loss 1/e, train acc 0.70 + e/100, test acc 0.68 + e/100, 40 ex/s, 1500 s. */
export function epochs(count: number): readonly Record<string, number>[] {
  return Array.from({ length: count }, (_, i) => {
    const e = i + 1;
    return { epoch: e, loss: 1 / e, trainAcc: (70 + e) / 100, testAcc: (68 + e) / 100, examplesPerSec: 38 + e, lr: 0.1 / e, seconds: 1500 };
  });
}

/** Writes a run directory; `metrics: null` writes no metrics.jsonl. */
export function writeRun(dir: string, config: Record<string, unknown> | string, metrics: readonly Record<string, unknown>[] | string | null): string {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'config.json'), typeof config === 'string' ? config : `${JSON.stringify(config, null, 2)}\n`);
  if (metrics !== null) writeFileSync(join(dir, 'metrics.jsonl'), typeof metrics === 'string' ? metrics : metrics.map((m) => `${JSON.stringify(m)}\n`).join(''));
  return dir;
}

/** A run as loadRun returns it, without touching the disk. */
export function memoryRun(dir: string, variant: number, options: { readonly overrides?: Record<string, unknown>; readonly epochs?: number } = {}): LoadedRun {
  const config = parseRunConfig(runConfig(variant, options.overrides), `${dir}/config.json`);
  if (E.isLeft(config)) throw new Error(config.left);
  return { dir, config: config.right, metrics: epochs(options.epochs ?? 3) as unknown as readonly EpochMetrics[] };
}
