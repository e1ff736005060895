import * as tf from '@tensorflow/tfjs';
import * as E from 'fp-ts/Either';
import { batchNorm, conv2d, maxPool, relu, sequential, weightSchema, type Layer } from '@resnet/spec';
import { disposeModel, initModel, type Model } from './model.ts';
import { forward } from './forward.ts';
import { buildLayersModel, toLayersModel, type TensorValues } from './layers_model.ts';
import { TINY_KINDS, tinyResNet, useBackend } from './_test_support.ts';

beforeAll(useBackend);

/** Random batch-norm statistics, so the export of every batch-norm input is checked. */
function withRandomStatistics(model: Model, seed: number): Model {
  tf.tidy(() => {
    [...model.state.keys()]
      .filter((k) => k.endsWith('/running_mean'))
      .forEach((key, i) => {
        const bn = key.slice(0, -'/running_mean'.length);
        const s = seed * 1000 + i * 4;
        const set = (vars: ReadonlyMap<string, tf.Variable>, name: string, make: (shape: number[]) => tf.Tensor) => {
          const v = vars.get(`${bn}/${name}`);
          if (v === undefined) throw new Error(`no ${bn}/${name}`);
          v.assign(make(v.shape));
        };
        set(model.state, 'running_mean', (shape) => tf.randomNormal(shape, 0, 0.5, 'float32', s));
        set(model.state, 'running_var', (shape) => tf.randomUniform(shape, 0.5, 2, 'float32', s + 1));
        set(model.params, 'weight', (shape) => tf.randomUniform(shape, 0.5, 1.5, 'float32', s + 2));
        set(model.params, 'bias', (shape) => tf.randomNormal(shape, 0, 0.3, 'float32', s + 3));
      });
  });
  return model;
}

function values(model: Model): TensorValues {
  return new Map([...model.params, ...model.state].map(([key, v]) => [key, { shape: v.shape, values: v.dataSync() as Float32Array }]));
}

/** The export as files would carry it (a JSON round trip), read by tfjs's own loader. */
async function load(net: Layer, tensors: TensorValues, imageSize: number): Promise<tf.LayersModel> {
  const artifacts = await toLayersModel(net, tensors, { inChannels: 1, imageSize });
  if (E.isLeft(artifacts)) throw new Error(artifacts.left.message);
  const json = JSON.parse(JSON.stringify(artifacts.right.modelJson)) as tf.io.ModelJSON;
  expect(json.format).toBe('layers-model');
  expect(json.weightsManifest[0]?.paths).toEqual(['weights.bin']);
  return tf.loadLayersModel(
    tf.io.fromMemory({
      modelTopology: json.modelTopology,
      weightSpecs: json.weightsManifest[0]?.weights ?? [],
      weightData: artifacts.right.weightData.slice().buffer,
    }),
  );
}

function maxDiff(a: tf.Tensor, b: tf.Tensor): { readonly diff: number; readonly scale: number } {
  return tf.tidy(() => ({ diff: tf.max(tf.abs(tf.sub(a, b))).dataSync()[0] ?? NaN, scale: tf.max(tf.abs(a)).dataSync()[0] ?? NaN }));
}

describe('the tfjs layers-model export, loaded by tf.loadLayersModel, gives the logits of the forward pass in inference mode', () => {
  const cases = TINY_KINDS.flatMap((kind) =>
    (['imagenet', 'small'] as const).flatMap((stem) =>
      (['1x1', '3x3'] as const).map((strideOn) => ({ kind: kind._tag, stem, strideOn, net: tinyResNet(kind, { stem, strideOn }) })),
    ),
  );

  test.each(cases)('tiny $kind net, $stem stem, stride on the $strideOn, batch 1 and 7', async ({ net }) => {
    const model = withRandomStatistics(initModel(net, { seed: 3 }), 4);
    const loaded = await load(net, values(model), 16);
    for (const batch of [1, 7]) {
      const x = tf.randomNormal([batch, 16, 16, 1], 0, 1, 'float32', batch);
      const reference = forward(model, x, { training: false });
      const { diff, scale } = maxDiff(reference, loaded.predict(x) as tf.Tensor);
      expect(scale).toBeGreaterThan(0);
      expect(diff).toBeLessThanOrEqual(1e-4 * scale);
      tf.dispose([x, reference]);
    }
    loaded.dispose();
    disposeModel(model);
  });

  test('a changed running mean in the export moves the logits beyond the tolerance (the check can fail)', async () => {
    const net = tinyResNet(TINY_KINDS[0] ?? (undefined as never), { stem: 'imagenet' });
    const model = withRandomStatistics(initModel(net, { seed: 5 }), 6);
    const tensors = new Map(values(model));
    const key = [...tensors.keys()].find((k) => k.endsWith('/running_mean')) ?? '';
    const t = tensors.get(key);
    if (t === undefined) throw new Error('no running mean');
    tensors.set(key, { shape: t.shape, values: t.values.map((v) => v + 2) });
    const loaded = await load(net, tensors, 16);
    const x = tf.randomNormal([7, 16, 16, 1], 0, 1, 'float32', 9);
    const { diff, scale } = maxDiff(forward(model, x, { training: false }), loaded.predict(x) as tf.Tensor);
    expect(diff).toBeGreaterThan(1e-4 * scale);
    loaded.dispose();
    disposeModel(model);
  });
});

describe('the tfjs layers-model export names layers by spec path and refuses what it cannot express', () => {
  const net = sequential('net', [
    conv2d('conv', { inChannels: 1, outChannels: 2, kernel: 3, stride: 2, padding: 1 }),
    batchNorm('bn', { channels: 2 }),
    relu('relu'),
    maxPool('pool', { kernel: 3, stride: 2, padding: 1 }),
  ]);

  test('padding is an explicit ZeroPadding2D named <path>/pad before a valid convolution or pool', async () => {
    const model = initModel(net);
    const artifacts = await toLayersModel(net, values(model), { inChannels: 1, imageSize: null });
    if (E.isLeft(artifacts)) throw new Error(artifacts.left.message);
    const layers = (artifacts.right.modelJson.modelTopology as { config: { layers: { class_name: string; name: string }[] } }).config
      .layers;
    expect(layers.map((l) => `${l.class_name} ${l.name}`)).toEqual([
      'InputLayer input',
      'ZeroPadding2D net.conv/pad',
      'Conv2D net.conv',
      'BatchNormalization net.bn',
      'ReLU net.relu',
      'ZeroPadding2D net.pool/pad',
      'MaxPooling2D net.pool',
    ]);
    expect(artifacts.right.modelJson.weightsManifest[0]?.weights.map((w) => w.name)).toEqual([
      'net.conv/kernel',
      'net.bn/gamma',
      'net.bn/beta',
      'net.bn/moving_mean',
      'net.bn/moving_variance',
    ]);
    disposeModel(model);
  });

  test.each(TINY_KINDS)('the $_tag tiny ResNet’s weighted layers each hold their weight-schema tensors, with their shapes', (kind) => {
    const tiny = tinyResNet(kind, { stem: 'imagenet' });
    const model = initModel(tiny);
    const built = buildLayersModel(tiny, values(model), { inChannels: 1, imageSize: 16 });
    if (E.isLeft(built)) throw new Error(built.left.message);
    const schema = weightSchema(tiny);
    const byLayer = (path: string) => schema.filter((w) => w.layer === path).map((w) => w.shape.join(','));
    const weighted = built.right.layers.filter((l) => l.weights.length > 0).map((l) => l.name);
    expect(weighted.sort()).toEqual([...new Set(schema.map((w) => w.layer))].sort());
    for (const path of weighted) {
      expect([path, built.right.getLayer(path).weights.map((w) => w.shape.join(','))]).toEqual([path, byLayer(path)]);
    }
    built.right.dispose();
    disposeModel(model);
  });

  test('a padded max pool on input that may be negative is refused (tfjs layers pad with zeros, not -infinity)', async () => {
    const bad = sequential('net', [
      conv2d('conv', { inChannels: 1, outChannels: 2, kernel: 3 }),
      maxPool('pool', { kernel: 3, stride: 2, padding: 1 }),
    ]);
    const model = initModel(bad);
    const artifacts = await toLayersModel(bad, values(model), { inChannels: 1, imageSize: 8 });
    expect(E.isLeft(artifacts) && artifacts.left._tag).toBe('Unsupported');
    disposeModel(model);
  });

  test('a missing or misshapen tensor is an error naming it', async () => {
    const model = initModel(net);
    const missing = new Map(values(model));
    missing.delete('net.bn/running_var');
    expect(await toLayersModel(net, missing, { inChannels: 1, imageSize: 8 })).toEqual(
      E.left({ _tag: 'MissingTensor', message: expect.stringContaining('"net.bn/running_var"') }),
    );
    const wrong = new Map([...values(model), ['net.bn/bias', { shape: [3], values: new Float32Array(3) }]]);
    expect(await toLayersModel(net, wrong, { inChannels: 1, imageSize: 8 })).toEqual(
      E.left({ _tag: 'WrongShape', message: 'tensor "net.bn/bias" has shape [3], the spec expects [2]' }),
    );
    disposeModel(model);
  });
});
