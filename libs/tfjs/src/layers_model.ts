/**
 * The TensorFlow.js export: a spec plus its trained tensors → the `model.json` and
 * weight bytes that `tf.loadLayersModel` reads. Another interpreter of the spec (one
 * exhaustive switch), built from tfjs-layers layers and serialised by tfjs itself, so the
 * format is exactly the one its loader expects. Pure: returns the artifacts, writes nothing.
 *
 * Layers get the spec paths as names (`resnet18.conv3_x.1.conv2`); explicit padding is a
 * `ZeroPadding2D` named `<path>/pad` before a `valid` convolution or pool, because Keras's
 * `same` padding is asymmetric for stride 2 and would not match the spec.
 */
import * as tf from '@tensorflow/tfjs';
import * as E from 'fp-ts/Either';
import { absurd } from 'fp-ts/function';
import { childPath, weightName, type Layer, type WeightRoleTag } from '@resnet/spec';

/** Float32 values in our layout (conv `[kh, kw, in, out]`, dense `[in, out]`), keyed by the weight schema's names. */
export type TensorValues = ReadonlyMap<string, { readonly shape: readonly number[]; readonly values: Float32Array }>;

/** The two files of a layers model: `model.json` (as an object) and its single weights file. */
export interface LayersModelArtifacts {
  /** The content of `model.json`; its weights manifest points at `weightsPath`. */
  readonly modelJson: tf.io.ModelJSON;
  /** The bytes of the weights file (little-endian float32, in manifest order). */
  readonly weightData: Uint8Array;
  /** Names of the model's input and output layers. */
  readonly inputName: string;
  readonly outputName: string;
}

/** Why a spec could not be exported to tfjs, naming the layer or tensor. */
export interface LayersExportError {
  readonly _tag: 'MissingTensor' | 'WrongShape' | 'Unsupported';
  readonly message: string;
}

/** Input geometry and file naming of the export. */
export interface LayersModelOptions {
  readonly inChannels: number;
  /** Fixed height and width, or null for any size. */
  readonly imageSize: number | null;
  /** Name of the weights file that `model.json` refers to. Default `weights.bin`. */
  readonly weightsPath?: string;
}

/**
 * Builds the tfjs layers model of `net` with `tensors` and serialises it.
 * The model takes NHWC `[N, H, W, C]` input, as in training, and returns logits.
 * @example
 * const artifacts = await toLayersModel(spec.net, tensors, { inChannels: 1, imageSize: 28 })
 * // Right({ modelJson: { format: 'layers-model', … }, weightData: Uint8Array […] })
 */
export async function toLayersModel(
  net: Layer,
  tensors: TensorValues,
  options: LayersModelOptions,
): Promise<E.Either<LayersExportError, LayersModelArtifacts>> {
  const built = buildLayersModel(net, tensors, options);
  if (E.isLeft(built)) return built;
  const model = built.right;
  try {
    let saved: tf.io.ModelArtifacts | undefined;
    await model.save(
      tf.io.withSaveHandler(async (artifacts) => {
        saved = artifacts;
        return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
      }),
    );
    if (saved?.weightSpecs === undefined || saved.weightData === undefined) throw new Error('tfjs saved no weights');
    const weightData = new Uint8Array(new tf.io.CompositeArrayBuffer(saved.weightData).slice());
    const modelJson: tf.io.ModelJSON = {
      modelTopology: saved.modelTopology ?? {},
      format: 'layers-model',
      generatedBy: `TensorFlow.js tfjs-layers v${tf.version_layers}`,
      convertedBy: 'resnet-ts',
      weightsManifest: [{ paths: [options.weightsPath ?? 'weights.bin'], weights: saved.weightSpecs }],
    };
    return E.right({ modelJson, weightData, inputName: model.inputNames[0] ?? 'input', outputName: model.outputNames[0] ?? net.name });
  } finally {
    model.dispose();
  }
}

/**
 * The tfjs-layers model of `net` with `tensors` assigned (the caller disposes it).
 * @example const model = buildLayersModel(spec.net, tensors, { inChannels: 1, imageSize: 28 })
 */
export function buildLayersModel(
  net: Layer,
  tensors: TensorValues,
  options: LayersModelOptions,
): E.Either<LayersExportError, tf.LayersModel> {
  const pending: { layer: tf.layers.Layer; keys: readonly string[] }[] = [];
  const input = tf.input({ shape: [options.imageSize, options.imageSize, options.inChannels], name: 'input', dtype: 'float32' });
  const lowered = lower(net, net.name, { x: input, nonNegative: false }, pending);
  if (E.isLeft(lowered)) return lowered;
  const model = tf.model({ inputs: input, outputs: lowered.right.x, name: net.name });
  for (const { layer, keys } of pending) {
    const values: tf.Tensor[] = [];
    for (const [i, key] of keys.entries()) {
      const t = tensors.get(key);
      const expected = layer.getWeights()[i]?.shape ?? [];
      if (t === undefined)
        return fail(model, values, {
          _tag: 'MissingTensor',
          message: `no tensor "${key}": export the tensors of a model built from this spec`,
        });
      if (t.shape.join(',') !== expected.join(','))
        return fail(model, values, {
          _tag: 'WrongShape',
          message: `tensor "${key}" has shape [${t.shape.join(', ')}], the spec expects [${expected.join(', ')}]`,
        });
      values.push(tf.tensor(t.values, [...t.shape], 'float32'));
    }
    layer.setWeights(values);
    tf.dispose(values);
  }
  return E.right(model);
}

interface Value {
  readonly x: tf.SymbolicTensor;
  /** True when every element is ≥ 0 (after a ReLU), so zero padding equals -infinity padding for max pooling. */
  readonly nonNegative: boolean;
}

type Pending = { layer: tf.layers.Layer; keys: readonly string[] }[];

/** A Keras batch norm's weights in `getWeights()` order: gamma, beta, moving mean, moving variance. */
const KERAS_BATCH_NORM: readonly WeightRoleTag[] = ['BatchNormScale', 'BatchNormOffset', 'BatchNormMean', 'BatchNormVariance'];

function lower(layer: Layer, path: string, v: Value, pending: Pending): E.Either<LayersExportError, Value> {
  switch (layer._tag) {
    case 'Conv2d': {
      // Zero kernels, overwritten below: random initialisers cost ~1 µs per value on the JS backends.
      const conv = tf.layers.conv2d({
        name: path,
        filters: layer.outChannels,
        kernelSize: layer.kernel,
        strides: layer.stride,
        padding: 'valid',
        useBias: layer.bias,
        dataFormat: 'channelsLast',
        kernelInitializer: 'zeros',
      });
      pending.push({ layer: conv, keys: [weightName(path, 'ConvWeight'), ...(layer.bias ? [weightName(path, 'ConvBias')] : [])] });
      return E.right({ x: apply(conv, pad(v.x, layer.padding, path)), nonNegative: false });
    }
    case 'BatchNorm': {
      // Keras's momentum is the weight of the old average: 1 − PyTorch's.
      const bn = tf.layers.batchNormalization({ name: path, axis: -1, epsilon: layer.epsilon, momentum: 1 - layer.momentum });
      pending.push({ layer: bn, keys: KERAS_BATCH_NORM.map((role) => weightName(path, role)) });
      return E.right({ x: apply(bn, v.x), nonNegative: false });
    }
    case 'Relu':
      return E.right({ x: apply(tf.layers.reLU({ name: path }), v.x), nonNegative: true });
    case 'MaxPool': {
      if (layer.padding > 0 && !v.nonNegative) {
        return E.left({
          _tag: 'Unsupported',
          message: `max pool "${path}" pads its input, which tfjs layers can only do with zeros: exact only after a ReLU, and its input may be negative`,
        });
      }
      const pool = tf.layers.maxPooling2d({ name: path, poolSize: layer.kernel, strides: layer.stride, padding: 'valid' });
      return E.right({ x: apply(pool, pad(v.x, layer.padding, path)), nonNegative: v.nonNegative });
    }
    case 'GlobalAvgPool':
      return E.right({ x: apply(tf.layers.globalAveragePooling2d({ name: path }), v.x), nonNegative: v.nonNegative });
    case 'Dense': {
      const fc = tf.layers.dense({ name: path, units: layer.outFeatures, useBias: layer.bias, kernelInitializer: 'zeros' });
      pending.push({ layer: fc, keys: [weightName(path, 'DenseWeight'), ...(layer.bias ? [weightName(path, 'DenseBias')] : [])] });
      return E.right({ x: apply(fc, v.x), nonNegative: false });
    }
    case 'Sequential':
      return chain(layer.layers, path, v, pending);
    case 'Residual': {
      const main = chain(layer.main, path, v, pending);
      if (E.isLeft(main)) return main;
      const shortcut = chain(layer.shortcut, path, v, pending);
      if (E.isLeft(shortcut)) return shortcut;
      if (layer.activation === 'identity')
        return E.right({ x: apply(tf.layers.add({ name: path }), [main.right.x, shortcut.right.x]), nonNegative: false });
      const sum = apply(tf.layers.add({ name: `${path}/add` }), [main.right.x, shortcut.right.x]);
      return E.right({ x: apply(tf.layers.reLU({ name: path }), sum), nonNegative: true });
    }
    default:
      return absurd(layer);
  }
}

function chain(layers: readonly Layer[], path: string, v: Value, pending: Pending): E.Either<LayersExportError, Value> {
  let h: E.Either<LayersExportError, Value> = E.right(v);
  for (const child of layers) {
    if (E.isLeft(h)) return h;
    h = lower(child, childPath(path, child.name), h.right, pending);
  }
  return h;
}

function pad(x: tf.SymbolicTensor, p: number, path: string): tf.SymbolicTensor {
  return p === 0
    ? x
    : apply(
        tf.layers.zeroPadding2d({
          name: `${path}/pad`,
          padding: [
            [p, p],
            [p, p],
          ],
        }),
        x,
      );
}

function apply(layer: tf.layers.Layer, x: tf.SymbolicTensor | tf.SymbolicTensor[]): tf.SymbolicTensor {
  return layer.apply(x) as tf.SymbolicTensor;
}

function fail(model: tf.LayersModel, values: tf.Tensor[], error: LayersExportError): E.Either<LayersExportError, never> {
  tf.dispose(values);
  model.dispose();
  return E.left(error);
}
