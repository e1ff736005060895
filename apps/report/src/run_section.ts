/**
 * One section of report.md per run: how it was made, its settings, every epoch, its chart and
 * its confusion matrix.
 */
import { formatCount, formatDuration, formatMacs } from '@resnet/format';
import { describeAugment, describeOptimizer, describeSchedule, referenceLabel, type RunRow } from '@resnet/results';
import type { RunConfig } from '@resnet/run-dir';
import { describeClipNorm } from '@resnet/recipe';
import { confusionSection } from './evaluation_section.ts';
import { formatDate, markdownTable } from './format.ts';
import { pasteable } from './legacy_command.ts';
import { backendText, describeReplans, machineText } from './run_text.ts';

/**
 * A run's section.
 * @example runSection(row) // ['### ResNet-18 — `runs/resnet18`', '', 'Trained with `npx nx run train:serve …`.', '', …]
 */
export function runSection(r: RunRow): readonly string[] {
  const c = r.run.config;
  const seedCode = c.reference?.code === 'seed';
  const network = seedCode
    ? `the seed report’s ResNet-${c.variant} (${r.block} blocks, every convolution biased, projection shortcuts without batch norm), ${c.stem} stem`
    : `ResNet-${c.variant} ${c.version} (${r.block} blocks), ${c.stem} stem`;
  const lastNorm = seedCode
    ? 'd2l’s init (Xavier-uniform convolution and linear weights)'
    : `${c.zeroInitResidual ? 'zero-initialised' : 'standard'} last batch norm in each block`;
  const params = r.params === null ? 'parameters not recorded' : `${formatCount(r.params)} parameters`;
  const count = (limit: number | null) => (limit === null ? 'all' : formatCount(limit));
  const images = `${count(c.trainLimit)} training / ${count(c.testLimit)} test images`;
  const tfjs = c.backend?.tfjsVersion === undefined ? '' : `, tfjs ${c.backend.tfjsVersion}`;
  const node = c.backend?.node === undefined ? '' : `, Node ${c.backend.node}`;
  const started = c.createdAt === null ? 'at an unrecorded time' : formatDate(c.createdAt);
  const resumed = r.plannedEpochs > c.epochs ? ` (continued past the ${c.epochs} in config.json with --resume)` : '';
  const replanned = c.replanned.length > 0 ? ` (re-planned with --resume: ${describeReplans(c)})` : '';
  const epochs = `${r.run.metrics.length} of ${r.plannedEpochs} planned epochs done${resumed}${replanned}`;
  return [
    `### ${r.seriesName} — \`${r.run.dir}\``,
    '',
    madeBy(c),
    '',
    `- protocol ${c.protocol}; ${network}, ${lastNorm}; ${params}, ${formatMacs(r.macs)} MACs per image`,
    `- input ${c.imageSize}×${c.imageSize}, batch ${c.batchSize}, augmentation ${describeAugment(c)}, ${images}`,
    `- ${describeOptimizer(c)}; schedule ${describeSchedule(c)}; label smoothing ${c.labelSmoothing}; gradient clipping ${describeClipNorm(c.clipNorm)}; seed ${c.seed}`,
    `- started ${started}; backend ${backendText(c)}${tfjs}${node}; machine ${machineText(c)}; data ${c.dataSource ?? 'not recorded'}`,
    `- ${epochs}, ${formatDuration(r.wallSeconds)} of training`,
    '',
    markdownTable(
      ['epoch', 'loss', 'train acc', 'test acc', 'examples/s', 'lr', 'time'],
      r.run.metrics.map((m) => [
        String(m.epoch),
        m.loss.toFixed(4),
        m.trainAcc.toFixed(3),
        m.testAcc.toFixed(3),
        m.examplesPerSec.toFixed(1),
        m.lr.toFixed(4),
        formatDuration(m.seconds),
      ]),
      ['r', 'r', 'r', 'r', 'r', 'r', 'r'],
    ),
    '',
    `![${r.seriesName}: training loss, training accuracy and test accuracy per epoch](charts/${r.chart}.png)`,
    '',
    `Chart: [PNG](charts/${r.chart}.png), [SVG](charts/${r.chart}.svg).`,
    '',
    ...confusionSection(r.run.evaluation),
  ];
}

/** Who made the run and how: our training command, or the reference script's. */
function madeBy(c: RunConfig): string {
  if (c.reference !== null) {
    const how = c.command === null ? 'its command was not recorded' : `made with \`${c.command}\``;
    const script = c.reference.script ?? 'script not recorded';
    if (c.reference.code === 'seed')
      return `The seed report’s own code (its network, init and training) run in PyTorch (${script}, ${c.reference.framework} ${c.reference.version}): ${how}.`;
    return `A ${referenceLabel(c.reference)} run (${script}, ${c.reference.framework} ${c.reference.version}): ${how}.`;
  }
  return c.command === null ? 'Training command: not recorded.' : `Trained with \`${pasteable(c.command)}\`.`;
}
