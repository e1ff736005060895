/**
 * The CIFAR-10 ResNets of He et al. 2016 §4.2 (6n+2 layers: 3 stages of n basic
 * blocks with 16, 32, 64 channels), to show that a new family is a few lines of data.
 * Shortcuts are projections (option B), not the paper's zero-padding option A.
 */
import * as E from 'fp-ts/Either';
import { isIntAtLeast, specError, type Sequential, type SpecError } from '@resnet/spec';
import { basic } from './blocks.ts';
import { network } from './family.ts';

/**
 * ResNet-(6n+2) for 32×32 images.
 * @example cifarResNet(3) // Right(ResNet-20)
 */
export function cifarResNet(
  n: number,
  options: { readonly inChannels?: number; readonly classes?: number } = {},
): E.Either<SpecError, Sequential> {
  if (!isIntAtLeast(n, 1))
    return E.left(specError('UnknownVariant', '', `CIFAR ResNets have 6n+2 layers for an integer n ≥ 1, got n = ${n}`));
  return E.right(
    network(
      `resnet${6 * n + 2}`,
      {
        block: basic,
        stem: { kernel: 3, stride: 1, padding: 1, width: 16, pool: null },
        stages: [
          { blocks: n, width: 16, stride: 1 },
          { blocks: n, width: 32, stride: 2 },
          { blocks: n, width: 64, stride: 2 },
        ],
      },
      { inChannels: options.inChannels ?? 3, classes: options.classes ?? 10, strideOn: '3x3' },
    ),
  );
}
