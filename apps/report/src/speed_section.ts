/**
 * report.md's speed section: the committed bench:serve output (bench.json) beside the runs, one
 * table per file, or how to make one.
 */
import { formatGb, formatRatio } from '@resnet/format';
import { BENCH_FILE, type BenchFile } from '@resnet/run-dir';
import { markdownTable } from './format.ts';

const ABOUT =
  'Throughput measured by `bench:serve` apart from the training runs (whose epoch times above may have shared the cores with' +
  ' other work), of ResNet v1.5 (ImageNet stem, 1 channel, 10 classes) on a fixed random batch: mode train times whole SGD' +
  ' steps (forward in training mode, cross-entropy, backward, Nesterov update with weight decay), mode infer the test pass' +
  ' (inference-mode forward and argmax); the median of the timed steps after warm-up, PyTorch (tools/bench_torch.py)' +
  ' measured in the same run, and each backend’s ratio to it.';
const ABOUT_MEMORY =
  ' Peak RSS: the process’s resident-memory high-water mark over the row (PyTorch: its own process’s); estimate: what the' +
  ' spec predicted beforehand (`estimateStepMemory`).';

/**
 * "Speed": a table per bench.json found in the `--runs` folders (`runsPaths`), or the command
 * that writes one.
 * @example speedSection([], ['runs']) // ['## Speed', '', 'No bench.json beside these runs: …', '']
 */
export function speedSection(benches: readonly BenchFile[], runsPaths: readonly string[]): readonly string[] {
  const head = ['## Speed', ''];
  if (benches.length === 0) {
    const where = runsPaths.length === 1 ? (runsPaths[0] ?? '.') : '<runs folder>';
    const none =
      `No ${BENCH_FILE} beside these runs: the epoch times above are the only speeds here, and they may have shared the cores` +
      ` with other work. \`npx nx run bench:serve --format=json --out=${where}/${BENCH_FILE}\` on a quiet machine adds a speed table.`;
    return [...head, none, ''];
  }
  return [...head, ABOUT, '', ...benches.flatMap(benchTable)];
}

function benchTable(b: BenchFile): readonly string[] {
  const bf16 = b.measurements.some((m) => m.precision === 'bf16');
  const own = b.measurements.some((m) => m.vsOwnFp32 !== null);
  // Memory columns once the file has them (bench:serve records them since it measures memory).
  const memory = b.measurements.some((m) => m.peakRssBytes !== null);
  const gb = (x: number | null): string => (x === null ? '—' : formatGb(x));
  const times = (x: number | null): string => (x === null ? '—' : formatRatio(x));
  const machine = b.machine ?? 'not recorded in the file';
  const command = b.command === null ? 'not recorded in the file' : `\`${b.command}\``;
  const source = `From \`${b.path}\`: machine ${machine}; command ${command}; the device column names threads, library and ISA.`;
  return [
    `${source}${memory ? ABOUT_MEMORY : ''}`,
    '',
    markdownTable(
      [
        ...['mode', 'variant', 'input', 'batch', 'backend', 'precision', 'device', 'timed steps (warm-up)', 'fused kernels'],
        ...['examples/s', 'step ms', '× PyTorch'],
        ...(bf16 ? ['× PyTorch bf16'] : []),
        ...(own ? ['× own fp32'] : []),
        ...(memory ? ['peak RSS', 'memory × PyTorch', 'estimate'] : []),
      ],
      b.measurements.map((m) => [
        m.mode,
        `ResNet-${m.variant}`,
        `${m.imageSize}×${m.imageSize}`,
        String(m.batchSize),
        m.backend === 'pytorch' ? 'pytorch (baseline)' : m.backend,
        m.backend === 'pytorch' && m.precision === 'bf16' ? 'bf16 (autocast)' : m.precision,
        m.device,
        // With rounds, examples/s is the median over them and each ratio the median of the rounds' ratios.
        `${m.steps} (${m.warmup})${m.rounds > 1 ? `, median of ${m.rounds} rounds` : ''}`,
        m.fused === null ? '—' : m.fused ? 'yes' : 'no',
        m.examplesPerSec.toFixed(1),
        m.medianStepMs.toFixed(0),
        times(m.vsPytorch),
        ...(bf16 ? [times(m.vsPytorchBf16)] : []),
        ...(own ? [times(m.vsOwnFp32)] : []),
        ...(memory ? [gb(m.peakRssBytes), times(m.memoryVsPytorch), gb(m.estimatedRssBytes)] : []),
      ]),
      [
        ...(['l', 'l', 'l', 'r', 'l', 'l', 'l', 'r', 'l', 'r', 'r', 'r'] as const),
        ...(bf16 ? ['r' as const] : []),
        ...(own ? ['r' as const] : []),
        ...(memory ? ['r' as const, 'r' as const, 'r' as const] : []),
      ],
    ),
    '',
  ];
}
