// Measures where bf16 pays, per convolution shape and direction: whole training steps of the
// bench's networks with every kernel timed per input shape (bench:serve's --profile-shapes
// timer), once with every convolution and matmul in fp32 and once in bf16 (`bf16-everywhere`,
// which ignores the per-primitive rule), alternating, best of --rounds per shape. Prints each
// convolution's fp32 and bf16 ms per step and their ratio, slowest first; the rule in
// native/conv.cc (Bf16Pays) and libs/onednn/README.md (Precision) come from this table.
//
//   TSX_TSCONFIG_PATH=tsconfig.base.json npx tsx tools/bench_precision.ts                          # R18, R34, R50 at 28 px b128; R18 at 96 px b64
//   TSX_TSCONFIG_PATH=tsconfig.base.json npx tsx tools/bench_precision.ts --configs 50@28x128 --rounds 3
//
// Needs a CPU with native bf16 (onednn's info().bf16); refuses otherwise.
import * as tf from '@tensorflow/tfjs';
import { configureOnednn, registerOnednn, type OnednnPrecision } from '../libs/onednn/src/mod.ts';
import { measureTfjs } from '../apps/bench/src/measure.ts';
import type { BenchConfig } from '../apps/bench/src/plan.ts';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(name);
  return i >= 0 ? (process.argv[i + 1] ?? fallback) : fallback;
}

function parseConfig(text: string): BenchConfig {
  const m = /^(\d+)@(\d+)x(\d+)$/.exec(text);
  if (m === null) throw new Error(`--configs: "${text}" is not VARIANT@SIZExBATCH (e.g. 18@28x128)`);
  return { mode: 'train', variant: Number(m[1]), imageSize: Number(m[2]), batchSize: Number(m[3]) };
}

async function main(): Promise<void> {
  const configs = arg('--configs', '18@28x128,34@28x128,50@28x128,18@96x64').split(',').map(parseConfig);
  const rounds = Number(arg('--rounds', '2'));
  const status = registerOnednn();
  if (!status.ok) throw new Error(status.reason);
  await tf.setBackend('onednn');
  if (!status.info.bf16) throw new Error(`no native bf16 on this CPU (oneDNN runs on ${status.info.isa})`);
  console.log(`oneDNN ${status.info.version} on ${status.info.isa}, ${status.info.threads} threads`);
  for (const config of configs) {
    const best = new Map<string, Record<string, number>>();
    const steps: Record<string, number[]> = {};
    for (let r = 0; r < rounds; r++) {
      for (const precision of ['fp32', 'bf16-everywhere'] as OnednnPrecision[]) {
        configureOnednn({ precision });
        const result = await measureTfjs(config, { steps: 6, warmup: 2, profile: true, profileShapes: true, fused: true });
        (steps[precision] ??= []).push(result.medianStepMs);
        for (const k of result.kernels ?? []) {
          const row = best.get(k.kernel) ?? {};
          row[precision] = Math.min(row[precision] ?? Infinity, k.msPerStep);
          best.set(k.kernel, row);
        }
      }
    }
    configureOnednn({ precision: 'fp32' });
    const step = (p: string): string => Math.min(...(steps[p] ?? [NaN])).toFixed(1);
    console.log(
      `\nResNet-${config.variant} ${config.imageSize}×${config.imageSize} b${config.batchSize}: step ${step('fp32')} ms fp32, ${step('bf16-everywhere')} ms bf16 (best of ${rounds})`,
    );
    console.log('  fp32 ms  bf16 ms  fp32/bf16  kernel');
    const rows = [...best]
      .filter(([k]) => k.startsWith('Conv2D') || k.includes('MatMul'))
      .sort(([, a], [, b]) => (b['fp32'] ?? 0) - (a['fp32'] ?? 0));
    for (const [kernel, t] of rows) {
      const f = t['fp32'] ?? NaN,
        b = t['bf16-everywhere'] ?? NaN;
      console.log(`  ${f.toFixed(2).padStart(7)}  ${b.toFixed(2).padStart(7)}  ${(f / b).toFixed(2).padStart(9)}  ${kernel}`);
    }
  }
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : String(e));
  process.exit(1);
});
