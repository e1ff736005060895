/**
 * A ResNet family as data: a stem, a block kind and stages. Every variant — the
 * ImageNet ResNets of Table 1, the CIFAR ResNets of §4.2 — is one {@link FamilyConfig}
 * given to {@link network}.
 */
import { batchNorm, conv2d, dense, globalAvgPool, maxPool, relu, sequential, type Layer, type Sequential, type Window } from '@resnet/spec';
import { block, type BlockKind, type StridePlacement } from './blocks.ts';

/** The first convolution (+ batch norm + ReLU), and an optional max pool after it. */
export interface StemConfig {
  readonly kernel: number;
  readonly stride: number;
  readonly padding: number;
  readonly width: number;
  readonly pool: Window | null;
}

/** One stage: `blocks` blocks of one width; the first block carries the stride. */
export interface StageConfig {
  readonly blocks: number;
  readonly width: number;
  readonly stride: number;
}

/** Everything that differs between members of a residual-network family. */
export interface FamilyConfig {
  readonly block: BlockKind;
  readonly stem: StemConfig;
  readonly stages: readonly StageConfig[];
}

/** Named stems: the paper's ImageNet stem, and a small-image stem for 28×28 or 32×32 inputs. */
export const STEMS = {
  /** 7×7, 64, stride 2, then 3×3 max pool, stride 2 (Table 1): 224 → 112 → 56. */
  imagenet: { kernel: 7, stride: 2, padding: 3, width: 64, pool: { kernel: 3, stride: 2, padding: 1 } },
  /** 3×3, 64, stride 1 and no pool: keeps 28×28 images at full resolution in conv2_x. */
  small: { kernel: 3, stride: 1, padding: 1, width: 64, pool: null },
} as const satisfies Record<string, StemConfig>;

/** A name of {@link STEMS}. */
export type StemName = keyof typeof STEMS;

/**
 * Builds a network: `conv1` (stem), stages `conv2_x`, `conv3_x`, … and a `head`
 * (global average pool + fully connected layer).
 * @example
 * network('resnet18', { block: basic, stem: STEMS.imagenet, stages: [...] }, { inChannels: 3, classes: 1000, strideOn: '3x3' })
 */
export function network(
  name: string,
  config: FamilyConfig,
  options: { readonly inChannels: number; readonly classes: number; readonly strideOn: StridePlacement },
): Sequential {
  const { stem } = config;
  const stemLayers = sequential('conv1', [
    conv2d('conv', {
      inChannels: options.inChannels,
      outChannels: stem.width,
      kernel: stem.kernel,
      stride: stem.stride,
      padding: stem.padding,
    }),
    batchNorm('bn', { channels: stem.width }),
    relu('relu'),
  ]);
  const stages = config.stages.reduce<{ readonly layers: readonly Sequential[]; readonly channels: number }>(
    (acc, stage, i) => {
      const pool: readonly Layer[] = i === 0 && stem.pool !== null ? [maxPool('pool', stem.pool)] : [];
      const blocks = Array.from({ length: stage.blocks }, (_, j) =>
        block(
          config.block,
          String(j + 1),
          {
            inChannels: j === 0 ? acc.channels : stage.width * config.block.expansion,
            width: stage.width,
            stride: j === 0 ? stage.stride : 1,
          },
          options.strideOn,
        ),
      );
      return {
        layers: [...acc.layers, sequential(`conv${i + 2}_x`, [...pool, ...blocks])],
        channels: stage.width * config.block.expansion,
      };
    },
    { layers: [], channels: stem.width },
  );
  const head = sequential('head', [globalAvgPool('avgpool'), dense('fc', { inFeatures: stages.channels, outFeatures: options.classes })]);
  return sequential(name, [stemLayers, ...stages.layers, head]);
}
