/**
 * The weight schema: every parameter and state tensor of a spec, in one fixed order, with
 * its name, shape and role. One pure fold that parameter counting, initialisation, the
 * interpreters, the exporters and the optimizer's weight decay all read, so a tensor's name
 * or shape is decided here and nowhere else.
 *
 * Names are `<layer path>/<suffix>` (`resnet18.conv2_x.1.conv1/weight`): checkpoints and
 * exported models on disk carry them, so a suffix never changes. Shapes are in the tfjs
 * layout: conv `[k, k, in, out]`, dense `[in, out]`, batch norm `[C]`.
 */
import { absurd } from 'fp-ts/function';
import { childPath, children, type Layer, type Residual } from './layer.ts';

/**
 * What a tensor does in its layer. Fans are PyTorch's (`_calculate_fan_in_and_fan_out`),
 * for initialisers: a convolution's are k²·in and k²·out, a dense layer's in and out; a
 * bias carries its weight's fan-in.
 * @example { _tag: 'ConvWeight', fanIn: 576, fanOut: 576 } // a 3×3 conv, 64 → 64 channels
 */
export type WeightRole =
  | { readonly _tag: 'ConvWeight'; readonly fanIn: number; readonly fanOut: number }
  | { readonly _tag: 'ConvBias'; readonly fanIn: number }
  | { readonly _tag: 'DenseWeight'; readonly fanIn: number; readonly fanOut: number }
  | { readonly _tag: 'DenseBias'; readonly fanIn: number }
  /** γ. `closesResidual`: the last batch norm on a residual unit's main branch (torchvision's `zero_init_residual` zeroes it). */
  | { readonly _tag: 'BatchNormScale'; readonly closesResidual: boolean }
  /** β. */
  | { readonly _tag: 'BatchNormOffset' }
  | { readonly _tag: 'BatchNormMean' }
  | { readonly _tag: 'BatchNormVariance' };

/**
 * The `_tag`s of {@link WeightRole}.
 * @example const role: WeightRoleTag = 'BatchNormScale'
 */
export type WeightRoleTag = WeightRole['_tag'];

/**
 * What a role decides about its tensor: the name suffix, trainable or state, weight decay.
 * @example { suffix: 'weight', trainable: true, decays: true } // a convolution's weight
 */
export interface RoleTraits {
  /** The part of the name after the layer path (PyTorch's attribute name). */
  readonly suffix: string;
  /** A parameter the optimizer updates; otherwise state (batch-norm running statistics). */
  readonly trainable: boolean;
  /** Weight decay applies (convolution and dense weights; not biases or batch norm, the usual practice for ResNets). */
  readonly decays: boolean;
}

/**
 * The traits of every role; a new role is one row here (the compiler asks).
 * @example WEIGHT_ROLES.BatchNormMean // { suffix: 'running_mean', trainable: false, decays: false }
 */
export const WEIGHT_ROLES = {
  ConvWeight: { suffix: 'weight', trainable: true, decays: true },
  ConvBias: { suffix: 'bias', trainable: true, decays: false },
  DenseWeight: { suffix: 'weight', trainable: true, decays: true },
  DenseBias: { suffix: 'bias', trainable: true, decays: false },
  BatchNormScale: { suffix: 'weight', trainable: true, decays: false },
  BatchNormOffset: { suffix: 'bias', trainable: true, decays: false },
  BatchNormMean: { suffix: 'running_mean', trainable: false, decays: false },
  BatchNormVariance: { suffix: 'running_var', trainable: false, decays: false },
} as const satisfies Record<WeightRoleTag, RoleTraits>;

/**
 * One tensor of a spec.
 * @example
 * { name: 'net.fc/bias', layer: 'net.fc', shape: [10], role: { _tag: 'DenseBias', fanIn: 512 }, trainable: true, decays: false }
 */
export interface WeightSpec {
  /** `<layer path>/<suffix>`, the key in models, checkpoints and exports. */
  readonly name: string;
  /** Dotted path of the layer that owns it. */
  readonly layer: string;
  readonly shape: readonly number[];
  readonly role: WeightRole;
  /** A parameter (trained); otherwise state. */
  readonly trainable: boolean;
  /** Weight decay applies to it by default. */
  readonly decays: boolean;
}

/**
 * Every parameter and state tensor of `net`, layer by layer in evaluation order (a residual
 * unit's main branch before its shortcut), each layer's in a fixed order: conv and dense
 * `weight`, `bias`; batch norm `weight`, `bias`, `running_mean`, `running_var`.
 * @example
 * weightSchema(sequential('net', [dense('fc', { inFeatures: 2, outFeatures: 3 })])).map((w) => `${w.name} [${w.shape}]`)
 * // ['net.fc/weight [2,3]', 'net.fc/bias [3]']
 */
export function weightSchema(net: Layer): readonly WeightSpec[] {
  return collect(net, net.name, false);
}

/**
 * The name of the tensor with `role` in the layer at `path`.
 * @example weightName('resnet18.conv1.bn', 'BatchNormVariance') // 'resnet18.conv1.bn/running_var'
 */
export function weightName(path: string, role: WeightRoleTag): string {
  return `${path}/${WEIGHT_ROLES[role].suffix}`;
}

function collect(layer: Layer, path: string, closesResidual: boolean): readonly WeightSpec[] {
  const closing = layer._tag === 'Residual' ? lastNorm(layer) : undefined;
  const closes = (child: Layer): boolean => child._tag === 'BatchNorm' && child.name === closing;
  const inside = children(layer).flatMap((child) => collect(child, childPath(path, child.name), closes(child)));
  return [...ownWeights(layer, path, closesResidual), ...inside];
}

function ownWeights(layer: Layer, path: string, closesResidual: boolean): readonly WeightSpec[] {
  const entry = (role: WeightRole, shape: readonly number[]): WeightSpec => {
    const { trainable, decays } = WEIGHT_ROLES[role._tag];
    return { name: weightName(path, role._tag), layer: path, shape, role, trainable, decays };
  };
  switch (layer._tag) {
    case 'Conv2d': {
      const { kernel: k, inChannels, outChannels } = layer;
      const fanIn = k * k * inChannels;
      return [
        entry({ _tag: 'ConvWeight', fanIn, fanOut: k * k * outChannels }, [k, k, inChannels, outChannels]),
        ...(layer.bias ? [entry({ _tag: 'ConvBias', fanIn }, [outChannels])] : []),
      ];
    }
    case 'BatchNorm': {
      const c = [layer.channels];
      return [
        entry({ _tag: 'BatchNormScale', closesResidual }, c),
        entry({ _tag: 'BatchNormOffset' }, c),
        entry({ _tag: 'BatchNormMean' }, c),
        entry({ _tag: 'BatchNormVariance' }, c),
      ];
    }
    case 'Dense': {
      const { inFeatures, outFeatures } = layer;
      return [
        entry({ _tag: 'DenseWeight', fanIn: inFeatures, fanOut: outFeatures }, [inFeatures, outFeatures]),
        ...(layer.bias ? [entry({ _tag: 'DenseBias', fanIn: inFeatures }, [outFeatures])] : []),
      ];
    }
    case 'Relu':
    case 'MaxPool':
    case 'GlobalAvgPool':
    case 'Sequential':
    case 'Residual':
      return [];
    default:
      return absurd(layer);
  }
}

/** Name of the last batch norm directly on a residual unit's main branch. */
function lastNorm(unit: Residual): string | undefined {
  return [...unit.main].reverse().find((l) => l._tag === 'BatchNorm')?.name;
}
