// Kernel micro-benchmark: Conv2D and its two gradients on ResNet-18-at-28×28 shapes,
// `cpu` (tfjs-backend-cpu, pure JS) vs `onednn`, measured in the same process.
//
//   TSX_TSCONFIG_PATH=tsconfig.base.json npx tsx tools/bench_kernels.ts                      # batch 128 on onednn, 2 on cpu
//   TSX_TSCONFIG_PATH=tsconfig.base.json npx tsx tools/bench_kernels.ts --layouts            # also compare oneDNN memory layouts
//   TSX_TSCONFIG_PATH=tsconfig.base.json npx tsx tools/bench_kernels.ts --batch 64 --cpu-batch 1 --seconds 2 --no-cpu --threads 1
//   TSX_TSCONFIG_PATH=tsconfig.base.json npx tsx tools/bench_kernels.ts --block              # also a whole residual-block training step
//
// The pure-JS cpu kernels need minutes per call at batch 128 (the filter gradient runs at
// ~0.01 GFLOP/s), so cpu runs a smaller batch; GFLOP/s is per-example work, so the ratio
// compares rates. Writes runs/bench_kernels.json.
// The umbrella package registers tfjs-core's gradients, which the --block step needs.
import * as tf from '@tensorflow/tfjs';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { configureOnednn, onednnPrimitives, registerOnednn, type ConvLayout } from '../libs/onednn/src/mod.ts';

interface Layer {
  readonly name: string;
  readonly size: number;
  readonly inC: number;
  readonly outC: number;
  readonly k: number;
  readonly stride: number;
}

// ResNet-18 with a 3×3 stride-1 stem on 28×28 (no max-pool): stages at 28, 14, 7, 4.
const LAYERS: readonly Layer[] = [
  { name: 'stem 3x3 1→64 @28', size: 28, inC: 1, outC: 64, k: 3, stride: 1 },
  { name: 'stage1 3x3 64→64 @28', size: 28, inC: 64, outC: 64, k: 3, stride: 1 },
  { name: 'stage2 3x3/2 64→128 @28', size: 28, inC: 64, outC: 128, k: 3, stride: 2 },
  { name: 'stage2 1x1/2 64→128 @28', size: 28, inC: 64, outC: 128, k: 1, stride: 2 },
  { name: 'stage2 3x3 128→128 @14', size: 14, inC: 128, outC: 128, k: 3, stride: 1 },
  { name: 'stage3 3x3 256→256 @7', size: 7, inC: 256, outC: 256, k: 3, stride: 1 },
  { name: 'stage4 3x3 512→512 @4', size: 4, inC: 512, outC: 512, k: 3, stride: 1 },
];

const KERNELS = ['Conv2D', 'Conv2DBackpropInput', 'Conv2DBackpropFilter'] as const;
type Kernel = (typeof KERNELS)[number];

function flag(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  const value = i >= 0 ? Number(process.argv[i + 1]) : fallback;
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} expects a positive number, got "${process.argv[i + 1]}"`);
  return value;
}

const batch = flag('--batch', 128);
const cpuBatch = flag('--cpu-batch', 2);
const seconds = flag('--seconds', 1);
const runCpu = !process.argv.includes('--no-cpu');
const layouts: ConvLayout[] = process.argv.includes('--layouts') ? ['plain', 'blocked-weights', 'blocked'] : [];
const threads = process.argv.includes('--threads') ? flag('--threads', 2) : undefined;
const block = process.argv.includes('--block');

function outSize(l: Layer): number {
  return Math.ceil(l.size / l.stride);
}

function gflop(l: Layer, n: number): number {
  return (2 * n * outSize(l) ** 2 * l.outC * l.k * l.k * l.inC) / 1e9;
}

// Inputs and attrs of one kernel call ('same' padding, as the ResNet convs use).
function call(kernel: Kernel, l: Layer, n: number): { inputs: Record<string, tf.Tensor>; attrs: tf.NamedAttrMap } {
  const o = outSize(l);
  const x = tf.randomUniform([n, l.size, l.size, l.inC], -1, 1);
  const filter = tf.randomUniform([l.k, l.k, l.inC, l.outC], -1, 1);
  const dy = tf.randomUniform([n, o, o, l.outC], -1, 1);
  const base = { strides: l.stride, pad: 'same', dataFormat: 'NHWC', dilations: 1 };
  switch (kernel) {
    case 'Conv2D':
      return { inputs: { x, filter }, attrs: base };
    case 'Conv2DBackpropInput':
      return { inputs: { dy, filter }, attrs: { ...base, inputShape: [n, l.size, l.size, l.inC] } };
    case 'Conv2DBackpropFilter':
      return { inputs: { x, dy }, attrs: { ...base, filterShape: [l.k, l.k, l.inC, l.outC] } };
  }
}

// Median seconds per call after one warm-up call (which builds oneDNN primitives).
function time(backend: string, kernel: Kernel, l: Layer, n: number, budget: number): number {
  tf.setBackend(backend);
  const { inputs, attrs } = call(kernel, l, n);
  const once = (): number => {
    const start = process.hrtime.bigint();
    const out = tf.engine().runKernel(kernel, inputs, attrs) as tf.Tensor;
    out.dataSync();
    const elapsed = Number(process.hrtime.bigint() - start) / 1e9;
    out.dispose();
    return elapsed;
  };
  const first = once();
  const samples: number[] = [];
  const deadline = Date.now() + budget * 1000;
  if (first > budget) samples.push(first);
  while (samples.length < 3 || (Date.now() < deadline && samples.length < 50)) {
    samples.push(once());
    if (first > budget) break;
  }
  Object.values(inputs).forEach((t) => t.dispose());
  samples.sort((a, b) => a - b);
  return samples[Math.floor(samples.length / 2)] ?? first;
}

// One training step of a ResNet basic block at 28×28×64 (conv-BN-ReLU, conv-BN, add, ReLU),
// forward and backward; returns examples per second.
function blockStep(backend: string, n: number): { examplesPerSecond: number } {
  tf.setBackend(backend);
  const x = tf.randomNormal([n, 28, 28, 64]) as tf.Tensor4D;
  const weights = [0, 1].map(() => tf.variable(tf.randomNormal([3, 3, 64, 64], 0, 0.05)) as tf.Variable<tf.Rank.R4>);
  const gammas = [0, 1].map(() => tf.variable(tf.ones([64])) as tf.Variable<tf.Rank.R1>);
  const betas = [0, 1].map(() => tf.variable(tf.zeros([64])) as tf.Variable<tf.Rank.R1>);
  const unit = (h: tf.Tensor4D, i: number): tf.Tensor4D => {
    const c = tf.conv2d(h, weights[i] as tf.Tensor4D, 1, 'same');
    const { mean, variance } = tf.moments(c, [0, 1, 2]);
    return tf.batchNorm(c, mean, variance, betas[i], gammas[i], 1e-5) as tf.Tensor4D;
  };
  const loss = (): tf.Scalar => tf.mean(tf.relu(tf.add(unit(tf.relu(unit(x, 0)), 1), x)));
  const step = (): void => tf.tidy(() => Object.values(tf.variableGrads(loss).grads).forEach((g) => g.dataSync()));
  step();
  const reps = backend === 'cpu' ? 1 : 3;
  const start = process.hrtime.bigint();
  for (let i = 0; i < reps; i++) step();
  const seconds = Number(process.hrtime.bigint() - start) / 1e9 / reps;
  tf.dispose([x, ...weights, ...gammas, ...betas]);
  return { examplesPerSecond: n / seconds };
}

function pad(s: string, n: number): string {
  return s.length >= n ? s : s + ' '.repeat(n - s.length);
}

function main(): void {
  const status = registerOnednn();
  if (!status.ok) {
    console.error(`onednn unavailable: ${status.reason}`);
    process.exit(1);
  }
  if (threads !== undefined) configureOnednn({ threads });
  const info = { ...status.info, threads: threads ?? status.info.threads };
  console.log(
    `machine: ${cpus()[0]?.model ?? 'unknown'} ×${cpus().length}, node ${process.version}; oneDNN ${info.version} (${info.cpuRuntime}, ${info.threads} threads, ${info.isa})`,
  );
  // Other processes skew timings (OpenMP threads wait for the slowest core): say so.
  const load = (): string => loadavg()[0]?.toFixed(2) ?? '?';
  console.log(`load average before: ${load()} (an idle machine is near 0)`);
  console.log(`onednn batch ${batch}${runCpu ? `, cpu batch ${cpuBatch}` : ''}, ~${seconds}s per measurement\n`);
  const columns = [
    'layer',
    'kernel',
    ...(runCpu ? ['cpu GF/s'] : []),
    'onednn GF/s',
    ...(runCpu ? ['ratio'] : []),
    'onednn ms',
    ...layouts.map((l) => `${l} GF/s`),
  ];
  const widths = [26, 22, 10, 12, 8, 10, ...layouts.map(() => 22)];
  console.log(columns.map((c, i) => pad(c, widths[i] ?? 10)).join(''));
  const rows: object[] = [];
  const started = Date.now();
  for (const l of LAYERS) {
    for (const kernel of KERNELS) {
      const cpuRate = runCpu ? gflop(l, cpuBatch) / time('cpu', kernel, l, cpuBatch, seconds) : undefined;
      const onednnSeconds = time('onednn', kernel, l, batch, seconds);
      const onednnRate = gflop(l, batch) / onednnSeconds;
      const layoutRates: Record<string, number> = {};
      for (const layout of layouts) {
        configureOnednn({ convLayout: { forward: layout, backwardInput: layout, backwardFilter: layout } });
        layoutRates[layout] = gflop(l, batch) / time('onednn', kernel, l, batch, seconds);
      }
      if (layouts.length > 0) configureOnednn({ convLayout: { forward: 'auto', backwardInput: 'auto', backwardFilter: 'auto' } });
      const cells = [
        l.name,
        kernel,
        ...(cpuRate === undefined ? [] : [cpuRate.toFixed(3)]),
        onednnRate.toFixed(1),
        ...(cpuRate === undefined ? [] : [`${Math.round(onednnRate / cpuRate)}×`]),
        (onednnSeconds * 1000).toFixed(1),
        ...layouts.map((layout) => (layoutRates[layout] ?? 0).toFixed(1)),
      ];
      console.log(cells.map((c, i) => pad(c, widths[i] ?? 10)).join(''));
      rows.push({
        layer: l.name,
        kernel,
        cpuGflops: cpuRate ?? null,
        onednnGflops: onednnRate,
        onednnMs: onednnSeconds * 1000,
        layouts: layoutRates,
      });
    }
  }
  let blockResult: object | null = null;
  if (block) {
    const blockBatch = Math.min(batch, 32);
    console.log(`\nresidual block step (2× conv3x3-BN, ReLU, add) at 28×28×64, forward + backward:`);
    const fast = blockStep('onednn', blockBatch);
    console.log(`  onednn  batch ${blockBatch}: ${fast.examplesPerSecond.toFixed(1)} examples/s`);
    const slow = runCpu ? blockStep('cpu', cpuBatch) : undefined;
    if (slow !== undefined)
      console.log(
        `  cpu     batch ${cpuBatch}: ${slow.examplesPerSecond.toFixed(2)} examples/s  (onednn ${Math.round(fast.examplesPerSecond / slow.examplesPerSecond)}×)`,
      );
    blockResult = {
      batch: blockBatch,
      onednnExamplesPerSecond: fast.examplesPerSecond,
      cpuExamplesPerSecond: slow?.examplesPerSecond ?? null,
    };
  }
  console.log(`load average after: ${load()}`);
  const summary = {
    machine: `${cpus()[0]?.model ?? 'unknown'} ×${cpus().length}`,
    node: process.version,
    onednn: info,
    batch,
    cpuBatch: runCpu ? cpuBatch : null,
    loadAverage: loadavg(),
    primitives: onednnPrimitives(),
    rows,
    block: blockResult,
  };
  mkdirSync('runs', { recursive: true });
  const file = join('runs', 'bench_kernels.json');
  writeFileSync(file, JSON.stringify(summary, null, 2));
  console.log(
    `\n${rows.length} measurements in ${((Date.now() - started) / 1000).toFixed(0)}s; primitives ${JSON.stringify(onednnPrimitives())}; wrote ${file}`,
  );
}

main();
