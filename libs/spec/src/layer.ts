/**
 * Layer specs: immutable, JSON-serialisable descriptions of network layers.
 *
 * A spec is plain data with a `_tag` discriminant and a `name` that is unique among
 * its siblings; a layer's path (`conv3_x.1.conv2`) is its ancestors' names joined by
 * dots. Nothing here imports tfjs or does I/O: interpreters live elsewhere.
 *
 * Layout is NHWC, as in TensorFlow.js: an image batch has shape `[N, H, W, C]`,
 * a feature batch `[N, F]`.
 *
 * @example
 * import { conv2d, batchNorm, relu, sequential } from '@resnet/spec';
 * const stem = sequential('conv1', [
 *   conv2d('conv', { inChannels: 3, outChannels: 64, kernel: 7, stride: 2, padding: 3 }),
 *   batchNorm('bn', { channels: 64 }),
 *   relu('relu'),
 * ]);
 */
import { absurd } from 'fp-ts/function';

/** A 2-D convolution with a square kernel, symmetric zero padding and no dilation. */
export interface Conv2d {
  readonly _tag: 'Conv2d';
  readonly name: string;
  readonly inChannels: number;
  readonly outChannels: number;
  readonly kernel: number;
  readonly stride: number;
  readonly padding: number;
  /** Convolutions followed by batch norm carry no bias: the norm's shift replaces it. */
  readonly bias: boolean;
}

/** Batch normalisation over the last (channel) axis; PyTorch's defaults. */
export interface BatchNorm {
  readonly _tag: 'BatchNorm';
  readonly name: string;
  readonly channels: number;
  readonly epsilon: number;
  /** Weight of the new batch statistic in the moving average (PyTorch's `momentum`). */
  readonly momentum: number;
}

/** Rectified linear unit, applied element-wise. */
export interface Relu {
  readonly _tag: 'Relu';
  readonly name: string;
}

/** Max pooling with a square window; padding counts as -infinity, as in PyTorch. */
export interface MaxPool {
  readonly _tag: 'MaxPool';
  readonly name: string;
  readonly kernel: number;
  readonly stride: number;
  readonly padding: number;
}

/** Mean over height and width: `[N, H, W, C]` → `[N, C]` (pool and flatten in one). */
export interface GlobalAvgPool {
  readonly _tag: 'GlobalAvgPool';
  readonly name: string;
}

/** A fully connected layer: `[N, inFeatures]` → `[N, outFeatures]`. */
export interface Dense {
  readonly _tag: 'Dense';
  readonly name: string;
  readonly inFeatures: number;
  readonly outFeatures: number;
  readonly bias: boolean;
}

/** Its layers applied one after another. */
export interface Sequential {
  readonly _tag: 'Sequential';
  readonly name: string;
  readonly layers: readonly Layer[];
}

/**
 * `activation(main(x) + shortcut(x))`: a residual unit. An empty `shortcut` is the
 * identity; a non-empty one is a projection (the paper's option B: 1×1 conv + norm).
 * Main and shortcut layers are children of the unit and share one namespace.
 */
export interface Residual {
  readonly _tag: 'Residual';
  readonly name: string;
  readonly main: readonly Layer[];
  readonly shortcut: readonly Layer[];
  readonly activation: 'relu' | 'identity';
}

/** Every kind of layer an interpreter must handle. */
export type Layer = Conv2d | BatchNorm | Relu | MaxPool | GlobalAvgPool | Dense | Sequential | Residual;

/** The `_tag`s of {@link Layer}, for exhaustive switches and generators. */
export type LayerTag = Layer['_tag'];

/**
 * Whether each kind of layer holds other layers. A new kind must be placed here (the
 * compiler asks), which decides where the interpreters must handle it: among the leaves,
 * or beside Sequential and Residual.
 */
const HOLDS_LAYERS = {
  Conv2d: false,
  BatchNorm: false,
  Relu: false,
  MaxPool: false,
  GlobalAvgPool: false,
  Dense: false,
  Sequential: true,
  Residual: true,
} as const satisfies Record<LayerTag, boolean>;

type ContainerTag = { [K in LayerTag]: (typeof HOLDS_LAYERS)[K] extends true ? K : never }[LayerTag];

/** The layers that hold other layers: Sequential and Residual. */
export type Container = Extract<Layer, { readonly _tag: ContainerTag }>;

/** The layers without children, which interpreters handle kind by kind. */
export type Leaf = Exclude<Layer, Container>;

/**
 * Whether a layer has no children.
 * @example isLeaf(relu('r')) // true; isLeaf(sequential('s', [])) // false
 */
export function isLeaf(layer: Layer): layer is Leaf {
  return !HOLDS_LAYERS[layer._tag];
}

/**
 * A convolution. Defaults: stride 1, padding 0, no bias.
 * @example conv2d('conv1', { inChannels: 64, outChannels: 64, kernel: 3, padding: 1 })
 */
export function conv2d(
  name: string,
  options: {
    readonly inChannels: number;
    readonly outChannels: number;
    readonly kernel: number;
    readonly stride?: number;
    readonly padding?: number;
    readonly bias?: boolean;
  },
): Conv2d {
  return {
    _tag: 'Conv2d',
    name,
    inChannels: options.inChannels,
    outChannels: options.outChannels,
    kernel: options.kernel,
    stride: options.stride ?? 1,
    padding: options.padding ?? 0,
    bias: options.bias ?? false,
  };
}

/**
 * Batch normalisation with PyTorch's defaults (epsilon 1e-5, momentum 0.1).
 * @example batchNorm('bn1', { channels: 64 })
 */
export function batchNorm(
  name: string,
  options: { readonly channels: number; readonly epsilon?: number; readonly momentum?: number },
): BatchNorm {
  return { _tag: 'BatchNorm', name, channels: options.channels, epsilon: options.epsilon ?? 1e-5, momentum: options.momentum ?? 0.1 };
}

/** @example relu('relu') */
export function relu(name: string): Relu {
  return { _tag: 'Relu', name };
}

/**
 * Max pooling. Defaults: stride = kernel, padding 0.
 * @example maxPool('pool', { kernel: 3, stride: 2, padding: 1 })
 */
export function maxPool(name: string, options: { readonly kernel: number; readonly stride?: number; readonly padding?: number }): MaxPool {
  return { _tag: 'MaxPool', name, kernel: options.kernel, stride: options.stride ?? options.kernel, padding: options.padding ?? 0 };
}

/** @example globalAvgPool('avgpool') */
export function globalAvgPool(name: string): GlobalAvgPool {
  return { _tag: 'GlobalAvgPool', name };
}

/**
 * A fully connected layer, with bias by default.
 * @example dense('fc', { inFeatures: 512, outFeatures: 10 })
 */
export function dense(
  name: string,
  options: { readonly inFeatures: number; readonly outFeatures: number; readonly bias?: boolean },
): Dense {
  return { _tag: 'Dense', name, inFeatures: options.inFeatures, outFeatures: options.outFeatures, bias: options.bias ?? true };
}

/** @example sequential('head', [globalAvgPool('avgpool'), dense('fc', { inFeatures: 512, outFeatures: 10 })]) */
export function sequential(name: string, layers: readonly Layer[]): Sequential {
  return { _tag: 'Sequential', name, layers };
}

/**
 * A residual unit; `shortcut: []` is the identity, activation defaults to ReLU.
 * @example residual('1', { main: [conv, bn, relu('relu1'), conv2, bn2], shortcut: [] })
 */
export function residual(
  name: string,
  options: { readonly main: readonly Layer[]; readonly shortcut?: readonly Layer[]; readonly activation?: 'relu' | 'identity' },
): Residual {
  return { _tag: 'Residual', name, main: options.main, shortcut: options.shortcut ?? [], activation: options.activation ?? 'relu' };
}

/**
 * The direct children of a layer, in evaluation order (main before shortcut).
 * @example children(sequential('s', [relu('a')])) // [relu('a')]
 */
export function children(layer: Layer): readonly Layer[] {
  if (isLeaf(layer)) return [];
  switch (layer._tag) {
    case 'Sequential':
      return layer.layers;
    case 'Residual':
      return [...layer.main, ...layer.shortcut];
    default:
      return absurd(layer);
  }
}

/**
 * Joins a parent path and a child name: `childPath('conv2_x', '1') === 'conv2_x.1'`.
 * The root's path is its own name.
 */
export function childPath(parent: string, name: string): string {
  return parent === '' ? name : `${parent}.${name}`;
}
