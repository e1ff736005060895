/**
 * Test helpers for the interpreter and its users (import as `@resnet/tfjs/testing`, from
 * tests only): checking a model's gradients against finite differences of its loss.
 */
import * as tf from '@tensorflow/tfjs';
import type { Model } from './model.ts';

/** For one weight tensor: whether its gradient agrees with finite differences. */
export interface GradientCheck {
  readonly key: string;
  readonly agrees: boolean;
}

/**
 * Checks every weight tensor's gradient of `loss` against finite differences: the
 * directional derivative along the gradient itself, g·g = (L(w + εg) − L(w − εg)) / 2ε. ReLU
 * and max-pool kinks want a small ε, float32 a large one: ε moves the loss by 1e-2, 1e-3 or
 * 1e-4, and the closest estimate must be within `tolerance` (relative). A wrong gradient
 * agrees at none. Tensors with a zero gradient are skipped. Weights are restored.
 * @example expect(checkGradients(model, loss).filter((c) => !c.agrees)).toEqual([])
 */
export function checkGradients(model: Model, loss: () => tf.Scalar, tolerance = 0.03): readonly GradientCheck[] {
  const { value, grads } = tf.variableGrads(loss, [...model.params.values()]);
  const lossAt = () => tf.tidy(() => loss().dataSync()[0] ?? NaN);
  const checks: GradientCheck[] = [];
  for (const [key, v] of model.params) {
    const g = grads[v.name];
    if (g === undefined) {
      checks.push({ key, agrees: false });
      continue;
    }
    const gg = tf.tidy(() => tf.sum(tf.mul(g, g)).dataSync()[0] ?? NaN);
    if (gg < 1e-12) continue;
    const original = v.clone();
    const errors = [1e-2, 1e-3, 1e-4].map((change) => {
      const eps = change / gg;
      v.assign(tf.tidy(() => tf.add(original, tf.mul(g, eps))));
      const plus = lossAt();
      v.assign(tf.tidy(() => tf.sub(original, tf.mul(g, eps))));
      const minus = lossAt();
      return Math.abs((plus - minus) / (2 * eps) - gg) / gg;
    });
    v.assign(original);
    original.dispose();
    checks.push({ key, agrees: Math.min(...errors) < tolerance });
  }
  tf.dispose([value, ...Object.values(grads)]);
  return checks;
}
