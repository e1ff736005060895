/**
 * The train app's flags, the two protocols, and how they combine into one run config.
 * Pure: flags in, config (or an error naming the flag) out.
 */
import * as E from 'fp-ts/Either';
import type { Parsed, Schema } from '@resnet/cli';
import { DEPTHS, VERSIONS, type Depth } from '@resnet/variants';
import { BACKEND_CHOICES } from '@resnet/backend';
import { PRECISIONS } from '@resnet/recipe';
import { PROTOCOLS, protocolSchedule } from '@resnet/recipe';
import { RUN_FORMAT, type RunSettings } from '@resnet/run-dir';
import type { LoadOptions } from '@resnet/fashion-mnist';

/** Flags of `nx run train:serve`. Flags with a null default take the protocol's value. */
export const TRAIN_FLAGS = {
  variant: { kind: 'enum', values: DEPTHS.map(String), default: '18', help: 'ResNet depth' },
  protocol: {
    kind: 'enum',
    values: ['default', 'seed'],
    default: 'default',
    help: "settings preset: 'seed' reproduces the seed report (96×96, batch 256, lr 0.1, plain SGD, 10 epochs); 'default' is ours (28×28, batch 128, Nesterov SGD with weight decay, cosine with warmup, augmentation, gradient norm clipped to 2)",
  },
  'block-version': {
    kind: 'enum',
    values: VERSIONS,
    default: null,
    help: 'v1 (paper: bottleneck stride on the 1×1) or v1.5 (torchvision: on the 3×3)',
  },
  stem: {
    kind: 'enum',
    values: ['imagenet', 'small'],
    default: null,
    help: 'imagenet: 7×7/2 conv + max pool; small: 3×3/1 conv for 28×28 inputs',
  },
  epochs: { kind: 'int', min: 1, max: 10_000, default: null, help: 'epochs to train (with --resume: the new total)' },
  'mini-batch': { kind: 'int', min: 1, max: 65_536, default: null, help: 'examples per SGD step (the mini-batch size)' },
  lr: { kind: 'number', min: 0, max: 100, default: null, help: 'peak learning rate' },
  momentum: { kind: 'number', min: 0, max: 0.999, default: null, help: 'SGD momentum (0 = plain SGD)' },
  nesterov: { kind: 'bool', default: null, help: 'Nesterov momentum' },
  'weight-decay': {
    kind: 'number',
    min: 0,
    max: 1,
    default: null,
    help: 'L2 weight decay on conv and dense weights (not batch norm or biases)',
  },
  schedule: {
    kind: 'enum',
    values: ['constant', 'step', 'cosine'],
    default: null,
    help: 'learning-rate schedule (cosine has a linear warmup of --warmup epochs)',
  },
  warmup: { kind: 'number', min: 0, max: 1000, default: null, help: 'warmup epochs for --schedule=cosine' },
  'label-smoothing': { kind: 'number', min: 0, max: 0.99, default: null, help: 'label smoothing ε of the cross-entropy' },
  'clip-norm': {
    kind: 'number',
    min: 0,
    max: 1e6,
    default: null,
    help: "scale each step's gradient down to this global L2 norm when larger (PyTorch's clip_grad_norm_); 0: no clipping (protocol default: 2; seed: none)",
  },
  'image-size': { kind: 'int', min: 8, max: 512, default: null, help: 'resize the 28×28 images to N×N (bilinear)' },
  augment: { kind: 'bool', default: null, help: 'random crop (4-pixel padding) and horizontal flip' },
  'train-limit': { kind: 'int', min: 1, max: 60_000, default: null, help: 'use only the first N training images (smoke runs)' },
  'test-limit': { kind: 'int', min: 1, max: 10_000, default: null, help: 'use only the first N test images' },
  seed: { kind: 'int', min: 0, max: 2 ** 31 - 1, default: 0, help: 'seed for initialisation, shuffling and augmentation' },
  out: { kind: 'string', default: null, help: 'run directory (default runs/<variant>-<timestamp>)', output: 'directory' },
  resume: { kind: 'string', default: null, help: 'continue the run in this directory from its last checkpoint', output: 'directory' },
  'repair-metrics': {
    kind: 'bool',
    default: false,
    help: "with --resume: first cut metrics.jsonl back to the last checkpoint's epochs, dropping damaged lines and later epochs (it says which)",
  },
  'data-dir': { kind: 'string', default: null, help: 'folder with the four Fashion-MNIST .gz files' },
  'checkpoint-minutes': {
    kind: 'number',
    min: 0,
    max: 10_000,
    default: 10,
    help: 'also save a checkpoint within an epoch every N minutes, so a kill loses at most that much of a long epoch (0: at the ends of epochs only); changes no result',
  },
  backend: { kind: 'enum', values: BACKEND_CHOICES, default: 'auto', help: 'tfjs backend: auto picks tensorflow > onednn > cpu' },
  precision: {
    kind: 'enum',
    values: PRECISIONS,
    default: 'fp32',
    help: 'bf16: mixed precision (bf16 convolutions, fp32 weights, optimizer, batch norm and loss) on the onednn backend, CPUs with avx512_core_bf16 or AMX only',
  },
} as const satisfies Schema;

export type TrainFlags = Parsed<typeof TRAIN_FLAGS>;

/** Everything that defines a run; written to config.json. */
export type TrainConfig = RunSettings;

/**
 * The run config for a new run: the protocol's values, overridden by given flags.
 * @example resolveConfig(flags) // Right({ variant: 34, protocol: 'default', batchSize: 128, … })
 */
export function resolveConfig(flags: TrainFlags): E.Either<string, TrainConfig> {
  const p = PROTOCOLS[flags.protocol];
  const epochs = flags.epochs ?? p.epochs;
  const schedule = protocolSchedule(flags.protocol, epochs, { schedule: flags.schedule, lr: flags.lr, warmup: flags.warmup });
  // The lib reports lengths; the flags that set them are ours to name.
  if (E.isLeft(schedule)) return E.left(`--warmup (${schedule.left.warmup}) must be shorter than --epochs (${schedule.left.epochs})`);
  const augment = flags.augment ?? p.augment;
  const clipNorm = flags['clip-norm'] ?? p.clipNorm;
  return E.right({
    format: RUN_FORMAT,
    protocol: flags.protocol,
    variant: Number(flags.variant) as Depth,
    version: flags['block-version'] ?? p.version,
    stem: flags.stem ?? p.stem,
    epochs,
    batchSize: flags['mini-batch'] ?? p.batchSize,
    schedule: schedule.right,
    momentum: flags.momentum ?? p.momentum,
    nesterov: flags.nesterov ?? p.nesterov,
    weightDecay: flags['weight-decay'] ?? p.weightDecay,
    labelSmoothing: flags['label-smoothing'] ?? p.labelSmoothing,
    clipNorm: clipNorm === 0 ? null : clipNorm,
    imageSize: flags['image-size'] ?? p.imageSize,
    augment: { crop: augment, flip: augment },
    zeroInitResidual: p.zeroInitResidual,
    trainLimit: flags['train-limit'],
    testLimit: flags['test-limit'],
    seed: flags.seed,
    classes: 10,
    precision: flags.precision,
  });
}

/** The flag that sets each setting of config.json, for messages (`batchSize` → `--mini-batch`). */
export const SETTING_FLAGS: Readonly<Record<string, string>> = {
  protocol: '--protocol',
  variant: '--variant',
  version: '--block-version',
  stem: '--stem',
  epochs: '--epochs',
  batchSize: '--mini-batch',
  schedule: '--schedule/--lr/--warmup',
  momentum: '--momentum',
  nesterov: '--nesterov',
  weightDecay: '--weight-decay',
  labelSmoothing: '--label-smoothing',
  clipNorm: '--clip-norm',
  imageSize: '--image-size',
  augment: '--augment',
  trainLimit: '--train-limit',
  testLimit: '--test-limit',
  seed: '--seed',
  zeroInitResidual: '--protocol',
  precision: '--precision',
};

/** Flags a resumed run may change; every other setting comes from its config.json. */
export const RESUME_FLAGS: readonly (keyof TrainFlags)[] = [
  'resume',
  'epochs',
  'backend',
  'data-dir',
  'repair-metrics',
  'checkpoint-minutes',
];

/**
 * Checks that a `--resume` command line only changes what a resume may change.
 * @example checkResumeFlags(['--resume=runs/x', '--epochs=2']) // Right(undefined)
 */
export function checkResumeFlags(args: readonly string[]): E.Either<string, void> {
  const given = args.filter((a) => a.startsWith('--') && a !== '--').map((a) => a.slice(2).split('=')[0] ?? '');
  const extra = given.filter((name) => !(RESUME_FLAGS as readonly string[]).includes(name));
  return extra.length === 0
    ? E.right(undefined)
    : E.left(
        `--resume continues a run with the settings in its config.json; only ${RESUME_FLAGS.filter((f) => f !== 'resume')
          .map((f) => `--${f}`)
          .join(', ')} may be given with it, not ${extra.map((f) => `--${f}`).join(', ')}`,
      );
}

/**
 * Where the train apps look for Fashion-MNIST: `--data-dir` (so named in the data lib's
 * messages), else the usual places, downloading when none has it.
 * @example await loadFashionMnist(dataOptions(flags['data-dir']))
 */
export function dataOptions(dataDir: string | null): LoadOptions {
  return { ...(dataDir === null ? {} : { dataDir }), dataDirName: '--data-dir', download: true };
}
