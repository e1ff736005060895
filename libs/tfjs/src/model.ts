/**
 * A model is a spec plus the tfjs variables that realise it, keyed by
 * `<layer path>/<weight name>` (e.g. `resnet18.conv2_x.1.conv1/weight`).
 */
import * as tf from '@tensorflow/tfjs';
import { absurd } from 'fp-ts/function';
import { children, childPath, type Layer, type Residual } from '@resnet/spec';
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
  const zeroGammas = options.zeroInitResidual === true ? lastNormsOfResiduals(spec, spec.name) : new Set<string>();
  const params = new Map<string, tf.Variable>();
  const state = new Map<string, tf.Variable>();
  let counter = 0;
  const nextSeed = () => seed * 1_000_003 + counter++;

  const visit = (layer: Layer, path: string): void => {
    switch (layer._tag) {
      case 'Conv2d': {
        const std = Math.sqrt(2 / (layer.kernel * layer.kernel * layer.outChannels));
        const shape = [layer.kernel, layer.kernel, layer.inChannels, layer.outChannels];
        params.set(`${path}/weight`, tf.variable(tf.tensor(normalArray(shape.reduce((a, b) => a * b, 1), std, nextSeed()), shape)));
        if (layer.bias) params.set(`${path}/bias`, tf.variable(uniform([layer.outChannels], layer.kernel * layer.kernel * layer.inChannels, nextSeed())));
        return;
      }
      case 'BatchNorm':
        params.set(`${path}/weight`, tf.variable(zeroGammas.has(path) ? tf.zeros([layer.channels]) : tf.ones([layer.channels])));
        params.set(`${path}/bias`, tf.variable(tf.zeros([layer.channels])));
        state.set(`${path}/running_mean`, tf.variable(tf.zeros([layer.channels]), false));
        state.set(`${path}/running_var`, tf.variable(tf.ones([layer.channels]), false));
        return;
      case 'Dense':
        params.set(`${path}/weight`, tf.variable(uniform([layer.inFeatures, layer.outFeatures], layer.inFeatures, nextSeed())));
        if (layer.bias) params.set(`${path}/bias`, tf.variable(uniform([layer.outFeatures], layer.inFeatures, nextSeed())));
        return;
      case 'Relu':
      case 'MaxPool':
      case 'GlobalAvgPool':
        return;
      case 'Sequential':
      case 'Residual':
        for (const child of children(layer)) visit(child, childPath(path, child.name));
        return;
      default:
        return absurd(layer);
    }
  };
  tf.tidy(() => visit(spec, spec.name));
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

/** The variable at `key`, or a clear error naming the missing weight. */
export function weight(vars: ReadonlyMap<string, tf.Variable>, key: string): tf.Variable {
  const v = vars.get(key);
  if (v === undefined) throw new Error(`model has no variable "${key}": was it built from this spec with initModel?`);
  return v;
}

function uniform(shape: number[], fanIn: number, seed: number): tf.Tensor {
  return tf.tensor(uniformArray(shape.reduce((a, b) => a * b, 1), 1 / Math.sqrt(fanIn), seed), shape);
}

/** Paths of the last batch norm on the main branch of every residual unit. */
function lastNormsOfResiduals(layer: Layer, path: string): Set<string> {
  const found = new Set<string>();
  const visit = (l: Layer, p: string): void => {
    if (l._tag === 'Residual') {
      const last = lastNorm(l);
      if (last !== undefined) found.add(childPath(p, last));
    }
    for (const child of children(l)) visit(child, childPath(p, child.name));
  };
  visit(layer, path);
  return found;
}

function lastNorm(unit: Residual): string | undefined {
  return [...unit.main].reverse().find((l) => l._tag === 'BatchNorm')?.name;
}
