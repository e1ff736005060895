import * as E from 'fp-ts/Either';
import { parseFlags } from '@resnet/cli';
import { PROTOCOLS } from '@resnet/recipe';
import { limitSplit } from '@resnet/training';
import { checkResumeFlags, resolveConfig, TRAIN_FLAGS } from './config.ts';
import { formatProgress } from './progress.ts';

function configFor(...args: string[]) {
  const flags = parseFlags(args, TRAIN_FLAGS);
  if (E.isLeft(flags)) throw new Error(flags.left._tag === 'BadFlag' ? flags.left.message : 'help');
  return resolveConfig(flags.right);
}

describe('train config', () => {
  test('--protocol=seed reproduces the seed report: 96×96, batch 256, lr 0.1, plain SGD, constant lr, 10 epochs, no augmentation', () => {
    expect(configFor('--protocol=seed', '--variant=50')).toMatchObject(
      E.right({
        variant: 50,
        imageSize: 96,
        batchSize: 256,
        epochs: 10,
        momentum: 0,
        weightDecay: 0,
        nesterov: false,
        schedule: { _tag: 'Constant', lr: 0.1 },
        augment: { crop: false, flip: false },
        stem: 'imagenet',
      }),
    );
  });

  test('the default protocol is ours, and explicit flags override either protocol', () => {
    expect(configFor()).toMatchObject(
      E.right({
        protocol: 'default',
        variant: 18,
        version: 'v1.5',
        stem: 'imagenet',
        imageSize: 28,
        momentum: 0.9,
        nesterov: true,
        schedule: { _tag: 'Cosine', warmupEpochs: 1 },
      }),
    );
    expect(configFor('--protocol=seed', '--mini-batch=64', '--lr=0.05', '--augment')).toMatchObject(
      E.right({ batchSize: 64, schedule: { lr: 0.05 }, augment: { crop: true, flip: true } }),
    );
    expect(PROTOCOLS.seed.batchSize).toBe(256);
  });

  test('--clip-norm clips the gradient to that global norm; 0 (or no flag, under either protocol) is no clipping', () => {
    expect(configFor('--clip-norm=2')).toMatchObject(E.right({ clipNorm: 2 }));
    expect(configFor('--clip-norm=0')).toMatchObject(E.right({ clipNorm: null }));
    expect(configFor()).toMatchObject(E.right({ clipNorm: PROTOCOLS.default.clipNorm }));
    expect(configFor('--protocol=seed')).toMatchObject(E.right({ clipNorm: PROTOCOLS.seed.clipNorm }));
    expect(() => configFor('--clip-norm=-1')).toThrow('--clip-norm');
  });

  test('a short run gets a proportionally short warmup; an explicit warmup as long as the run is an error', () => {
    expect(configFor('--epochs=1')).toMatchObject(E.right({ schedule: { _tag: 'Cosine', warmupEpochs: 0.1 } }));
    expect(configFor('--epochs=2', '--warmup=2')).toEqual(E.left('--warmup (2) must be shorter than --epochs (2)'));
  });

  test('bad values are rejected naming the flag', () => {
    expect(parseFlags(['--variant=35'], TRAIN_FLAGS)).toMatchObject(
      E.left({ message: '--variant must be one of 18, 34, 50, 101, 152, got "35"' }),
    );
    expect(parseFlags(['--epochs=ten'], TRAIN_FLAGS)).toMatchObject(E.left({ message: '--epochs must be an integer, got "ten"' }));
    expect(parseFlags(['--lr=-1'], TRAIN_FLAGS)).toMatchObject(E.left({ message: '--lr must be between 0 and 100, got -1' }));
  });

  test('--resume accepts only --epochs, --backend and --data-dir besides itself', () => {
    expect(checkResumeFlags(['--resume=runs/x', '--epochs=2', '--backend=cpu'])).toEqual(E.right(undefined));
    expect(checkResumeFlags(['--resume=runs/x', '--lr=0.5'])).toMatchObject(E.left(expect.stringContaining('not --lr')));
  });
});

describe('helpers', () => {
  test('limitSplit keeps the first N examples', () => {
    const split = { images: new Uint8Array(3 * 4).map((_, i) => i), labels: new Uint8Array([7, 8, 9]), count: 3, height: 2, width: 2 };
    expect(limitSplit(split, 2)).toEqual({ ...split, images: split.images.subarray(0, 8), labels: split.labels.subarray(0, 2), count: 2 });
    expect(limitSplit(split, null)).toBe(split);
    expect(limitSplit(split, 10)).toBe(split);
  });

  test('progress lines show the bar, counts, metrics and an ETA', () => {
    expect(
      formatProgress({ epoch: 2, step: 50, steps: 100, loss: 0.5, trainAcc: 0.8, examplesPerSec: 200, lr: 0.1, seconds: 10 }, 10),
    ).toBe('epoch 2 [#####·····]  50/100 loss 0.5000 acc 0.800 200.0 ex/s lr 0.1000 ETA 10s');
  });
});
