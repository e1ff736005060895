/**
 * Residual building blocks of He et al. 2016 (Fig. 5): the basic block and the
 * bottleneck, with projection shortcuts (option B) where the shape changes.
 */
import { batchNorm, conv2d, relu, residual, type Layer, type Residual } from '@resnet/spec';

/** Which layer of a bottleneck carries the down-sampling stride. */
export type StridePlacement = '1x1' | '3x3';

/** Where a block sits: its input channels, its width (3×3 channels) and stride. */
export interface BlockArgs {
  readonly inChannels: number;
  readonly width: number;
  readonly stride: number;
}

/** A block kind as data: how to build one, and how much wider its output is than its width. */
export interface BlockKind {
  readonly _tag: 'Basic' | 'Bottleneck';
  /** Output channels = width × expansion (1 for basic, 4 for bottleneck). */
  readonly expansion: number;
}

/** Basic block: 3×3 → 3×3, expansion 1. */
export const basic: BlockKind = { _tag: 'Basic', expansion: 1 };
/** Bottleneck: 1×1 reduce → 3×3 → 1×1 expand, expansion 4. */
export const bottleneck: BlockKind = { _tag: 'Bottleneck', expansion: 4 };

/**
 * A basic block: `relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x))`.
 * The stride is on the first 3×3.
 * @example basicBlock('1', { inChannels: 64, width: 128, stride: 2 })
 */
export function basicBlock(name: string, args: BlockArgs): Residual {
  const { inChannels, width, stride } = args;
  return residual(name, {
    main: [
      conv2d('conv1', { inChannels, outChannels: width, kernel: 3, stride, padding: 1 }),
      batchNorm('bn1', { channels: width }),
      relu('relu1'),
      conv2d('conv2', { inChannels: width, outChannels: width, kernel: 3, padding: 1 }),
      batchNorm('bn2', { channels: width }),
    ],
    shortcut: projection(inChannels, width, stride),
  });
}

/**
 * A bottleneck block: 1×1 (width) → 3×3 (width) → 1×1 (4 × width), plus shortcut.
 * `strideOn: '1x1'` is the paper's v1 (stride on the first 1×1); `'3x3'` is
 * torchvision's v1.5 (stride on the 3×3), which costs more MACs and trains better.
 * @example bottleneckBlock('1', { inChannels: 256, width: 128, stride: 2 }, '3x3')
 */
export function bottleneckBlock(name: string, args: BlockArgs, strideOn: StridePlacement): Residual {
  const { inChannels, width, stride } = args;
  const out = width * bottleneck.expansion;
  return residual(name, {
    main: [
      conv2d('conv1', { inChannels, outChannels: width, kernel: 1, stride: strideOn === '1x1' ? stride : 1 }),
      batchNorm('bn1', { channels: width }),
      relu('relu1'),
      conv2d('conv2', { inChannels: width, outChannels: width, kernel: 3, stride: strideOn === '3x3' ? stride : 1, padding: 1 }),
      batchNorm('bn2', { channels: width }),
      relu('relu2'),
      conv2d('conv3', { inChannels: width, outChannels: out, kernel: 1 }),
      batchNorm('bn3', { channels: out }),
    ],
    shortcut: projection(inChannels, out, stride),
  });
}

/**
 * Builds one block of the given kind.
 * @example block(bottleneck, '1', { inChannels: 64, width: 64, stride: 1 }, '1x1')
 */
export function block(kind: BlockKind, name: string, args: BlockArgs, strideOn: StridePlacement): Residual {
  return kind._tag === 'Basic' ? basicBlock(name, args) : bottleneckBlock(name, args, strideOn);
}

/** Identity when the shape is kept, else a 1×1 conv + batch norm (option B). */
function projection(inChannels: number, outChannels: number, stride: number): readonly Layer[] {
  return stride === 1 && inChannels === outChannels
    ? []
    : [conv2d('shortcut_conv', { inChannels, outChannels, kernel: 1, stride }), batchNorm('shortcut_bn', { channels: outChannels })];
}
