/**
 * The two training protocols: what a run uses for every setting not given explicitly, and
 * the learning-rate schedule a protocol gives a run of a given length. Shared by the train
 * app (to make a run's config), the sweep (to compare runs) and the report (to tell "the
 * same protocol at another length" from "trained differently"). Pure.
 */
import * as E from 'fp-ts/Either';
import type { Schedule } from './schedule.ts';

/** Protocol presets: what a run uses for every flag the user did not give. */
export const PROTOCOLS = {
  /** The seed report: d2l's train_ch6 on 96×96 inputs, plain SGD with lr 0.1, batch 256, 10 epochs. */
  seed: {
    version: 'v1',
    stem: 'imagenet',
    epochs: 10,
    batchSize: 256,
    lr: 0.1,
    momentum: 0,
    nesterov: false,
    weightDecay: 0,
    schedule: 'constant',
    warmup: 0,
    labelSmoothing: 0,
    imageSize: 96,
    augment: false,
    zeroInitResidual: false,
    clipNorm: null,
  },
  /**
   * Ours: the 28×28 images as they are (no 96×96 upsampling: a tenth of the MACs), Nesterov SGD
   * with weight decay, cosine schedule with warmup, crop-and-flip augmentation, zero-init
   * residuals, the gradient's global norm clipped to 2. The ImageNet stem keeps a step practical on 2 CPU cores; `--stem=small`
   * (no down-sampling before conv2_x) costs 14× the MACs per image.
   */
  default: {
    version: 'v1.5',
    stem: 'imagenet',
    epochs: 10,
    batchSize: 128,
    lr: 0.1,
    momentum: 0.9,
    nesterov: true,
    weightDecay: 5e-4,
    schedule: 'cosine',
    warmup: 1,
    labelSmoothing: 0,
    imageSize: 28,
    augment: true,
    zeroInitResidual: true,
    /**
     * Gradient-norm clipping at 2 (issue 24): without it, ResNet-50 and ResNet-152 spiked at the peak learning rate
     * (training loss +74% and +28% in an epoch); with it, no depth's loss rose, final test accuracy rose by 0.014–0.025
     * at ResNet-50/101/152 and stayed within run-to-run noise at 18/34 (without it: docs/results/earlier/unclipped;
     * with it: docs/results).
     */
    clipNorm: 2,
  },
} as const;

export type ProtocolName = keyof typeof PROTOCOLS;

/**
 * Gradient-norm clipping in words: `clipNorm` is the largest global L2 norm of a step's
 * gradient (all parameters as one vector), scaled down to it when larger (PyTorch's
 * `clip_grad_norm_`); null: none.
 * @example describeClipNorm(2) // 'global gradient norm clipped to 2'
 * @example describeClipNorm(null) // 'none'
 */
export function describeClipNorm(clipNorm: number | null): string {
  return clipNorm === null ? 'none' : `global gradient norm clipped to ${clipNorm}`;
}

/**
 * How a run's clipping departs from its protocol's, as a label tag: null when it is the protocol's own.
 * @example clipNormTag('default', 2) // null
 * @example clipNormTag('default', null) // 'no clipping'
 * @example clipNormTag('seed', 1) // 'clip 1'
 */
export function clipNormTag(protocol: ProtocolName, clipNorm: number | null): string | null {
  const own: number | null = PROTOCOLS[protocol].clipNorm;
  if (clipNorm === own) return null;
  return clipNorm === null ? 'no clipping' : `clip ${clipNorm}`;
}

/** Schedule settings given explicitly (null or absent: the protocol's). */
export interface ScheduleChoice {
  readonly schedule?: 'constant' | 'step' | 'cosine' | null;
  readonly lr?: number | null;
  readonly warmup?: number | null;
}

/** A warmup (`warmup` epochs) that is not shorter than the run (`epochs`). */
export interface WarmupTooLong {
  readonly _tag: 'WarmupTooLong';
  readonly warmup: number;
  readonly epochs: number;
  readonly message: string;
}

/**
 * The schedule of a run planned for `epochs` epochs under `protocol`. The protocol's warmup is
 * at most a tenth of the run; a step schedule decays at thirds. An explicit warmup is taken as
 * given, and must be shorter than the run.
 * @example
 * protocolSchedule('default', 10) // Right({ _tag: 'Cosine', lr: 0.1, warmupEpochs: 1, floor: 0 })
 * protocolSchedule('default', 3)  // Right({ _tag: 'Cosine', lr: 0.1, warmupEpochs: 0.3, floor: 0 })
 * protocolSchedule('default', 2, { warmup: 2 }) // Left({ _tag: 'WarmupTooLong', warmup: 2, epochs: 2, message: 'a warmup of 2 epochs must be shorter than the run (2 epochs)' })
 */
export function protocolSchedule(protocol: ProtocolName, epochs: number, choice: ScheduleChoice = {}): E.Either<WarmupTooLong, Schedule> {
  const p = PROTOCOLS[protocol];
  const lr = choice.lr ?? p.lr;
  const warmup = choice.warmup ?? Math.min(p.warmup, epochs / 10);
  const name = choice.schedule ?? p.schedule;
  if (name === 'cosine' && warmup >= epochs)
    return E.left({
      _tag: 'WarmupTooLong',
      warmup,
      epochs,
      message: `a warmup of ${warmup} epochs must be shorter than the run (${epochs} epochs)`,
    });
  return E.right(
    name === 'constant'
      ? { _tag: 'Constant', lr }
      : name === 'step'
        ? { _tag: 'Step', lr, stepEvery: Math.max(1, Math.round(epochs / 3)), gamma: 0.1 }
        : { _tag: 'Cosine', lr, warmupEpochs: warmup, floor: 0 },
  );
}

/**
 * The protocol's schedule rule in words, independent of the run's length.
 * @example describeProtocolSchedule('default') // 'cosine from lr 0.1 to 0 after a linear warmup of 1 epoch (a tenth of the run when shorter than 10 epochs)'
 */
export function describeProtocolSchedule(protocol: ProtocolName): string {
  // Widened from the literal types of PROTOCOLS, so that the description covers any preset.
  const p: { readonly schedule: 'constant' | 'step' | 'cosine'; readonly lr: number; readonly warmup: number } = PROTOCOLS[protocol];
  if (p.schedule === 'constant') return `constant lr ${p.lr}`;
  if (p.schedule === 'step') return `step: lr ${p.lr}, ×0.1 at each third of the run`;
  if (p.warmup === 0) return `cosine from lr ${p.lr} to 0`;
  return `cosine from lr ${p.lr} to 0 after a linear warmup of ${p.warmup} epoch${p.warmup === 1 ? '' : 's'} (a tenth of the run when shorter than ${p.warmup * 10} epochs)`;
}
