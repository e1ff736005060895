/**
 * A model is a spec plus the tfjs variables that realise it, one per entry of the spec's
 * weight schema (`weightSchema` in @resnet/spec) and keyed by its names
 * (e.g. `resnet18.conv2_x.1.conv1/weight`).
 */
import * as tf from '@tensorflow/tfjs';
import { absurd } from 'fp-ts/function';
import { weightName, weightSchema, WEIGHT_ROLES, type Layer, type WeightRoleTag, type WeightSpec } from '@resnet/spec';
import { normalArray, uniformArray } from './random.ts';

/** Spec + variables. Trainable weights and batch-norm statistics are kept apart. */
export interface Model {
  readonly spec: Layer;
  /** Trainable weights: conv/dense `weight` and `bias`, batch-norm `weight` (γ) and `bias` (β). */
  readonly params: ReadonlyMap<string, tf.Variable>;
  /** Non-trainable state: batch-norm `running_mean` and `running_var`. */
  readonly state: ReadonlyMap<string, tf.Variable>;
}

/** How to initialise a model's weights. */
export interface InitOptions {
  /** Seed for every random initialiser; the same seed gives the same weights. Default 0. */
  readonly seed?: number;
  /**
   * Start each residual unit's last batch-norm scale at 0, so every block begins as
   * the identity (Goyal et al. 2017; torchvision's `zero_init_residual`). Default false.
   */
  readonly zeroInitResidual?: boolean;
}

/**
 * Creates the variables of a spec, initialised as torchvision does: convolutions
 * He-normal with fan-out (`kaiming_normal_(mode='fan_out', nonlinearity='relu')`),
 * batch norm γ = 1, β = 0, dense layers uniform in ±1/√fan_in.
 * Weight layouts are tfjs's: conv `[k, k, in, out]`, dense `[in, out]`.
 * @example
 * const model = initModel(spec.net, { seed: 42, zeroInitResidual: true });
 * disposeModel(model);
 */
export function initModel(spec: Layer, options: InitOptions = {}): Model {
  const seed = options.seed ?? 0;
  const zeroInitResidual = options.zeroInitResidual === true;
  const params = new Map<string, tf.Variable>();
  const state = new Map<string, tf.Variable>();
  let counter = 0;
  const nextSeed = () => seed * 1_000_003 + counter++;
  tf.tidy(() => {
    for (const w of weightSchema(spec)) {
      (w.trainable ? params : state).set(w.name, tf.variable(initialValue(w, zeroInitResidual, nextSeed), w.trainable));
    }
  });
  return { spec, params, state };
}

/**
 * Disposes every variable of a model.
 * @example disposeModel(model)
 */
export function disposeModel(model: Model): void {
  for (const v of [...model.params.values(), ...model.state.values()]) v.dispose();
}

/**
 * Number of trainable and non-trainable scalars actually allocated.
 * @example countWeights(initModel(spec.net)).trainable // 11175370 for ResNet-18, 1 channel, 10 classes
 */
export function countWeights(model: Model): { readonly trainable: number; readonly nonTrainable: number } {
  const sum = (vars: Iterable<tf.Variable>) => [...vars].reduce((n, v) => n + v.size, 0);
  return { trainable: sum(model.params.values()), nonTrainable: sum(model.state.values()) };
}

/**
 * The variable of the layer at `path` with `role`, from `params` or `state` as the weight schema says.
 * @example layerVariable(model, 'resnet18.conv1.bn', 'BatchNormMean') // the variable 'resnet18.conv1.bn/running_mean'
 */
export function layerVariable(model: Pick<Model, 'params' | 'state'>, path: string, role: WeightRoleTag): tf.Variable {
  return weight(WEIGHT_ROLES[role].trainable ? model.params : model.state, weightName(path, role));
}

/** The variable at `key`, or a clear error naming the missing weight. */
export function weight(vars: ReadonlyMap<string, tf.Variable>, key: string): tf.Variable {
  const v = vars.get(key);
  if (v === undefined) throw new Error(`model has no variable "${key}": was it built from this spec with initModel?`);
  return v;
}

// Random initialisers draw their seeds in schema order, so the same spec and seed give the same weights.
function initialValue(w: WeightSpec, zeroInitResidual: boolean, nextSeed: () => number): tf.Tensor {
  const shape = [...w.shape];
  const { role } = w;
  switch (role._tag) {
    case 'ConvWeight':
      return tf.tensor(normalArray(size(shape), Math.sqrt(2 / role.fanOut), nextSeed()), shape);
    case 'ConvBias':
    case 'DenseWeight':
    case 'DenseBias':
      return uniform(shape, role.fanIn, nextSeed());
    case 'BatchNormScale':
      return zeroInitResidual && role.closesResidual ? tf.zeros(shape) : tf.ones(shape);
    case 'BatchNormOffset':
    case 'BatchNormMean':
      return tf.zeros(shape);
    case 'BatchNormVariance':
      return tf.ones(shape);
    default:
      return absurd(role);
  }
}

function uniform(shape: number[], fanIn: number, seed: number): tf.Tensor {
  return tf.tensor(uniformArray(size(shape), 1 / Math.sqrt(fanIn), seed), shape);
}

function size(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}
