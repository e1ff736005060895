/**
 * What the seed report (a lab report: PyTorch + d2l's `train_ch6` on one GPU) printed after
 * 10 epochs, and how it trained. Data only: the report compares our runs against it.
 */
import type { Depth } from '@resnet/variants';

/** One line of the seed report's results. */
export interface SeedResult {
  readonly depth: Depth;
  readonly loss: number;
  readonly trainAcc: number;
  readonly testAcc: number;
  /** Training examples per second on the seed's GPU. */
  readonly examplesPerSec: number;
  /** The block the seed's code actually used: its 50/101/152 are basic-block networks. */
  readonly seedBlock: 'basic';
}

/** The seed's protocol, in words. */
export const SEED_PROTOCOL =
  'PyTorch + d2l `train_ch6` on a GPU (cuda:0), inputs resized to 96×96, batch 256, plain SGD with lr 0.1 (no momentum, no weight decay, constant rate), 10 epochs';

/** The seed's results after 10 epochs, ResNet-18 to ResNet-152. */
export const SEED_RESULTS: readonly SeedResult[] = [
  { depth: 18, loss: 0.02, trainAcc: 0.993, testAcc: 0.898, examplesPerSec: 2954.3, seedBlock: 'basic' },
  { depth: 34, loss: 0.07, trainAcc: 0.974, testAcc: 0.901, examplesPerSec: 1757.3, seedBlock: 'basic' },
  { depth: 50, loss: 0.063, trainAcc: 0.977, testAcc: 0.901, examplesPerSec: 1757.2, seedBlock: 'basic' },
  { depth: 101, loss: 0.216, trainAcc: 0.918, testAcc: 0.811, examplesPerSec: 1043.4, seedBlock: 'basic' },
  { depth: 152, loss: 0.154, trainAcc: 0.943, testAcc: 0.853, examplesPerSec: 726.4, seedBlock: 'basic' },
];

/** Epochs the seed trained every variant for. */
export const SEED_EPOCHS = 10;
