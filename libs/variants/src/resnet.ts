/**
 * The ImageNet ResNets of He et al. 2016, Table 1, as a record keyed by depth.
 */
import * as E from 'fp-ts/Either';
import { isIntAtLeast, specError, type Sequential, type SpecError } from '@resnet/spec';
import { basic, bottleneck, type BlockKind } from './blocks.ts';
import { network, STEMS, type StemName } from './family.ts';

/** Blocks per stage and block kind for each depth (Table 1). */
export const RESNETS = {
  18: { block: basic, blocks: [2, 2, 2, 2] },
  34: { block: basic, blocks: [3, 4, 6, 3] },
  50: { block: bottleneck, blocks: [3, 4, 6, 3] },
  101: { block: bottleneck, blocks: [3, 4, 23, 3] },
  152: { block: bottleneck, blocks: [3, 8, 36, 3] },
} as const satisfies Record<number, { readonly block: BlockKind; readonly blocks: readonly number[] }>;

/** A depth of {@link RESNETS}. */
export type Depth = keyof typeof RESNETS;

/** All depths, ascending. */
export const DEPTHS: readonly Depth[] = [18, 34, 50, 101, 152];

/** `v1`: the paper (bottleneck stride on the first 1×1). `v1.5`: torchvision (stride on the 3×3). */
export type Version = 'v1' | 'v1.5';

/** All versions. */
export const VERSIONS: readonly Version[] = ['v1', 'v1.5'];

/** Stage widths (3×3 channels) and strides shared by every depth. */
const WIDTHS = [64, 128, 256, 512] as const;
const STRIDES = [1, 2, 2, 2] as const;

/** How to instantiate a variant; defaults are the paper's ImageNet setting with v1. */
export interface ResNetOptions {
  readonly version?: Version;
  readonly inChannels?: number;
  readonly classes?: number;
  readonly stem?: StemName;
}

/** A ResNet variant: what it is, and its layers. JSON-serialisable. */
export interface ResNetSpec {
  readonly _tag: 'ResNet';
  readonly depth: Depth;
  readonly version: Version;
  readonly stem: StemName;
  readonly inChannels: number;
  readonly classes: number;
  readonly net: Sequential;
}

/**
 * Builds ResNet-`depth`, or says why it cannot.
 * @example
 * resnet(50, { version: 'v1.5', inChannels: 1, classes: 10 }) // Right({ _tag: 'ResNet', depth: 50, … })
 * resnet(35) // Left({ _tag: 'UnknownVariant', message: 'Unknown variant "35": expected one of 18, 34, 50, 101, 152' })
 */
export function resnet(depth: number, options: ResNetOptions = {}): E.Either<SpecError, ResNetSpec> {
  const version = options.version ?? 'v1';
  const inChannels = options.inChannels ?? 3;
  const classes = options.classes ?? 1000;
  const stem = options.stem ?? 'imagenet';
  if (!isDepth(depth)) {
    return E.left(specError('UnknownVariant', '', `Unknown variant "${depth}": expected one of ${DEPTHS.join(', ')}`));
  }
  if (!VERSIONS.includes(version)) {
    return E.left(specError('UnknownVariant', '', `Unknown version "${version}": expected one of ${VERSIONS.join(', ')}`));
  }
  if (!Object.hasOwn(STEMS, stem)) {
    return E.left(specError('UnknownVariant', '', `Unknown stem "${stem}": expected one of ${Object.keys(STEMS).join(', ')}`));
  }
  if (!isIntAtLeast(inChannels, 1) || !isIntAtLeast(classes, 1)) {
    return E.left(specError('InvalidInput', '', `input channels and classes must be integers ≥ 1, got ${inChannels} and ${classes}`));
  }
  const config = RESNETS[depth];
  const net = network(
    `resnet${depth}`,
    {
      block: config.block,
      stem: STEMS[stem],
      stages: config.blocks.map((blocks, i) => ({ blocks, width: WIDTHS[i] ?? 0, stride: STRIDES[i] ?? 1 })),
    },
    { inChannels, classes, strideOn: version === 'v1' ? '1x1' : '3x3' },
  );
  return E.right({ _tag: 'ResNet', depth, version, stem, inChannels, classes, net });
}

/** Narrows a number to a {@link Depth}. */
export function isDepth(depth: number): depth is Depth {
  return (DEPTHS as readonly number[]).includes(depth);
}
