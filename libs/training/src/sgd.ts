/**
 * Stochastic gradient descent with momentum, Nesterov momentum and weight decay,
 * with PyTorch's semantics (`torch.optim.SGD`, dampening 0):
 *
 *     d = g + λ·p            (λ: weight decay, on decayed parameters only)
 *     v = μ·v + d            (μ: momentum; v starts at 0, so the first v is d)
 *     p = p − η·(d + μ·v)    with Nesterov, else  p = p − η·v
 *
 * Weight decay applies where the spec's weight schema says a parameter decays (its role:
 * convolution and dense weights, not batch-norm scales/shifts or biases), unless
 * `decayAll`; the usual practice for ResNets.
 *
 * With `clipNorm`, g is first scaled by min(1, clipNorm / (‖g‖ + 1e-6)), ‖g‖ the L2 norm of
 * all parameters' gradients as one vector: PyTorch's `clip_grad_norm_` before `step()`, so the
 * decay term is not clipped. The fused kernels take that factor as their `gradScale` (d = s·g + λ·p
 * in the same pass), so a clipped step makes no scaled copy of the gradients.
 */
import * as tf from '@tensorflow/tfjs';
import { FUSED_KERNELS, SGD_CHUNK_ELEMENTS } from '@resnet/kernels';
import { weightSchema, type Layer, type WeightSpec } from '@resnet/spec';
import { backendHasKernel, type Model } from '@resnet/tfjs';

/** Hyper-parameters that do not change during a run (the learning rate does). */
export interface SgdConfig {
  readonly momentum: number;
  readonly nesterov: boolean;
  readonly weightDecay: number;
  /** Also decay batch-norm parameters and biases. Default false. */
  readonly decayAll?: boolean;
  /** Scale the gradient down to this global L2 norm when larger; null or absent: no clipping. */
  readonly clipNorm?: number | null;
  /**
   * Use the backend's fused `ResNetSgdMomentumMulti` kernel (one native pass over all
   * parameters; the onednn backend has it), else `ResNetSgdMomentum` (one pass per parameter), when present. Default true; `false` composes tfjs ops (tests compare).
   */
  readonly fused?: boolean;
}

/** Optimizer state: one velocity per trainable parameter, keyed like the model's params. */
export interface SgdState {
  readonly velocity: ReadonlyMap<string, tf.Variable>;
}

/**
 * Zero velocities for every parameter.
 * @example const state = createSgdState(model.params)
 */
export function createSgdState(params: ReadonlyMap<string, tf.Variable>): SgdState {
  // tidy: tf.variable copies its initial value, which would otherwise stay allocated.
  return { velocity: new Map([...params].map(([key, p]) => [key, tf.tidy(() => tf.variable(tf.zerosLike(p), false))])) };
}

/** Frees the velocities. */
export function disposeSgdState(state: SgdState): void {
  for (const v of state.velocity.values()) v.dispose();
}

/**
 * True when weight decay applies to a parameter of the weight schema: its role decays
 * (conv and dense weights, not batch-norm γ/β or biases), or `decayAll` is set.
 * @example isDecayed(weightSchema(net).find((w) => w.name === 'net.fc/weight'), {}) // true
 */
export function isDecayed(weight: Pick<WeightSpec, 'decays'>, config: Pick<SgdConfig, 'decayAll'>): boolean {
  return config.decayAll === true || weight.decays;
}

/**
 * Applies one update in place to `model.params` and `state` from `grads` (keyed like params);
 * which parameters decay is read from the weight schema of `model.spec`.
 * Allocates nothing that outlives the call.
 * @example sgdStep(model, grads, state, 0.1, { momentum: 0.9, nesterov: true, weightDecay: 5e-4 })
 */
export function sgdStep(
  model: Pick<Model, 'spec' | 'params'>,
  grads: ReadonlyMap<string, tf.Tensor>,
  state: SgdState,
  lr: number,
  config: SgdConfig,
): void {
  const { params } = model;
  const weightDecay = weightDecays(model, config);
  const scale = clipScale(grads, config.clipNorm ?? null, { fused: config.fused !== false });
  const has = (name: string): boolean => config.fused !== false && config.momentum !== 0 && backendHasKernel(name);
  if (has(FUSED_KERNELS.sgdMomentumMulti)) {
    sgdStepMulti(params, grads, state, lr, { momentum: config.momentum, nesterov: config.nesterov, weightDecay, scale });
    return;
  }
  const fused = has(FUSED_KERNELS.sgdMomentum);
  // One tidy per parameter: the temporaries of one update at a time.
  for (const [key, p] of params) {
    tf.tidy(() => {
      const { g: raw, v } = gradAndVelocity(key, grads, state);
      const decay = weightDecay(key);
      if (fused) {
        const attrs = { lr, momentum: config.momentum, weightDecay: decay, nesterov: config.nesterov, gradScale: scale };
        const [newP, newV] = tf.engine().runKernel(FUSED_KERNELS.sgdMomentum, { param: p, grad: raw, velocity: v }, attrs) as tf.Tensor[];
        if (newP === undefined || newV === undefined) throw new Error(`${FUSED_KERNELS.sgdMomentum} returned fewer than 2 outputs`);
        v.assign(newV);
        p.assign(newP);
        return;
      }
      const g = scale === 1 ? raw : tf.mul(raw, scale);
      const d = decay > 0 ? tf.add(g, tf.mul(p, decay)) : g;
      if (config.momentum === 0) {
        p.assign(tf.sub(p, tf.mul(d, lr)));
        return;
      }
      const velocity = tf.add(tf.mul(v, config.momentum), d);
      v.assign(velocity);
      const step = config.nesterov ? tf.add(d, tf.mul(velocity, config.momentum)) : velocity;
      p.assign(tf.sub(p, tf.mul(step, lr)));
    });
  }
}

/**
 * The L2 norm of all gradients as one vector, summed in float64 over the values as stored. Where the backend has
 * `ResNetSumSquares` (onednn) and `fused` is not false, that kernel sums: native, multithreaded, the same bits at any
 * thread count. Else one JS pass over the arrays `dataSync` hands over (on the CPU backends the backend's own, no
 * copy). What clipping costs a training step is measured with `train:serve --clip-norm` (README, train:serve).
 * @example globalGradNorm(new Map([['a', tf.tensor([3])], ['b', tf.tensor([4])]])) // 5
 */
export function globalGradNorm(grads: ReadonlyMap<string, tf.Tensor>, options: { readonly fused?: boolean } = {}): number {
  if (options.fused !== false && grads.size > 0 && backendHasKernel(FUSED_KERNELS.sumSquares)) {
    const inputs = Object.fromEntries([...grads.values()].map((g, i) => [`x${i}`, g]));
    const words = tf.tidy(() => (tf.engine().runKernel(FUSED_KERNELS.sumSquares, inputs) as tf.Tensor).dataSync());
    // The kernel's int32 [2] is the float64 sum's bits (@resnet/kernels).
    return Math.sqrt(new Float64Array(Int32Array.from(words).buffer)[0] ?? NaN);
  }
  let sum = 0;
  for (const g of grads.values()) {
    const values = g.dataSync();
    for (let i = 0; i < values.length; i++) sum += (values[i] as number) ** 2;
  }
  return Math.sqrt(sum);
}

/**
 * The factor a step's gradients are multiplied by under `clipNorm`: min(1, clipNorm / (‖g‖ + 1e-6)), as PyTorch's
 * `clip_grad_norm_` computes it (a NaN norm gives NaN, an infinite one 0: either makes the loss non-finite, which the training
 * loop stops on); 1 without clipping.
 * `options.fused`: as {@link globalGradNorm}'s.
 * @example clipScale(grads, null) // 1
 * @example clipScale(gradsOfNorm10, 2) // 0.19999998
 */
export function clipScale(
  grads: ReadonlyMap<string, tf.Tensor>,
  clipNorm: number | null,
  options: { readonly fused?: boolean } = {},
): number {
  if (clipNorm === null) return 1;
  return Math.min(1, clipNorm / (globalGradNorm(grads, options) + 1e-6));
}

// The weight decay of each parameter, by name, from the schema of the model's spec.
function weightDecays(model: Pick<Model, 'spec' | 'params'>, config: SgdConfig): (key: string) => number {
  const schema = schemaByName(model.spec);
  return (key) => {
    const weight = schema.get(key);
    if (weight === undefined) {
      const spec = model.spec.name;
      throw new Error(`sgdStep: parameter "${key}" is not in the weight schema of spec "${spec}": build the model with initModel`);
    }
    return config.weightDecay > 0 && isDecayed(weight, config) ? config.weightDecay : 0;
  };
}

// Specs are immutable data: the schema of one is computed once, not on every step.
const SCHEMAS = new WeakMap<Layer, ReadonlyMap<string, WeightSpec>>();

function schemaByName(spec: Layer): ReadonlyMap<string, WeightSpec> {
  const known = SCHEMAS.get(spec);
  if (known !== undefined) return known;
  const schema = new Map(weightSchema(spec).map((w) => [w.name, w]));
  SCHEMAS.set(spec, schema);
  return schema;
}

function gradAndVelocity(key: string, grads: ReadonlyMap<string, tf.Tensor>, state: SgdState): { g: tf.Tensor; v: tf.Variable } {
  const g = grads.get(key);
  const v = state.velocity.get(key);
  if (g === undefined || v === undefined)
    throw new Error(`sgdStep: no ${g === undefined ? 'gradient' : 'velocity'} for parameter "${key}"`);
  return { g, v };
}

// Parameters in `ResNetSgdMomentumMulti` kernels of up to SGD_CHUNK_ELEMENTS elements each:
// one native multithreaded pass per chunk instead of a kernel call (and an OpenMP fork/join)
// per tensor, and the new values of one chunk at a time; same per-element formula. A clipped
// step's factor is the kernel's gradScale: no scaled copy of any gradient.
function sgdStepMulti(
  params: ReadonlyMap<string, tf.Variable>,
  grads: ReadonlyMap<string, tf.Tensor>,
  state: SgdState,
  lr: number,
  config: Pick<SgdConfig, 'momentum' | 'nesterov'> & { readonly weightDecay: (key: string) => number; readonly scale: number },
): void {
  const chunks: [string, tf.Variable][][] = [[]];
  let elements = 0;
  for (const entry of params) {
    const last = chunks[chunks.length - 1] as [string, tf.Variable][];
    if (last.length > 0 && elements + entry[1].size > SGD_CHUNK_ELEMENTS) {
      chunks.push([entry]);
      elements = entry[1].size;
    } else {
      last.push(entry);
      elements += entry[1].size;
    }
  }
  for (const chunk of chunks) {
    if (chunk.length === 0) continue;
    tf.tidy(() => {
      const inputs: Record<string, tf.Tensor> = {};
      const weightDecays: number[] = [];
      const vars: [tf.Variable, tf.Variable][] = [];
      for (const [key, p] of chunk) {
        const { g, v } = gradAndVelocity(key, grads, state);
        const i = vars.length;
        inputs[`p${i}`] = p;
        inputs[`g${i}`] = g;
        inputs[`v${i}`] = v;
        weightDecays.push(config.weightDecay(key));
        vars.push([p, v]);
      }
      const out = tf.engine().runKernel(FUSED_KERNELS.sgdMomentumMulti, inputs, {
        lr,
        momentum: config.momentum,
        nesterov: config.nesterov,
        weightDecays,
        gradScale: config.scale,
      }) as tf.Tensor[];
      if (out.length !== 2 * vars.length)
        throw new Error(`${FUSED_KERNELS.sgdMomentumMulti} returned ${out.length} outputs for ${vars.length} parameters`);
      vars.forEach(([p, v], i) => {
        p.assign(out[2 * i] as tf.Tensor);
        v.assign(out[2 * i + 1] as tf.Tensor);
      });
    });
  }
}
