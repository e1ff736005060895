/**
 * report.md's comparison with the seed report: its numbers beside ours, and why the two are not
 * the same networks or the same speeds.
 */
import { formatAccuracy } from '@resnet/format';
import type { RunRow } from '@resnet/results';
import { RESNETS } from '@resnet/variants';
import { markdownTable } from './format.ts';
import { SEED_EPOCHS, SEED_PROTOCOL, SEED_RESULTS } from './seed.ts';

const NOT_THE_PAPERS =
  '- **The seed’s ResNet-50, ResNet-101 and ResNet-152 are not the paper’s networks.** Its code built them from basic blocks' +
  ' (two 3×3 convolutions) instead of bottleneck blocks (1×1 → 3×3 → 1×1, expansion 4): its “ResNet-50” is its ResNet-34, and' +
  ' its 101 and 152 are deeper stacks of basic blocks. Ours use bottleneck blocks from ResNet-50 on, as in the paper.';
const SEED_PROTOCOL_IS_NOT_ITS_CODE =
  '- **Our `--protocol=seed` is the seed’s training on our networks, not its code.** It takes the seed’s input size,' +
  ' optimizer, batch and epochs; the network and its start stay ours: no convolution biases (a batch norm follows each),' +
  ' batch norm on the projection shortcuts (the seed’s are biased 1×1 convolutions alone), He-normal init (the seed’s d2l' +
  ' `train_ch6` draws Xavier-uniform weights) and inputs normalised by the dataset’s mean and spread (the seed’s are 0..1).' +
  ' `tools/torch_reference.py --code seed` runs the seed’s own code in PyTorch: its rows are marked “seed’s code, PyTorch”.';
const GPU_SPEEDS =
  '- **The seed’s speeds are GPU speeds** (cuda:0). Ours are measured on the backend and machine given in the summary table;' +
  ' the two are not comparable.';

/** Our runs, and runs of the seed's own code (references of our code left out). */
export function seedComparable(r: RunRow): boolean {
  return r.run.config.reference === null || r.run.config.reference.code === 'seed';
}

/**
 * "Comparison with the seed report": a row per seed result, with each of our runs of that depth
 * and each run of the seed's own code beside it (PyTorch references of our code left out), or "not run".
 * @example seedSection(rows) // ['## Comparison with the seed report', '', 'The seed report trained with …', …]
 */
export function seedSection(rows: readonly RunRow[]): readonly string[] {
  const table = markdownTable(
    [
      ...['variant', 'seed: block', 'seed: loss', 'seed: train acc', 'seed: test acc', 'seed: examples/s (GPU)'],
      ...['ours: block', 'ours: final test acc', 'ours: epochs (done / planned)', 'ours: protocol'],
    ],
    SEED_RESULTS.flatMap((s) => {
      const scores = [s.loss.toFixed(3), s.trainAcc.toFixed(3), s.testAcc.toFixed(3), s.examplesPerSec.toFixed(1)];
      const seed = [`ResNet-${s.depth}`, s.seedBlock, ...scores];
      const ours = rows.filter((r) => r.run.config.variant === s.depth && seedComparable(r));
      if (ours.length === 0) return [[...seed, RESNETS[s.depth].block._tag === 'Basic' ? 'basic' : 'bottleneck', 'not run', '—', '—']];
      return ours.map((r) => [
        ...seed.map((cell, i) => (i === 0 ? r.seriesName : cell)),
        r.block,
        formatAccuracy(r.last.testAcc),
        `${r.run.metrics.length} / ${r.plannedEpochs}`,
        `${r.run.config.protocol}, ${r.run.config.imageSize}×${r.run.config.imageSize}`,
      ]);
    }),
    ['l', 'l', 'r', 'r', 'r', 'r', 'l', 'r', 'r', 'l'],
  );
  return [
    '## Comparison with the seed report',
    '',
    `The seed report trained with ${SEED_PROTOCOL}, and printed these numbers after ${SEED_EPOCHS} epochs. Ours are beside them:` +
      ' final test accuracy after the epochs done, with the protocol named.',
    '',
    NOT_THE_PAPERS,
    SEED_PROTOCOL_IS_NOT_ITS_CODE,
    GPU_SPEEDS,
    '',
    table,
    '',
  ];
}
