/**
 * Test helpers for the interpreter and its users (import as `@resnet/tfjs/testing`, from
 * tests only): checking a model's gradients element by element against central differences
 * of its loss, computed in float64 by a second interpreter of the spec.
 */
import * as tf from '@tensorflow/tfjs';
import { modelGradients, type LossHead } from './gradients.ts';
import { forward } from './forward.ts';
import type { Model } from './model.ts';
import { mulberry32 } from './random.ts';
import { referenceLoss, type Array64 } from './_reference_forward.ts';

/** Where an analytic gradient comes from: tfjs's tape over `forward`, or the interpreter's own backward pass (`modelGradients`, training's path). */
export type GradientSource = 'tape' | 'interpreter';

/** What {@link checkGradients} takes besides the model and the input batch. */
export interface GradientCheckOptions {
  /** The class of each example; the loss is the mean softmax cross-entropy of the logits. */
  readonly labels: readonly number[];
  /** Coordinates drawn per tensor (every element of a smaller tensor). Default 32. */
  readonly coordinates?: number;
  /** Seed of the coordinate draw. Default 1. */
  readonly seed?: number;
  /** Passed to `forward` and `modelGradients`: the backend's fused kernels where it has them. Default true. */
  readonly fused?: boolean;
  /** The step h of the central difference (absolute). Default 1e-6. */
  readonly step?: number;
  /** Which analytic gradients to check. Default both; only the tape differentiates the input. */
  readonly sources?: readonly GradientSource[];
}

/** One element whose analytic gradient is outside the allowed distance from the central difference. */
export interface Mismatch {
  readonly index: number;
  readonly analytic: number;
  readonly numeric: number;
}

/** The check of one tensor's gradient (a parameter, or `input`) from one source. */
export interface TensorCheck {
  readonly key: string;
  readonly source: GradientSource;
  /** Coordinates compared. */
  readonly checked: number;
  /** Of them, coordinates the loss does not depend on (the float64 loss did not move at ±h): the analytic gradient must be 0 there. */
  readonly zeros: number;
  /** Coordinates not compared because θ ± h crosses a ReLU or max-pool kink (the passes' kink signatures differ). */
  readonly kinks: number;
  /** Largest |analytic − numeric| / allowed over the compared coordinates: ≤ 1 agrees. */
  readonly worst: number;
  readonly mismatches: readonly Mismatch[];
}

/** Everything {@link checkGradients} found. */
export interface GradientReport {
  /** The loss at θ on the active backend (its last gradient pass) and in the float64 reference: they must agree, or the reference is not the spec's semantics. */
  readonly loss: { readonly backend: number; readonly reference: number };
  readonly tensors: readonly TensorCheck[];
}

// The bound. The central difference is taken in float64 with h = 1e-6: its truncation error
// h²·|L‴|/6 is ~1e-12 for these nets, and the rounding of L (|L| ≈ 2, ulp 4e-16, a few ulps for
// sums of 1e5 terms, mostly the same in L(θ+h) and L(θ−h)) gives ~1e-15/2h ≈ 1e-9: the
// numeric side is exact to ~1e-9 (the tiny nets' values agree to 4 digits from h = 1e-5 to
// 1e-7). The analytic side is float32: each element sums K ≤ 1e5 products of float32
// activations (relative error ~√K·u ≈ 2e-5, u = 6e-8), and batch norm's dx (dy − mean(dy) −
// x̂·mean(dy·x̂)) cancels terms of the tensor's gradient scale, so an element's error scales
// with the tensor's largest gradient as well as its own. Allowed:
// |a − n| ≤ TOLERANCE·(|n| + FLOOR·max|n| over the tensor's drawn coordinates), and where the
// loss does not move at ±h (n = 0), |a| ≤ TOLERANCE·FLOOR·max|n|. Measured: the 20–96-channel
// nets on onednn use ≤ 0.005 of it, the tiny ResNets on cpu at batch 8 ≤ 0.1. A net must be
// conditioned for this: at batch 4 with 1×1 stages (4 values per batch-norm channel) a 1e-6
// relative change of the input moves a float64 gradient element of a tiny ResNet by 2%, and
// float32's rounding moves the analytic one as much (forward_test uses batch 8). Kinks at θ
// itself are not detected (a ReLU input within float32 rounding of 0 gets one mask on the
// backend and the other in float64); the smallest such input measured here is 2e-4.
const TOLERANCE = 2e-3;
const FLOOR = 0.05;
// The float32 loss against the float64 reference at θ: relative.
const LOSS_TOLERANCE = 1e-5;

/**
 * Checks the gradient of the mean softmax cross-entropy of `forward(model, x, { training: true })`
 * with respect to every trainable tensor and the input `x`, element by element: at `coordinates`
 * seeded random coordinates of each tensor, the analytic gradient (tfjs's tape and the
 * interpreter's own backward pass, on the active backend) against the central difference
 * (L(θ + h·eᵢ) − L(θ − h·eᵢ)) / 2h of a float64 reference forward of the same spec and values.
 * A coordinate whose ±h passes cross a ReLU or max-pool kink is not compared but counted
 * (`kinks`); a coordinate the loss does not depend on must have analytic gradient 0 (`zeros`).
 * Running statistics are restored; the weights are not changed.
 * @example
 * const report = checkGradients(model, x, { labels: [0, 1, 2] });
 * expect(gradientFailures(report)).toEqual([]);
 */
export function checkGradients(model: Model, x: tf.Tensor4D, options: GradientCheckOptions): GradientReport {
  const { labels } = options;
  const count = options.coordinates ?? 32;
  const h = options.step ?? 1e-6;
  const fused = options.fused !== false;
  const sources = options.sources ?? ['tape', 'interpreter'];
  const running = [...model.state].map(([, v]) => [v, v.clone()] as const);

  // Analytic gradients, keyed like model.params, plus `input` from the tape.
  const analytic = new Map<GradientSource, Map<string, Float32Array>>();
  let backendLoss = NaN;
  const labelTensor = tf.tensor1d([...labels], 'int32');
  const head: LossHead = (logits) =>
    tf.tidy(() => {
      const onehot = tf.oneHot(labelTensor, logits.shape[1]);
      const logp = tf.logSoftmax(logits);
      return {
        loss: tf.neg(tf.mean(tf.sum(tf.mul(onehot, logp), 1))) as tf.Scalar,
        dlogits: tf.div(tf.sub(tf.exp(logp), onehot), labels.length),
      };
    });
  if (sources.includes('tape')) {
    const input = tf.variable(x, true, `gradient_check_input_${Date.now()}_${Math.random()}`);
    const params = [...model.params];
    const { value, grads } = tf.variableGrads(
      () =>
        tf.tidy(() => {
          const logits = forward(model, input, { training: true, fused }) as tf.Tensor2D;
          const { loss, dlogits } = head(logits);
          dlogits.dispose();
          return loss;
        }),
      [...params.map(([, v]) => v), input],
    );
    backendLoss = value.dataSync()[0] ?? NaN;
    const got = new Map(params.map(([k, v]) => [k, read(grads[v.name])]));
    got.set('input', read(grads[input.name]));
    analytic.set('tape', got);
    tf.dispose([value, input, ...Object.values(grads)]);
  }
  if (sources.includes('interpreter')) {
    const { loss, logits, grads } = modelGradients(model, x, head, { fused });
    backendLoss = loss.dataSync()[0] ?? NaN;
    analytic.set('interpreter', new Map([...model.params.keys()].map((k) => [k, read(grads.get(k))])));
    tf.dispose([loss, logits, ...grads.values()]);
  }
  labelTensor.dispose();
  for (const [v, saved] of running) {
    v.assign(saved);
    saved.dispose();
  }

  // The float64 side: the same values, perturbed one coordinate at a time.
  const tensors = new Map([...model.params].map(([k, v]) => [k, Float64Array.from(v.dataSync())]));
  const input: Array64 = { shape: x.shape, data: Float64Array.from(x.dataSync()) };
  const reference = referenceLoss(model.spec, labels);
  const base = reference.loss(tensors, input);
  const targets: [string, Float64Array][] = [
    ...tensors,
    ...(sources.includes('tape') ? [['input', input.data] as [string, Float64Array]] : []),
  ];
  const next = mulberry32(options.seed ?? 1);
  const checks: TensorCheck[] = [];
  for (const [key, values] of targets) {
    const coordinates = draw(values.length, count, next);
    const numeric: { index: number; n: number; zero: boolean }[] = [];
    let kinks = 0;
    for (const index of coordinates) {
      const v = values[index] ?? NaN;
      values[index] = v + h;
      const plus = reference.loss(tensors, input, key);
      values[index] = v - h;
      const minus = reference.loss(tensors, input, key);
      values[index] = v;
      if (plus.kinks !== base.kinks || minus.kinks !== base.kinks) kinks++;
      else numeric.push({ index, n: (plus.loss - minus.loss) / (2 * h), zero: plus.loss === base.loss && minus.loss === base.loss });
    }
    const scale = Math.max(0, ...numeric.map(({ n }) => Math.abs(n)));
    for (const [source, grads] of analytic) {
      const a = grads.get(key);
      if (a === undefined) continue;
      let worst = 0;
      const mismatches: Mismatch[] = [];
      for (const { index, n, zero } of numeric) {
        const got = a[index] ?? NaN;
        const allowed = TOLERANCE * ((zero ? 0 : Math.abs(n)) + FLOOR * scale);
        const error = Math.abs(got - (zero ? 0 : n));
        const ratio = error === 0 ? 0 : error / allowed;
        worst = Math.max(worst, Number.isNaN(ratio) ? Infinity : ratio);
        if (!(error <= allowed)) mismatches.push({ index, analytic: got, numeric: n });
      }
      checks.push({ key, source, checked: numeric.length, zeros: numeric.filter((c) => c.zero).length, kinks, worst, mismatches });
    }
  }
  return { loss: { backend: backendLoss, reference: base.loss }, tensors: checks };
}

/**
 * What a report says is wrong, one line each: the backend's loss off the reference's, a tensor
 * with no coordinate compared or more than a fifth of them skipped at kinks, every mismatching
 * element (a tensor without gradient mismatches at each). [] when all agree.
 * @example expect(gradientFailures(checkGradients(model, x, { labels }))).toEqual([])
 */
export function gradientFailures(report: GradientReport): string[] {
  const { backend, reference } = report.loss;
  const failures: string[] = [];
  if (!(Math.abs(backend - reference) <= LOSS_TOLERANCE * Math.max(1, Math.abs(reference))))
    failures.push(`loss ${backend} on the backend, ${reference} in the float64 reference`);
  for (const t of report.tensors) {
    if (t.checked === 0 || t.kinks > (t.checked + t.kinks) / 5)
      failures.push(`${t.key} (${t.source}): ${t.kinks} coordinates at kinks, ${t.checked} compared: take a smaller step`);
    for (const m of t.mismatches.slice(0, 3))
      failures.push(`${t.key} (${t.source}) [${m.index}]: analytic ${m.analytic.toExponential(4)}, numeric ${m.numeric.toExponential(4)}`);
    if (t.mismatches.length > 3) failures.push(`${t.key} (${t.source}): ${t.mismatches.length - 3} more mismatches`);
  }
  return failures;
}

/**
 * One line on a report: elements compared, zeros, kinks skipped, the worst error as a share of the allowed.
 * @example console.log(gradientSummary(report))
 */
export function gradientSummary(report: GradientReport): string {
  const sum = (f: (t: TensorCheck) => number) => report.tensors.reduce((s, t) => s + f(t), 0);
  const worst = report.tensors.reduce((w, t) => (t.worst > w.worst ? t : w), report.tensors[0] ?? { worst: 0, key: '-', source: 'tape' });
  return (
    `${sum((t) => t.checked)} elements of ${report.tensors.length} tensor gradients compared (${sum((t) => t.zeros)} where the loss does not depend on them), ` +
    `${sum((t) => t.kinks)} skipped at kinks; worst error ${worst.worst.toFixed(3)} of the allowed (${worst.key}, ${worst.source})`
  );
}

function read(t: tf.Tensor | undefined): Float32Array {
  return t === undefined ? new Float32Array() : Float32Array.from(t.dataSync());
}

// `count` distinct indices below `n` (all of them if n ≤ count), in drawn order.
function draw(n: number, count: number, next: () => number): number[] {
  if (n <= count) return Array.from({ length: n }, (_, i) => i);
  const chosen = new Set<number>();
  while (chosen.size < count) chosen.add(Math.floor(next() * n));
  return [...chosen];
}
