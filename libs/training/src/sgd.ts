/**
 * Stochastic gradient descent with momentum, Nesterov momentum and weight decay,
 * with PyTorch's semantics (`torch.optim.SGD`, dampening 0):
 *
 *     d = g + λ·p            (λ: weight decay, on decayed parameters only)
 *     v = μ·v + d            (μ: momentum; v starts at 0, so the first v is d)
 *     p = p − η·(d + μ·v)    with Nesterov, else  p = p − η·v
 *
 * Weight decay applies to convolution and dense weights only, not to batch-norm
 * scales/shifts or biases (unless `decayAll`), the usual practice for ResNets.
 */
import * as tf from '@tensorflow/tfjs';
import { FUSED_KERNELS, SGD_CHUNK_ELEMENTS } from '@resnet/kernels';
import { backendHasKernel } from '@resnet/tfjs';

/** Hyper-parameters that do not change during a run (the learning rate does). */
export interface SgdConfig {
  readonly momentum: number;
  readonly nesterov: boolean;
  readonly weightDecay: number;
  /** Also decay batch-norm parameters and biases. Default false. */
  readonly decayAll?: boolean;
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
 * True for the parameters weight decay applies to by default: conv and dense weights
 * (rank ≥ 2), not batch-norm γ/β or biases (rank 1).
 * @example isDecayed('net.fc/weight', fcWeight) // true
 */
export function isDecayed(key: string, param: tf.Tensor, config: Pick<SgdConfig, 'decayAll'>): boolean {
  return config.decayAll === true || (key.endsWith('/weight') && param.rank >= 2);
}

/**
 * Applies one update in place to `params` and `state` from `grads` (keyed like params).
 * Allocates nothing that outlives the call.
 * @example sgdStep(model.params, grads, state, 0.1, { momentum: 0.9, nesterov: true, weightDecay: 5e-4 })
 */
export function sgdStep(
  params: ReadonlyMap<string, tf.Variable>,
  grads: ReadonlyMap<string, tf.Tensor>,
  state: SgdState,
  lr: number,
  config: SgdConfig,
): void {
  const has = (name: string): boolean => config.fused !== false && config.momentum !== 0 && backendHasKernel(name);
  if (has(FUSED_KERNELS.sgdMomentumMulti)) {
    sgdStepMulti(params, grads, state, lr, config);
    return;
  }
  const fused = has(FUSED_KERNELS.sgdMomentum);
  // One tidy per parameter: the temporaries of one update at a time.
  for (const [key, p] of params) {
    tf.tidy(() => {
      const { g, v } = gradAndVelocity(key, grads, state);
      if (fused) {
        const weightDecay = config.weightDecay > 0 && isDecayed(key, p, config) ? config.weightDecay : 0;
        const [newP, newV] = tf.engine().runKernel(FUSED_KERNELS.sgdMomentum, { param: p, grad: g, velocity: v }, { lr, momentum: config.momentum, weightDecay, nesterov: config.nesterov }) as tf.Tensor[];
        if (newP === undefined || newV === undefined) throw new Error(`${FUSED_KERNELS.sgdMomentum} returned fewer than 2 outputs`);
        v.assign(newV);
        p.assign(newP);
        return;
      }
      const d = config.weightDecay > 0 && isDecayed(key, p, config) ? tf.add(g, tf.mul(p, config.weightDecay)) : g;
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

function gradAndVelocity(key: string, grads: ReadonlyMap<string, tf.Tensor>, state: SgdState): { g: tf.Tensor; v: tf.Variable } {
  const g = grads.get(key);
  const v = state.velocity.get(key);
  if (g === undefined || v === undefined) throw new Error(`sgdStep: no ${g === undefined ? 'gradient' : 'velocity'} for parameter "${key}"`);
  return { g, v };
}

// Parameters in `ResNetSgdMomentumMulti` kernels of up to SGD_CHUNK_ELEMENTS elements each:
// one native multithreaded pass per chunk instead of a kernel call (and an OpenMP fork/join)
// per tensor, and the new values of one chunk at a time; same per-element formula.
function sgdStepMulti(params: ReadonlyMap<string, tf.Variable>, grads: ReadonlyMap<string, tf.Tensor>, state: SgdState, lr: number, config: SgdConfig): void {
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
    const inputs: Record<string, tf.Tensor> = {};
    const weightDecays: number[] = [];
    const vars: [tf.Variable, tf.Variable][] = [];
    for (const [key, p] of chunk) {
      const { g, v } = gradAndVelocity(key, grads, state);
      const i = vars.length;
      inputs[`p${i}`] = p;
      inputs[`g${i}`] = g;
      inputs[`v${i}`] = v;
      weightDecays.push(config.weightDecay > 0 && isDecayed(key, p, config) ? config.weightDecay : 0);
      vars.push([p, v]);
    }
    if (vars.length === 0) continue;
    tf.tidy(() => {
      const out = tf.engine().runKernel(FUSED_KERNELS.sgdMomentumMulti, inputs, { lr, momentum: config.momentum, nesterov: config.nesterov, weightDecays }) as tf.Tensor[];
      if (out.length !== 2 * vars.length) throw new Error(`${FUSED_KERNELS.sgdMomentumMulti} returned ${out.length} outputs for ${vars.length} parameters`);
      vars.forEach(([p, v], i) => {
        p.assign(out[2 * i] as tf.Tensor);
        v.assign(out[2 * i + 1] as tf.Tensor);
      });
    });
  }
}
