/**
 * The PyTorch baseline: runs tools/bench_torch.py (Debian's python3-torch) in a child
 * process, one configuration at a time, between the tfjs measurements of the same run.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { BenchConfig } from './plan.ts';

/** Debian's interpreter, where `apt-get install python3-torch` puts torch; else `python3` on PATH. */
export function defaultPython(): string {
  return existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
}

/** tools/bench_torch.py in this repository. */
export function torchScript(): string {
  const root = typeof __dirname === 'string' ? resolve(__dirname, '../../..') : process.cwd();
  return resolve(root, 'tools', 'bench_torch.py');
}

/** What the script measured, or why there is no baseline (a notice, not an error). */
export type TorchOutcome =
  | {
      readonly ok: true;
      readonly examplesPerSec: number;
      readonly medianStepMs: number;
      readonly device: string;
      readonly peakRssBytes: number | null;
    }
  | { readonly ok: false; readonly notice: string };

const FIX = 'Fix: apt-get install -y python3-torch (Debian), or pass --python=/path/to/python3 with torch, or --pytorch=false';

/**
 * Measures `config` with PyTorch (`precision` bf16: its forward and loss under torch.autocast).
 * @example runTorch('/usr/bin/python3', torchScript(), { mode: 'train', variant: 18, imageSize: 28, batchSize: 128 }, { steps: 10, warmup: 2 })
 */
export function runTorch(
  python: string,
  script: string,
  config: BenchConfig,
  timing: { readonly steps: number; readonly warmup: number; readonly timeoutMs?: number; readonly precision?: 'fp32' | 'bf16' },
): TorchOutcome {
  const args = [
    script,
    '--mode',
    config.mode,
    '--variant',
    `${config.variant}`,
    '--image-size',
    `${config.imageSize}`,
    '--batch-size',
    `${config.batchSize}`,
    '--steps',
    `${timing.steps}`,
    '--warmup',
    `${timing.warmup}`,
    '--precision',
    timing.precision ?? 'fp32',
  ];
  const r = spawnSync(python, args, { encoding: 'utf8', timeout: timing.timeoutMs ?? 3_600_000 });
  if (r.error !== undefined) {
    const code = (r.error as NodeJS.ErrnoException).code;
    return {
      ok: false,
      notice: code === 'ENOENT' ? `PyTorch baseline skipped: ${python} not found. ${FIX}` : `PyTorch baseline failed: ${r.error.message}`,
    };
  }
  const last = r.stdout.trim().split('\n').pop() ?? '';
  let parsed: unknown;
  try {
    parsed = JSON.parse(last);
  } catch {
    const why = (r.stderr.trim().split('\n').pop() ?? '') || `exit code ${String(r.status)}`;
    return {
      ok: false,
      notice: `PyTorch baseline failed for ResNet-${config.variant} ${config.imageSize}px batch ${config.batchSize} (${config.mode}): ${why}`,
    };
  }
  const o = parsed as { error?: unknown; examplesPerSec?: unknown; medianStepMs?: unknown; device?: unknown; peakRssBytes?: unknown };
  if (typeof o.error === 'string') return { ok: false, notice: `PyTorch baseline skipped: ${o.error}` };
  if (r.status !== 0 || typeof o.examplesPerSec !== 'number' || typeof o.medianStepMs !== 'number') {
    return { ok: false, notice: `PyTorch baseline gave no measurement (exit code ${String(r.status)}): ${last.slice(0, 200)}` };
  }
  return {
    ok: true,
    examplesPerSec: o.examplesPerSec,
    medianStepMs: o.medianStepMs,
    device: typeof o.device === 'string' ? o.device : 'cpu',
    peakRssBytes: typeof o.peakRssBytes === 'number' && o.peakRssBytes > 0 ? o.peakRssBytes : null,
  };
}
