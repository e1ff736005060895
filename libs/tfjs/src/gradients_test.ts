// The interpreter's own backward pass against tfjs's tape, the reference: the same loss,
// logits, parameter gradients and running statistics on every block kind, stride placement
// and stem, with the fused kernels and without, and far less memory at the peak.
import * as tf from '@tensorflow/tfjs';
import { weightSchema } from '@resnet/spec';
import { basic, bottleneck, type BlockKind } from '@resnet/variants';
import { forward } from './forward.ts';
import { modelGradients, type LossHead } from './gradients.ts';
import { disposeModel, initModel, weight, type Model } from './model.ts';
import { recording, schemaRows, tensorRows, tinyResNet, useBackend } from './_test_support.ts';

beforeAll(useBackend);

const BATCH = 6;
const LABELS = [0, 3, 9, 1, 3, 7];

// Mean softmax cross-entropy and its logits gradient (softmax − onehot)/B, written here in tfjs
// ops so this lib's test needs nothing of @resnet/training.
const head =
  (labels: tf.Tensor2D): LossHead =>
  (logits) =>
    tf.tidy(() => ({
      loss: tf.losses.softmaxCrossEntropy(labels, logits) as tf.Scalar,
      dlogits: tf.div(tf.sub(tf.softmax(logits), labels), logits.shape[0]) as tf.Tensor2D,
    }));

interface Outcome {
  readonly loss: number;
  readonly logits: Float32Array;
  readonly grads: ReadonlyMap<string, Float32Array>;
  readonly state: ReadonlyMap<string, Float32Array>;
}

function run(
  kind: BlockKind,
  options: { strideOn: '1x1' | '3x3'; stem: 'imagenet' | 'small' },
  fused: boolean,
  path: 'explicit' | 'tape',
): Outcome {
  const model = initModel(tinyResNet(kind, options), { seed: 11 });
  // Random batch-norm scales (not the initial ones) so every gradient term matters.
  for (const w of weightSchema(model.spec)) {
    const random = () => tf.randomUniform([...w.shape], 0.5, 1.5, 'float32', 3);
    if (w.role._tag === 'BatchNormScale') weight(model.params, w.name).assign(tf.tidy(random));
  }
  const size = options.stem === 'imagenet' ? 20 : 10;
  const x = tf.randomNormal([BATCH, size, size, 1], 0, 1, 'float32', 7) as tf.Tensor4D;
  const labels = tf.oneHot(tf.tensor1d(LABELS, 'int32'), 10) as tf.Tensor2D;
  let result: { loss: tf.Scalar; logits: tf.Tensor; grads: ReadonlyMap<string, tf.Tensor> };
  if (path === 'explicit') {
    result = modelGradients(model, x, head(labels), { fused });
  } else {
    let logits: tf.Tensor | undefined;
    const vars = [...model.params.values()];
    const { value, grads } = tf.variableGrads(() => {
      logits = tf.keep(forward(model, x, { training: true, fused }));
      return tf.losses.softmaxCrossEntropy(labels, logits) as tf.Scalar;
    }, vars);
    result = {
      loss: value,
      logits: logits as tf.Tensor,
      grads: new Map([...model.params.keys()].map((k, i) => [k, grads[vars[i]?.name ?? ''] as tf.Tensor])),
    };
  }
  const outcome: Outcome = {
    loss: result.loss.dataSync()[0] ?? NaN,
    logits: result.logits.dataSync() as Float32Array,
    grads: new Map([...result.grads].map(([k, g]) => [k, g.dataSync() as Float32Array])),
    state: new Map([...model.state].map(([k, v]) => [k, v.dataSync() as Float32Array])),
  };
  tf.dispose([result.loss, result.logits, ...result.grads.values(), x, labels]);
  disposeModel(model);
  return outcome;
}

// Largest difference relative to the reference tensor's largest magnitude.
function relativeError(a: Float32Array | undefined, b: Float32Array | undefined): number {
  if (a === undefined || b === undefined || a.length !== b.length) return Infinity;
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs((a[i] ?? NaN) - (b[i] ?? NaN)));
    scale = Math.max(scale, Math.abs(b[i] ?? NaN));
  }
  return Number.isNaN(diff) ? Infinity : diff / Math.max(scale, 1e-30);
}

// On this lib's backend (cpu: no fused kernels) `fused` changes nothing; the fused kernels'
// path is compared with the tape on onednn in libs/training/src/fused_test.ts (ResNet-50).
const CASES = [basic, bottleneck].flatMap((kind) =>
  (['1x1', '3x3'] as const).flatMap((strideOn) => (['imagenet', 'small'] as const).map((stem) => ({ kind, strideOn, stem, fused: true }))),
);

describe('modelGradients', () => {
  test.each(CASES)(
    '$kind._tag, stride on $strideOn, $stem stem: the tape’s loss, logits, gradients and running statistics',
    ({ kind, strideOn, stem, fused }) => {
      const explicit = run(kind, { strideOn, stem }, fused, 'explicit');
      const tape = run(kind, { strideOn, stem }, fused, 'tape');
      expect(Math.abs(explicit.loss - tape.loss)).toBeLessThan(1e-5 * Math.abs(tape.loss));
      expect(relativeError(explicit.logits, tape.logits)).toBeLessThan(1e-5);
      expect([...explicit.grads.keys()].sort()).toEqual([...tape.grads.keys()].sort());
      const worst = [...tape.grads]
        .map(([key, g]) => ({ key, error: relativeError(explicit.grads.get(key), g) }))
        .filter((e) => !(e.error < 1e-4));
      expect(worst).toEqual([]);
      for (const [key, s] of tape.state)
        expect({ key, error: relativeError(explicit.state.get(key), s) < 1e-6 }).toEqual({ key, error: true });
      // The gradients are not all zero (a pass that returned zeros would agree with nothing else).
      expect([...explicit.grads.values()].every((g) => g.some((v) => v !== 0))).toBe(true);
    },
  );

  test('reads exactly the weight schema’s tensors and returns one gradient per trainable tensor, with its shape', () => {
    for (const net of [basic, bottleneck].map((kind) => tinyResNet(kind, { stem: 'imagenet' }))) {
      const model = initModel(net, { seed: 1 });
      const spy = recording(model);
      const x = tf.randomNormal([2, 20, 20, 1], 0, 1, 'float32', 2) as tf.Tensor4D;
      const labels = tf.oneHot(tf.tensor1d([1, 2], 'int32'), 10) as tf.Tensor2D;
      const { loss, logits, grads } = modelGradients(spy.model, x, head(labels));
      expect([...spy.read].sort()).toEqual(
        weightSchema(net)
          .map((w) => w.name)
          .sort(),
      );
      expect(tensorRows(grads).sort()).toEqual(schemaRows(net, true).sort());
      tf.dispose([loss, logits, ...grads.values(), x, labels]);
      disposeModel(model);
    }
  });

  test('leaves no tensor but the loss, the logits and the gradients, and frees everything when the head throws', () => {
    const model = initModel(tinyResNet(bottleneck), { seed: 1 });
    const x = tf.randomNormal([2, 12, 12, 1], 0, 1, 'float32', 2) as tf.Tensor4D;
    const labels = tf.oneHot(tf.tensor1d([1, 2], 'int32'), 10) as tf.Tensor2D;
    const before = tf.memory().numTensors;
    const { loss, logits, grads } = modelGradients(model, x, head(labels));
    expect(tf.memory().numTensors - before).toBe(2 + grads.size);
    expect(grads.size).toBe(model.params.size);
    tf.dispose([loss, logits, ...grads.values()]);
    expect(tf.memory().numTensors).toBe(before);
    expect(() =>
      modelGradients(model, x, () => {
        throw new Error('head failed');
      }),
    ).toThrow('head failed');
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([x, labels]);
    disposeModel(model);
  });

  test('peaks at well under the tape’s memory', async () => {
    const model: Model = initModel(tinyResNet(bottleneck, { stem: 'imagenet' }), { seed: 1 });
    const x = tf.randomNormal([16, 32, 32, 1], 0, 1, 'float32', 2) as tf.Tensor4D;
    const labels = tf.oneHot(
      tf.tensor1d(
        Array.from({ length: 16 }, (_, i) => i % 10),
        'int32',
      ),
      10,
    ) as tf.Tensor2D;
    // tf.profile returns the same object each time: keep the number, not the object.
    const explicit = (
      await tf.profile(() => {
        const { loss, logits, grads } = modelGradients(model, x, head(labels));
        tf.dispose([loss, logits, ...grads.values()]);
      })
    ).peakBytes;
    const tape = (
      await tf.profile(() => {
        const { value, grads } = tf.variableGrads(
          () => tf.losses.softmaxCrossEntropy(labels, forward(model, x, { training: true })) as tf.Scalar,
        );
        tf.dispose([value, ...Object.values(grads)]);
      })
    ).peakBytes;
    expect(explicit).toBeLessThan(0.25 * tape);
    tf.dispose([x, labels]);
    disposeModel(model);
  });
});
