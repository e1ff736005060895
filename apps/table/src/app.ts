/**
 * The table app as a function of parsed flags: Table 1 of He et al. 2016 regenerated from
 * the specs in @resnet/variants (per-stage output sizes, block brackets × counts, parameters,
 * MACs). main.ts runs it; tests call it in-process.
 */
import * as E from 'fp-ts/Either';
import { command, type Parsed, type Schema } from '@resnet/cli';
import { writeFileAtomic } from '@resnet/files';
import { DEPTHS, resnet, summarize, VERSIONS, type VariantSummary } from '@resnet/variants';
import { renderTable } from './render.ts';

const FLAGS = {
  input: { kind: 'int', min: 1, max: 8192, default: 224, help: 'input height and width in pixels' },
  channels: { kind: 'int', min: 1, max: 1024, default: 3, help: 'input channels (3 for RGB, 1 for Fashion-MNIST)' },
  classes: { kind: 'int', min: 1, max: 1_000_000, default: 1000, help: 'output classes' },
  'block-version': {
    kind: 'enum',
    values: VERSIONS,
    default: 'v1',
    help: 'v1: paper (bottleneck stride on the 1×1); v1.5: torchvision (stride on the 3×3)',
  },
  stem: {
    kind: 'enum',
    values: ['imagenet', 'small'],
    default: 'imagenet',
    help: 'imagenet: 7×7/2 conv + 3×3/2 max pool; small: 3×3/1 conv, no pool',
  },
  variants: { kind: 'intList', values: DEPTHS, default: DEPTHS, help: 'which depths, comma-separated' },
  format: { kind: 'enum', values: ['text', 'json'], default: 'text', help: 'text table, or one JSON array with an object per variant' },
  out: { kind: 'string', default: null, help: 'write to this file instead of stdout', output: 'file' },
} as const satisfies Schema;

/** `npx nx run table:serve`. */
export const TABLE = command('table:serve', {
  summary: 'Prints Table 1 of He et al. 2016 (ResNet-18/34/50/101/152) regenerated from the specs.',
  flags: FLAGS,
});

/**
 * Prints (or writes to --out) the table; returns the exit code.
 * @example table({ ...defaults, input: 28, channels: 1 }) // 0
 */
export function table(flags: Parsed<typeof FLAGS>): number {
  const { input, channels, classes, 'block-version': version, stem, variants, format, out } = flags;
  const summaries: VariantSummary[] = [];
  for (const depth of variants) {
    const summary = E.flatMap((spec: Parameters<typeof summarize>[0]) => summarize(spec, input))(
      resnet(depth, { version, inChannels: channels, classes, stem }),
    );
    if (E.isLeft(summary)) {
      console.error(`table: ResNet-${depth}: ${summary.left.message}`);
      return 1;
    }
    summaries.push(summary.right);
  }
  const text =
    format === 'json'
      ? JSON.stringify(summaries, null, 2)
      : [
          `Table 1 regenerated from the specs: input ${input}×${input}×${channels}, ${classes} classes, version ${version}, stem ${stem}.`,
          `MACs are multiply-accumulates per image (the paper's "FLOPs"); params are trainable weights.`,
          '',
          renderTable(summaries),
        ].join('\n');
  if (out === null) {
    console.log(text);
  } else {
    // Temp file + rename: a reader never sees a half-written file.
    writeFileAtomic(out, `${text}\n`);
    console.error(`table: wrote ${out}`);
  }
  return 0;
}
