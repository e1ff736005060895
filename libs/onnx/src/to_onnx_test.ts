/**
 * @jest-environment ../../tools/jest/ort_environment.cjs
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import * as E from 'fp-ts/Either';
import * as ort from 'onnxruntime-node';
import { onnx } from 'onnx-proto';
import { batchNorm, conv2d, dense, globalAvgPool, maxPool, relu, sequential, weightSchema, type WeightSpec } from '@resnet/spec';
import { disposeModel, forward, toLayersModel, type Model } from '@resnet/tfjs';
import { basic, bottleneck, network, resnet, STEMS, type Depth, type Version } from '@resnet/variants';
import { checkTensors, ONNX_OPSET, toOnnx, type NamedTensors } from './to_onnx.ts';
import { compare, images, onnxLogits, randomModel, referenceLogits, tensorsOf, useBackend } from './_test_support.ts';

beforeAll(useBackend);

/** The tolerance of issue 12: max |Δ| ≤ 1e-4 × the logits' scale. */
const RELATIVE_TOLERANCE = 1e-4;

interface Case {
  readonly depth: Depth;
  readonly version: Version;
  readonly stem: 'imagenet' | 'small';
  /** Input size: small enough for the pure-JS backend, large enough that every stage has ≥ 1×1 maps. */
  readonly size: number;
}

// Every depth at least once; v1 and v1.5 and both stems on the smaller depths (v1 and v1.5
// differ only in bottlenecks: ResNet-50 has both, each with another stem). Small inputs keep
// the pure-JS reference fast; 16×16 still leaves 1×1 maps in the last stage.
const CASES: readonly Case[] = [
  { depth: 18, version: 'v1', stem: 'imagenet', size: 32 },
  { depth: 18, version: 'v1.5', stem: 'small', size: 12 },
  { depth: 34, version: 'v1', stem: 'small', size: 8 },
  { depth: 34, version: 'v1.5', stem: 'imagenet', size: 32 },
  { depth: 50, version: 'v1', stem: 'imagenet', size: 32 },
  { depth: 50, version: 'v1.5', stem: 'small', size: 8 },
  { depth: 101, version: 'v1.5', stem: 'imagenet', size: 16 },
  { depth: 152, version: 'v1', stem: 'imagenet', size: 16 },
];

function specOf(c: Case) {
  const spec = resnet(c.depth, { version: c.version, inChannels: 1, classes: 10, stem: c.stem });
  if (E.isLeft(spec)) throw new Error(spec.left.message);
  return spec.right;
}

function exportOnnx(c: Case, tensors: NamedTensors): Uint8Array {
  const bytes = toOnnx(specOf(c).net, tensors, { inChannels: 1, imageSize: c.size, metadata: { variant: String(c.depth) } });
  if (E.isLeft(bytes)) throw new Error(bytes.left.message);
  return bytes.right;
}

describe('the ONNX export, run by ONNX Runtime, gives the logits of the tfjs forward pass in inference mode', () => {
  const measured: string[] = [];
  afterAll(() => console.log(`max |Δ logits| / logits' scale, ONNX Runtime and tfjs export vs tfjs forward:\n${measured.join('\n')}`));

  test.each(CASES)(
    'ResNet-$depth $version, $stem stem, $size×$size, random weights and batch-norm statistics, batch 1 and 7; the tfjs export too',
    async (c) => {
      const model = randomModel(specOf(c).net, c.depth * 7 + c.size);
      const tensors = tensorsOf(model);
      const session = await ort.InferenceSession.create(exportOnnx(c, tensors));
      const artifacts = await toLayersModel(specOf(c).net, tensors, { inChannels: 1, imageSize: c.size });
      if (E.isLeft(artifacts)) throw new Error(artifacts.left.message);
      const loaded = await tf.loadLayersModel(fromModelJson(artifacts.right.modelJson, artifacts.right.weightData));
      for (const batch of [1, 7]) {
        const x = images(batch, c.size, 1, batch);
        const reference = referenceLogits(model, x);
        expect(reference.length).toBe(batch * 10);
        const viaOnnx = compare(reference, await onnxLogits(session, x));
        const viaTfjs = compare(
          reference,
          tf.tidy(() => (loaded.predict(x) as tf.Tensor).dataSync() as Float32Array),
        );
        expect(viaOnnx.scale).toBeGreaterThan(0);
        expect(viaOnnx.maxDiff).toBeLessThanOrEqual(RELATIVE_TOLERANCE * viaOnnx.scale);
        expect(viaTfjs.maxDiff).toBeLessThanOrEqual(RELATIVE_TOLERANCE * viaTfjs.scale);
        measured.push(
          `ResNet-${c.depth} ${c.version} ${c.stem} ${c.size}px batch ${batch}: onnx ${viaOnnx.maxDiff.toExponential(1)} / ${viaOnnx.scale.toFixed(2)}, tfjs ${viaTfjs.maxDiff.toExponential(1)}`,
        );
        x.dispose();
      }
      loaded.dispose();
      await session.release();
      disposeModel(model);
    },
  );
});

describe('exports of a network with trained-like batch norms give the logits of the unfolded tfjs forward pass', () => {
  // Variances of exactly 0, ~1e-5 and ~1e-3 and means of ±10–100 (randomModel's `trained`
  // statistics): where epsilon handling and batch-norm folding go wrong. The reference is the
  // layer-by-layer forward (`fused: false`), not the folded one the tests above compare with, so a
  // wrong fold in the interpreter or in an exporter's runtime shows (ONNX Runtime's default graph
  // optimisation folds every BatchNormalization into its Conv). Narrow networks (the numbers
  // are per channel; width only costs time): a basic one and a bottleneck one, three stages each,
  // every kind of channel in every batch norm.
  const TRAINED = [
    { name: 'basic', block: basic, stem: STEMS.imagenet, widths: [16, 32, 64], strideOn: '3x3', size: 32 },
    { name: 'bottleneck', block: bottleneck, stem: STEMS.small, widths: [8, 16, 32], strideOn: '3x3', size: 8 },
  ] as const;
  const measured: string[] = [];
  afterAll(() =>
    console.log(`trained-like batch norms, max |Δ logits| / logits' scale vs the unfolded tfjs forward:\n${measured.join('\n')}`),
  );

  test.each(TRAINED)(
    '$name blocks, $size×$size: ONNX Runtime, the tfjs layers export and the folded forward, batch 1 and 7',
    async ({ name, block, stem, widths, strideOn, size }) => {
      const stages = widths.map((width, i) => ({ blocks: 2, width, stride: i === 0 ? 1 : 2 }));
      const net = network(name, { block, stem: { ...stem, width: 16 }, stages }, { inChannels: 1, classes: 10, strideOn });
      const model = randomModel(net, size, { statistics: 'trained', imageSize: size });
      const tensors = tensorsOf(model);
      // The fixture has the statistics it promises.
      const values = (suffix: string): number[] =>
        [...tensors].filter(([key]) => key.endsWith(suffix)).flatMap(([, t]) => Array.from(t.values));
      const [variances, means] = [values('/running_var'), values('/running_mean')];
      const share = (of: number[], f: (v: number) => boolean): number => of.filter(f).length / of.length;
      expect(share(variances, (v) => v === 0)).toBeGreaterThan(0.1);
      expect(share(variances, (v) => v > 2e-6 && v < 5e-5)).toBeGreaterThan(0.1);
      expect(share(variances, (v) => v > 2e-4 && v < 5e-3)).toBeGreaterThan(0.1);
      expect(share(means, (m) => m >= 10)).toBeGreaterThan(0.05);
      expect(share(means, (m) => m <= -10)).toBeGreaterThan(0.05);

      const bytes = toOnnx(net, tensors, { inChannels: 1, imageSize: size });
      if (E.isLeft(bytes)) throw new Error(bytes.left.message);
      const session = await ort.InferenceSession.create(bytes.right);
      const artifacts = await toLayersModel(net, tensors, { inChannels: 1, imageSize: size });
      if (E.isLeft(artifacts)) throw new Error(artifacts.left.message);
      const loaded = await tf.loadLayersModel(fromModelJson(artifacts.right.modelJson, artifacts.right.weightData));
      for (const batch of [1, 7]) {
        const x = images(batch, size, 1, 50 + batch);
        const reference = tf.tidy(() => forward(model, x, { training: false, fused: false }).dataSync() as Float32Array);
        expect(reference.every(Number.isFinite)).toBe(true);
        const viaOnnx = compare(reference, await onnxLogits(session, x));
        const viaTfjs = compare(
          reference,
          tf.tidy(() => (loaded.predict(x) as tf.Tensor).dataSync() as Float32Array),
        );
        const folded = compare(reference, referenceLogits(model, x));
        expect(viaOnnx.scale).toBeGreaterThan(0);
        expect(viaOnnx.maxDiff).toBeLessThanOrEqual(RELATIVE_TOLERANCE * viaOnnx.scale);
        expect(viaTfjs.maxDiff).toBeLessThanOrEqual(RELATIVE_TOLERANCE * viaTfjs.scale);
        expect(folded.maxDiff).toBeLessThanOrEqual(RELATIVE_TOLERANCE * folded.scale);
        measured.push(
          `${name} ${size}px batch ${batch}: onnx ${viaOnnx.maxDiff.toExponential(1)}, tfjs export ${viaTfjs.maxDiff.toExponential(1)}, folded forward ${folded.maxDiff.toExponential(1)} / ${viaOnnx.scale.toFixed(2)}`,
        );
        x.dispose();
      }
      loaded.dispose();
      await session.release();
      disposeModel(model);
    },
  );
});

describe('the comparison can fail', () => {
  const c: Case = { depth: 18, version: 'v1.5', stem: 'imagenet', size: 32 };
  let model: Model;
  beforeAll(() => {
    model = randomModel(specOf(c).net, 5);
  });
  afterAll(() => disposeModel(model));

  test.each([
    ['a running variance of the last block', 'resnet18.conv5_x.2.bn2/running_var', 0],
    ['one value of the first convolution', 'resnet18.conv1.conv/weight', 100],
    ['one dense weight', 'resnet18.head.fc/weight', 3],
  ])('changing %s in the export moves the logits beyond the tolerance', async (_what, key, index) => {
    const tensors = new Map(tensorsOf(model));
    const t = tensors.get(key);
    if (t === undefined) throw new Error(`no ${key}: ${[...tensors.keys()].slice(0, 5).join(', ')}…`);
    const values = Float32Array.from(t.values);
    values[index] = (values[index] ?? 0) + 3;
    tensors.set(key, { shape: t.shape, values });
    const session = await ort.InferenceSession.create(exportOnnx(c, tensors));
    const x = images(7, c.size, 1, 3);
    const { maxDiff, scale } = compare(referenceLogits(model, x), await onnxLogits(session, x));
    expect(maxDiff).toBeGreaterThan(RELATIVE_TOLERANCE * scale);
    x.dispose();
    await session.release();
  });
});

describe('the ONNX graph follows the spec', () => {
  const net = sequential('net', [
    conv2d('conv', { inChannels: 1, outChannels: 2, kernel: 3, padding: 1 }),
    batchNorm('bn', { channels: 2 }),
    relu('relu'),
    maxPool('pool', { kernel: 3, stride: 2, padding: 1 }),
    sequential('head', [globalAvgPool('avgpool'), dense('fc', { inFeatures: 2, outFeatures: 3 })]),
  ]);
  const entries: [string, { readonly shape: readonly number[]; readonly values: Float32Array }][] = [
    ['net.conv/weight', { shape: [3, 3, 1, 2], values: new Float32Array(18).fill(0.5) }],
    ...['weight', 'bias', 'running_mean', 'running_var'].map((n): [string, { shape: number[]; values: Float32Array }] => [
      `net.bn/${n}`,
      { shape: [2], values: new Float32Array([1, 2]) },
    ]),
    ['net.head.fc/weight', { shape: [2, 3], values: new Float32Array(6).fill(1) }],
    ['net.head.fc/bias', { shape: [3], values: new Float32Array(3) }],
  ];
  const tensors: NamedTensors = new Map(entries);

  test('nodes and initializers are named by spec paths; input NCHW with a dynamic batch; opset 17, IR 8', () => {
    const bytes = toOnnx(net, tensors, { inChannels: 1, imageSize: null });
    if (E.isLeft(bytes)) throw new Error(bytes.left.message);
    const model = onnx.ModelProto.decode(bytes.right);
    expect(Number(model.irVersion)).toBe(8);
    expect(model.opsetImport.map((o) => Number(o.version))).toEqual([ONNX_OPSET]);
    // Decoded messages are class instances whose repeated fields are arrays.
    const graph = model.graph as onnx.GraphProto;
    expect(graph.name).toBe('net');
    expect(graph.node.map((n) => `${n.opType} ${n.name}`)).toEqual([
      'Conv net.conv',
      'BatchNormalization net.bn',
      'Relu net.relu',
      'MaxPool net.pool',
      'GlobalAveragePool net.head.avgpool/pool',
      'Flatten net.head.avgpool',
      'Gemm net.head.fc',
      'Identity logits',
    ]);
    expect((graph.initializer as onnx.TensorProto[]).map((t) => `${t.name} [${t.dims.join(',')}]`)).toEqual([
      'net.conv/weight [2,1,3,3]',
      'net.bn/weight [2]',
      'net.bn/bias [2]',
      'net.bn/running_mean [2]',
      'net.bn/running_var [2]',
      'net.head.fc/weight [2,3]',
      'net.head.fc/bias [3]',
    ]);
    const dims = graph.input[0]?.type?.tensorType?.shape?.dim?.map((d) => d.dimParam || Number(d.dimValue));
    expect(dims).toEqual(['batch', 1, 'height', 'width']);
    expect(graph.output[0]?.type?.tensorType?.shape?.dim?.map((d) => d.dimParam || Number(d.dimValue))).toEqual(['batch', 3]);
  });

  test.each([basic, bottleneck])(
    'the $_tag ResNet’s initializers are its weight schema’s tensors in order (conv: [out, in, kh, kw])',
    (kind) => {
      const stages = [4, 8, 16].map((width, i) => ({ blocks: 2, width, stride: i === 0 ? 1 : 2 }));
      const config = { block: kind, stem: { ...STEMS.imagenet, width: 4 }, stages };
      const tiny = network('tiny', config, { inChannels: 1, classes: 10, strideOn: '3x3' });
      const schema = weightSchema(tiny);
      const zeros: NamedTensors = new Map(
        schema.map((w) => [w.name, { shape: w.shape, values: new Float32Array(w.shape.reduce((a, b) => a * b)) }]),
      );
      const bytes = toOnnx(tiny, zeros, { inChannels: 1, imageSize: null });
      if (E.isLeft(bytes)) throw new Error(bytes.left.message);
      const initializers = (onnx.ModelProto.decode(bytes.right).graph as onnx.GraphProto).initializer as onnx.TensorProto[];
      const oihw = (w: WeightSpec) => (w.role._tag === 'ConvWeight' ? [w.shape[3], w.shape[2], w.shape[0], w.shape[1]] : w.shape);
      expect(initializers.map((t) => `${t.name} [${t.dims.join(',')}]`)).toEqual(schema.map((w) => `${w.name} [${oihw(w).join(',')}]`));
    },
  );

  test('conv weights are transposed from [kh, kw, in, out] to [out, in, kh, kw]', () => {
    const w = Float32Array.from({ length: 18 }, (_, i) => i);
    const bytes = toOnnx(net, new Map([...tensors, ['net.conv/weight', { shape: [3, 3, 1, 2], values: w }]]), {
      inChannels: 1,
      imageSize: 8,
    });
    if (E.isLeft(bytes)) throw new Error(bytes.left.message);
    const raw = (onnx.ModelProto.decode(bytes.right).graph as onnx.GraphProto).initializer[0]?.rawData;
    if (raw === undefined || raw === null) throw new Error('no raw data');
    const got = new Float32Array(Uint8Array.from(raw).buffer);
    // out 0 takes the even HWIO values in h, w order; out 1 the odd ones.
    expect(Array.from(got)).toEqual([0, 2, 4, 6, 8, 10, 12, 14, 16, 1, 3, 5, 7, 9, 11, 13, 15, 17]);
  });

  test('a missing tensor or a wrong shape is an error naming the tensor, not a broken file', () => {
    const missing = new Map(tensors);
    missing.delete('net.bn/running_var');
    expect(toOnnx(net, missing, { inChannels: 1, imageSize: 8 })).toEqual(
      E.left({ _tag: 'MissingTensor', message: expect.stringContaining('"net.bn/running_var"') }),
    );
    const wrong = new Map([...tensors, ['net.head.fc/weight', { shape: [3, 2], values: new Float32Array(6) }]]);
    expect(checkTensors(net, wrong)).toEqual(
      E.left({ _tag: 'WrongShape', message: 'tensor "net.head.fc/weight" has shape [3, 2] (6 values), the spec expects [2, 3]' }),
    );
  });

  // CI installs python3-onnx, so there a missing checker fails instead of skipping.
  const debianOnnx =
    spawnSync('/usr/bin/python3', ['-c', 'import onnx'], { encoding: 'utf8' }).status === 0 || process.env['CI'] === 'true';
  if (!debianOnnx) console.log('skipped: onnx.checker test (no python3-onnx at /usr/bin/python3; apt-get install python3-onnx)');
  (debianOnnx ? test : test.skip)(
    "ONNX's own checker (Debian python3-onnx, full_check with shape inference) accepts a ResNet-50 export",
    () => {
      const c: Case = { depth: 50, version: 'v1.5', stem: 'imagenet', size: 28 };
      const model = randomModel(specOf(c).net, 1);
      const dir = mkdtempSync(join(tmpdir(), 'onnx-check-'));
      try {
        writeFileSync(join(dir, 'model.onnx'), exportOnnx(c, tensorsOf(model)));
        const script =
          'import sys, onnx; m = onnx.load(sys.argv[1]); onnx.checker.check_model(m, full_check=True); print(len(m.graph.node))';
        const run = spawnSync('/usr/bin/python3', ['-c', script, join(dir, 'model.onnx')], { encoding: 'utf8' });
        expect(run.stderr).toBe('');
        expect(run.status).toBe(0);
        expect(Number(run.stdout.trim())).toBeGreaterThan(100);
      } finally {
        rmSync(dir, { recursive: true, force: true });
        disposeModel(model);
      }
    },
  );
});

function fromModelJson(modelJson: tf.io.ModelJSON, weightData: Uint8Array): tf.io.IOHandler {
  // A JSON round trip, as a file would do, then tfjs's own loader.
  const json = JSON.parse(JSON.stringify(modelJson)) as tf.io.ModelJSON;
  return tf.io.fromMemory({
    modelTopology: json.modelTopology,
    weightSpecs: json.weightsManifest[0]?.weights ?? [],
    weightData: weightData.slice().buffer,
  });
}
