/**
 * `nx run bench:serve` — training throughput (examples/s) of ResNets on every tfjs backend
 * present, beside the PyTorch baseline measured in the same run (tools/bench_torch.py on
 * Debian's python3-torch), with each backend's ratio to PyTorch.
 */
import { cpus, loadavg } from 'node:os';
import * as E from 'fp-ts/Either';
import { processMemory, resetPeakRss, selectBackend, type BackendName } from '@resnet/backend';
import { formatGb } from '@resnet/format';
import { PRECISIONS, type Precision } from '@resnet/recipe';
import { clearOnednnCache } from '@resnet/onednn';
import { command, commandLine, type Command, type Parsed, type Schema } from '@resnet/cli';
import { writeFileAtomic } from '@resnet/files';
import { DEPTHS } from '@resnet/variants';
import { measureTfjs } from './measure.ts';
import { planConfigs, type BenchConfig } from './plan.ts';
import { defaultPython, runTorch, torchScript } from './pytorch.ts';
import { combineRounds, renderProfiles, renderRounds, renderTable, withRatios, type Measurement, type Unrated } from './render.ts';

const TFJS_BACKENDS = ['tensorflow', 'onednn', 'cpu', 'wasm'] as const;

const FLAGS = {
  mode: {
    kind: 'enum',
    values: ['train', 'infer'],
    default: 'train',
    help: 'train: whole SGD steps; infer: the test pass’s forward in inference mode + argmax, beside PyTorch’s no_grad forward (default batch 256)',
  },
  variants: {
    kind: 'intList',
    values: DEPTHS,
    default: [],
    help: 'depths to measure (default: the suite: 18, 34, 50 at 28×28 and 18 at 96×96; batch 128 and 64 for train, 256 for infer)',
  },
  'image-size': {
    kind: 'int',
    min: 8,
    max: 1024,
    default: null,
    help: 'input side in pixels; with --variants or alone, measures every variant at this size (default 28)',
  },
  'mini-batch': {
    kind: 'int',
    min: 1,
    max: 4096,
    default: null,
    help: 'examples per step (default: train 128 up to 32 px, 64 above; infer 256)',
  },
  backends: {
    kind: 'enumList',
    values: TFJS_BACKENDS,
    default: [],
    help: 'tfjs backends (default: tensorflow and onednn, those present; pure-JS cpu only when named)',
  },
  steps: { kind: 'int', min: 1, max: 10_000, default: 10, help: 'timed steps per measurement (the median is reported)' },
  warmup: { kind: 'int', min: 0, max: 1000, default: 2, help: 'untimed steps first (primitive creation, caches)' },
  rounds: {
    kind: 'int',
    min: 1,
    max: 100,
    default: 1,
    help: 'measure every configuration this many times, its rows in turn each round; examples/s are then medians over the rounds and each ratio (× PyTorch, × own fp32) the median of the ratios within each round, with every round listed',
  },
  pytorch: { kind: 'bool', default: true, help: 'also measure the PyTorch baseline (--pytorch=false to skip)' },
  python: { kind: 'string', default: null, help: 'python with torch for the baseline (default /usr/bin/python3, Debian python3-torch)' },
  precision: {
    kind: 'enumList',
    values: PRECISIONS,
    default: ['fp32'],
    help: 'what the tfjs backends compute in, each measured (bf16: onednn on a CPU with avx512_core_bf16 or AMX); bf16 also measures PyTorch with torch.autocast(bf16) beside its fp32 baseline',
  },
  fused: {
    kind: 'bool',
    default: true,
    help: 'allow the fused kernels where the backend has them: batch norm, ReLU gradient, add+ReLU, SGD (--fused=false: tfjs ops only)',
  },
  profile: { kind: 'bool', default: false, help: 'also time each tfjs kernel and print the top 15 per measurement' },
  'profile-shapes': { kind: 'bool', default: false, help: 'with --profile: time convolutions per input shape' },
  format: {
    kind: 'enum',
    values: ['text', 'json'],
    default: 'text',
    help: 'text table, or one JSON object: machine, command and measurements (report:serve reads it as bench.json)',
  },
  out: { kind: 'string', default: null, help: 'also write the output to this file', output: 'file' },
} as const satisfies Schema;

const SUMMARY = [
  'Measures training throughput: examples/s of whole SGD steps (forward in training mode, cross-entropy,',
  'backward, Nesterov-momentum update with weight decay) of ResNet v1.5 with the ImageNet stem on 1-channel',
  'input, 10 classes, random data; the median over the timed steps after warm-up. The PyTorch baseline',
  '(tools/bench_torch.py, same network and optimiser, all cores) runs in the same process tree just before',
  'each configuration, so the ratio compares like with like on the same machine and moment.',
  '--mode=infer measures the test pass instead: the forward pass in inference mode and its argmax at batch 256,',
  "beside PyTorch's eval-mode forward under torch.no_grad().",
].join('\n');

function note(message: string): void {
  console.error(`bench: ${message}`);
}

/** `npx nx run bench:serve`. */
export const BENCH: Command<typeof FLAGS> = command('bench:serve', { summary: SUMMARY, flags: FLAGS });

/**
 * Measures and prints the table; returns the exit code. `args` (the command line as given)
 * are recorded in the JSON output.
 * @example await bench({ ...defaults, variants: [18] }, ['--variants=18']) // 0
 */
export async function bench(f: Parsed<typeof FLAGS>, args: readonly string[] = []): Promise<number> {
  if (f.profile && f.rounds > 1) {
    console.error(
      `bench:serve: --profile times one round's kernels; with --rounds=${f.rounds} the profiles would be of different minutes: drop --profile, or measure --rounds=1`,
    );
    return 2;
  }
  const configs = planConfigs({ mode: f.mode, variants: f.variants, imageSize: f['image-size'], batchSize: f['mini-batch'] });
  const explicit = f.backends.length > 0;
  const backends = (explicit ? f.backends : ['tensorflow', 'onednn']) as BackendName[];
  if (!explicit)
    note(
      'pure-JS cpu is not measured by default (a ResNet-18 step at batch 128 takes many minutes there); name it in --backends=cpu to include it',
    );
  const python = f.python ?? defaultPython();
  const timing = { steps: f.steps, warmup: f.warmup };
  const cpu = cpus();
  note(
    `machine: ${cpu.length} × ${cpu[0]?.model ?? 'unknown cpu'}, Node ${process.version}, load average ${loadavg()[0]?.toFixed(2) ?? '?'}`,
  );

  const rounds: Measurement[][] = [];
  const unavailable = new Map<string, string>();
  let torchNotice: string | null = f.pytorch ? null : 'PyTorch baseline not measured (--pytorch=false)';
  // PyTorch fp32 is the baseline of every row; with bf16 asked for, its autocast is measured too.
  const precisions = f.precision as readonly Precision[];
  const torchPrecisions: readonly Precision[] = precisions.includes('bf16') ? ['fp32', 'bf16'] : ['fp32'];
  for (let round = 0; round < f.rounds; round++) {
    const rows: Unrated[] = [];
    for (const config of configs) {
      const label = `${f.rounds > 1 ? `round ${round + 1}/${f.rounds}: ` : ''}ResNet-${config.variant} ${config.imageSize}×${config.imageSize} batch ${config.batchSize}${config.mode === 'infer' ? ' (inference)' : ''}`;
      for (const precision of torchPrecisions) {
        if (torchNotice !== null) break;
        const name = precision === 'fp32' ? 'pytorch (baseline)' : 'pytorch bf16 autocast';
        note(`${label}: ${name}, ${timing.warmup} + ${timing.steps} steps…`);
        const t = runTorch(python, torchScript(), config, { ...timing, precision });
        if (t.ok) {
          rows.push({
            ...config,
            backend: 'pytorch',
            device: t.device,
            examplesPerSec: t.examplesPerSec,
            medianStepMs: t.medianStepMs,
            ...timing,
            fused: null,
            precision,
            peakRssBytes: t.peakRssBytes,
            peakTensorBytes: null,
            estimatedRssBytes: null,
          });
          note(`${label}: ${name} ${t.examplesPerSec.toFixed(1)} examples/s`);
        } else {
          torchNotice = t.notice;
          note(t.notice);
        }
      }
      for (const backend of backends) {
        for (const precision of precisions) {
          const which = precisions.length > 1 ? `${backend} ${precision}` : backend;
          if (unavailable.has(which)) continue;
          const chosen = await selectBackend(backend, { purpose: 'training', precision });
          if (E.isLeft(chosen)) {
            unavailable.set(which, chosen.left.message);
            note(`${which}: not measured: ${chosen.left.message} (choose with --backends and --precision)`);
            continue;
          }
          rows.push(await measureOne(config, chosen.right.name, chosen.right.device, precision, label, f));
        }
      }
    }
    rounds.push(withRatios(rows));
  }

  const measured = combineRounds(rounds);
  if (!measured.some((r) => r.backend !== 'pytorch')) {
    console.error(`bench: no tfjs backend could be measured (${[...unavailable].map(([b, why]) => `${b}: ${why}`).join('; ')})`);
    return 1;
  }
  const machine = `${cpu.length} × ${cpu[0]?.model ?? 'cpu'}, Node ${process.version}, load average at the end ${loadavg()[0]?.toFixed(2) ?? '?'}`;
  const text =
    f.format === 'json'
      ? JSON.stringify({ machine, command: commandLine('bench:serve', args), measurements: measured }, null, 2)
      : [
          `${f.mode === 'infer' ? 'Inference throughput (forward in inference mode + argmax)' : 'Training throughput'}, ResNet v1.5 (ImageNet stem, 1 channel, 10 classes), median of ${f.steps} timed steps after ${f.warmup} warm-up${f.rounds > 1 ? `, then the median over ${f.rounds} rounds (each ratio the median of the rounds' ratios)` : ''}; ${machine}.`,
          '',
          renderTable(measured),
          ...(f.rounds > 1 ? ['', ...renderRounds(rounds)] : []),
          ...(torchNotice === null ? [] : ['', torchNotice]),
          ...(f.profile ? ['', renderProfiles(measured, f['profile-shapes'] ? 40 : 15)] : []),
        ].join('\n');
  console.log(text);
  if (f.out !== null) {
    writeFileAtomic(f.out, `${text}\n`);
    note(`wrote ${f.out}`);
  }
  return 0;
}

async function measureOne(
  config: BenchConfig,
  backend: string,
  device: string,
  precision: Precision,
  label: string,
  f: {
    readonly steps: number;
    readonly warmup: number;
    readonly profile: boolean;
    readonly 'profile-shapes': boolean;
    readonly fused: boolean;
  },
): Promise<Unrated> {
  label = `${label} ${precision}`;
  note(`${label}: ${backend}, ${f.warmup} + ${f.steps} steps…`);
  // This row's peak is its own: the last row's spare buffers and cached primitives go first.
  if (backend === 'onednn') clearOnednnCache();
  const peakReset = resetPeakRss();
  let last = performance.now();
  const result = await measureTfjs(config, {
    steps: f.steps,
    warmup: f.warmup,
    profile: f.profile,
    profileShapes: f['profile-shapes'],
    fused: f.fused,
    onStep: (step, seconds) => {
      if (performance.now() - last < 5000 && step !== f.steps - 1) return;
      last = performance.now();
      note(
        `${label}: ${backend} ${step < 0 ? `warm-up ${step + f.warmup + 1}/${f.warmup}` : `step ${step + 1}/${f.steps}`}: ${seconds.toFixed(2)} s`,
      );
    },
  });
  const peakRssBytes = peakReset ? (processMemory()?.peakRssBytes ?? null) : null;
  note(
    `${label}: ${backend} ${result.examplesPerSec.toFixed(1)} examples/s, peak RSS ${peakRssBytes === null ? 'unknown (no /proc/self/clear_refs)' : formatGb(peakRssBytes)}`,
  );
  return {
    ...config,
    backend,
    device,
    examplesPerSec: result.examplesPerSec,
    medianStepMs: result.medianStepMs,
    steps: f.steps,
    warmup: f.warmup,
    fused: f.fused,
    precision,
    peakRssBytes,
    peakTensorBytes: result.peakTensorBytes,
    estimatedRssBytes: result.estimatedRssBytes,
    ...(result.kernels === undefined ? {} : { kernels: result.kernels }),
  };
}
