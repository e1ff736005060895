import fc from 'fast-check';
import * as E from 'fp-ts/Either';
import * as tf from '@tensorflow/tfjs';
import { countParams, inferShape, weightSchema, type Layer } from '@resnet/spec';
import { basic, bottleneck, DEPTHS, resnet } from '@resnet/variants';
import { countWeights, disposeModel, initModel, weight } from './model.ts';
import { forward } from './forward.ts';
import { recording, schemaRows, tensorRows, TINY_KINDS, tinyResNet, useBackend } from './_test_support.ts';
import { checkGradients, gradientFailures } from './testing.ts';

beforeAll(useBackend);

function fashionResNet(depth: number): Layer {
  const spec = resnet(depth, { version: 'v1.5', inChannels: 1, classes: 10 });
  if (E.isLeft(spec)) throw new Error(spec.left.message);
  return spec.right.net;
}

describe('tfjs interpreter agrees with the spec folds', () => {
  test.each(DEPTHS)('ResNet-%i: the built model has the spec’s parameter counts, schema tensors and inferred output shape', (depth) => {
    const net = fashionResNet(depth);
    const before = tf.memory().numTensors;
    const model = initModel(net, { seed: 1 });
    expect(countWeights(model)).toEqual(countParams(net));
    expect([tensorRows(model.params), tensorRows(model.state)]).toEqual([schemaRows(net, true), schemaRows(net, false)]);
    // One small input per variant in each mode; shapes must equal shape inference.
    for (const [size, training] of [
      [9, false],
      [5, true],
    ] as const) {
      const shape = tf.tidy(() => forward(model, tf.randomNormal([2, size, size, 1]), { training }).shape);
      expect(E.right(shape)).toEqual(inferShape(net, [2, size, size, 1]));
    }
    disposeModel(model);
    expect(tf.memory().numTensors).toBe(before);
  });

  test('forward reads exactly the weight schema’s tensors, in training and inference, fused or not', () => {
    for (const net of TINY_KINDS.flatMap((kind) => (['imagenet', 'small'] as const).map((stem) => tinyResNet(kind, { stem })))) {
      const model = initModel(net, { seed: 2 });
      for (const [training, fused] of [
        [true, true],
        [true, false],
        [false, true],
        [false, false],
      ] as const) {
        const spy = recording(model);
        tf.tidy(() => forward(spy.model, tf.randomNormal([2, 12, 12, 1]), { training, fused }));
        expect([...spy.read].sort()).toEqual(
          weightSchema(net)
            .map((w) => w.name)
            .sort(),
        );
      }
      disposeModel(model);
    }
  });

  test('output shapes equal shape inference for any small input, stem, block kind and mode', () => {
    const models = TINY_KINDS.flatMap((kind) =>
      (['imagenet', 'small'] as const).map((stem) => initModel(tinyResNet(kind, { stem, inChannels: 2, classes: 3 }))),
    );
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: models.length - 1 }),
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 1, max: 20 }),
        fc.integer({ min: 1, max: 20 }),
        fc.boolean(),
        (i, n, h, w, training) => {
          const model = models[i];
          if (model === undefined) throw new Error('no model');
          const shape = tf.tidy(() => forward(model, tf.randomNormal([n, h, w, 2]), { training }).shape);
          expect(E.right(shape)).toEqual(inferShape(model.spec, [n, h, w, 2]));
        },
      ),
      { numRuns: 40 },
    );
    models.forEach(disposeModel);
  });

  test.each([
    ['basic', basic, '3x3'],
    ['bottleneck v1', bottleneck, '1x1'],
    ['bottleneck v1.5', bottleneck, '3x3'],
  ] as const)(
    'one forward/backward pass of a tiny %s ResNet gives a finite, non-zero gradient for every trainable weight',
    (_name, kind, strideOn) => {
      const model = initModel(tinyResNet(kind, { strideOn, stem: 'imagenet' }), { seed: 3 });
      const x = tf.randomNormal([4, 16, 16, 1], 0, 1, 'float32', 7);
      const labels = tf.oneHot(tf.tensor1d([0, 1, 2, 3], 'int32'), 10);
      const { value, grads } = tf.variableGrads(
        () => tf.losses.softmaxCrossEntropy(labels, forward(model, x, { training: true })) as tf.Scalar,
        [...model.params.values()],
      );
      expect(Number.isFinite(value.dataSync()[0])).toBe(true);
      expect(Object.keys(grads).length).toBe(model.params.size);
      for (const [key, v] of model.params) {
        const g = grads[v.name];
        if (g === undefined) throw new Error(`no gradient for ${key}`);
        const values = g.dataSync();
        expect(values.every(Number.isFinite)).toBe(true);
        expect(values.some((d) => d !== 0)).toBe(true);
      }
      tf.dispose([value, x, labels, ...Object.values(grads)]);
      disposeModel(model);
    },
  );

  test.each([
    ['basic', basic, '3x3'],
    ['bottleneck v1', bottleneck, '1x1'],
    ['bottleneck v1.5', bottleneck, '3x3'],
  ] as const)(
    'the %s ResNet’s gradient (training-mode batch norm, max pool) agrees element by element with float64 central differences, for every parameter and the input',
    (_name, kind, strideOn) => {
      const model = initModel(tinyResNet(kind, { strideOn, stem: 'imagenet' }), { seed: 5 });
      // Batch 8, not 4: conv4_x and conv5_x are 1×1 here, and with 4 values per batch-norm
      // channel this net is ill-conditioned (a 1e-6 relative change of the input moves a float64
      // gradient element by 2%), so float32's own rounding moves the analytic gradient as much.
      const x = tf.randomNormal([8, 16, 16, 1], 0, 1, 'float32', 11) as tf.Tensor4D;
      const report = checkGradients(model, x, { labels: [0, 1, 2, 3, 4, 5, 6, 7], coordinates: 12 });
      expect(gradientFailures(report)).toEqual([]);
      expect(report.tensors.length).toBe(2 * model.params.size + 1);
      tf.dispose(x);
      disposeModel(model);
    },
  );

  test.each([
    ['basic', basic],
    ['bottleneck', bottleneck],
  ] as const)(
    'inference folds each batch norm into the convolution before it: the %s ResNet gives the layer-by-layer logits, with one FusedConv2D per convolution and no batch-norm kernel',
    async (_name, kind) => {
      const model = initModel(tinyResNet(kind, { stem: 'imagenet' }), { seed: 4 });
      // Batch-norm parameters and running statistics away from their initial 1s and 0s, so the fold has work to do.
      for (const [key, v] of [...model.params, ...model.state]) {
        if (key.endsWith('running_var')) v.assign(tf.randomUniform(v.shape, 0.5, 2, 'float32', 1));
        else if (v.rank === 1) v.assign(tf.randomNormal(v.shape, 0, 1, 'float32', 2));
      }
      const x = tf.randomNormal([3, 16, 16, 1], 0, 1, 'float32', 9);
      const run = async (fused: boolean): Promise<{ logits: Float32Array; kernels: string[] }> => {
        let logits: Float32Array = new Float32Array(0);
        const profile = await tf.profile(() => {
          logits = tf.tidy(() => forward(model, x, { training: false, fused })).dataSync() as Float32Array;
        });
        return { logits, kernels: profile.kernels.map((k) => k.name) };
      };
      const [folded, plain] = [await run(true), await run(false)];
      const count = (kernels: string[], name: string): number => kernels.filter((k) => k === name).length;
      expect(count(plain.kernels, 'Conv2D')).toBeGreaterThan(5);
      expect({
        fused: count(folded.kernels, 'FusedConv2D'),
        conv: count(folded.kernels, 'Conv2D'),
        bn: count(folded.kernels, 'FusedBatchNorm'),
      }).toEqual({ fused: count(plain.kernels, 'Conv2D'), conv: 0, bn: 0 });
      const scale = Math.max(...plain.logits.map(Math.abs));
      expect(Math.max(...folded.logits.map((v, i) => Math.abs(v - (plain.logits[i] ?? NaN))))).toBeLessThanOrEqual(1e-5 * scale);
      tf.dispose(x);
      disposeModel(model);
    },
  );

  test('the same seed gives the same weights; another seed gives others', () => {
    const net = tinyResNet(basic);
    const [a, b, c] = [1, 1, 2].map((seed) => initModel(net, { seed }));
    if (!a || !b || !c) throw new Error('no model');
    const key = 'tiny_basic.conv3_x.1.conv1/weight';
    expect(weight(a.params, key).dataSync()).toEqual(weight(b.params, key).dataSync());
    expect(weight(a.params, key).dataSync()).not.toEqual(weight(c.params, key).dataSync());
    [a, b, c].forEach(disposeModel);
  });
});

describe('initialisation', () => {
  test('convolutions are He-normal with fan-out: std ≈ √(2 / (k²·out))', () => {
    const net = fashionResNet(18);
    const model = initModel(net, { seed: 5 });
    for (const [key, k, out] of [
      ['resnet18.conv4_x.1.conv2/weight', 3, 256],
      ['resnet18.conv5_x.1.shortcut_conv/weight', 1, 512],
    ] as const) {
      const values = Array.from(weight(model.params, key).dataSync());
      const mean = values.reduce((s, v) => s + v, 0) / values.length;
      const std = Math.sqrt(values.reduce((s, v) => s + (v - mean) ** 2, 0) / values.length);
      expect(Math.abs(mean)).toBeLessThan(0.01 * std);
      expect(Math.abs(std / Math.sqrt(2 / (k * k * out)) - 1)).toBeLessThan(0.02);
    }
    disposeModel(model);
  });

  test('zeroInitResidual zeroes exactly the last batch-norm scale of every residual unit', () => {
    const net = fashionResNet(50);
    const model = initModel(net, { zeroInitResidual: true });
    const scales = weightSchema(net)
      .filter((w) => w.role._tag === 'BatchNormScale')
      .map((w) => w.name);
    const zeroed = scales.filter((key) =>
      weight(model.params, key)
        .dataSync()
        .every((d) => d === 0),
    );
    expect(zeroed.length).toBe(3 + 4 + 6 + 3);
    expect(zeroed.every((key) => key.endsWith('.bn3/weight'))).toBe(true);
    disposeModel(model);
  });

  test('with zero-initialised residuals a block outputs relu(shortcut(x)) at the start', () => {
    const model = initModel(tinyResNet(basic), { zeroInitResidual: true });
    const block = tinyResNet(basic).layers[1];
    if (block?._tag !== 'Sequential' || block.layers[0]?._tag !== 'Residual') throw new Error('unexpected spec');
    const unit = block.layers[0];
    const x = tf.randomNormal([2, 6, 6, 4]);
    // conv2_x.1 keeps shape, so its shortcut is the identity: the block must be relu(x).
    const sub = { ...model, spec: { ...unit, name: `${model.spec.name}.conv2_x.${unit.name}` } };
    const y = forward(sub, x, { training: false });
    expect(tf.max(tf.abs(tf.sub(y, tf.relu(x)))).dataSync()[0]).toBeLessThan(1e-6);
    tf.dispose([x, y]);
    disposeModel(model);
  });
});
