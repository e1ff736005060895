/**
 * The ONNX lowering: a spec plus its trained tensors → the bytes of an ONNX model.
 * One exhaustive switch over `_tag`, like the tfjs interpreter, so the graph is the spec.
 *
 * Layout: the model takes NCHW input `[N, C, H, W]` as ONNX users expect; the change from
 * our NHWC tensors is folded into the weights (conv kernels `[kh, kw, in, out]` become
 * `[out, in, kh, kw]`; after global pooling both layouts are `[N, C]`, so dense weights
 * are kept). Batch norm stays a `BatchNormalization` node in inference mode (running
 * statistics as initializers), so a viewer shows Table 1's layers one for one.
 */
import * as E from 'fp-ts/Either';
import { absurd } from 'fp-ts/function';
import { onnx } from 'onnx-proto';
import { childPath, weightName, weightSchema, type Layer, type WeightRoleTag } from '@resnet/spec';

/** A float32 tensor in our layout (NHWC-era: conv `[kh, kw, in, out]`, dense `[in, out]`). */
export interface NamedTensor {
  readonly shape: readonly number[];
  readonly values: Float32Array;
}

/** Tensors keyed by the weight schema's names (`weightSchema`), e.g. `resnet18.conv2_x.1.conv1/weight`, `…/bn1/running_var`. */
export type NamedTensors = ReadonlyMap<string, NamedTensor>;

/** Why a spec and its tensors could not be exported, naming the tensor. */
export interface ExportError {
  readonly _tag: 'MissingTensor' | 'WrongShape' | 'Unsupported';
  readonly message: string;
}

/** What the graph's input looks like and what to record about the model. */
export interface OnnxOptions {
  /** Input channels (1 for Fashion-MNIST). */
  readonly inChannels: number;
  /** Fixed height and width of the input, or null to leave them dynamic (`height`, `width`). */
  readonly imageSize: number | null;
  /** Key/value pairs stored in the model's `metadata_props` (variant, run, …). */
  readonly metadata?: Readonly<Record<string, string>>;
}

/** The opset we emit: ONNX 1.12's (the newest Debian's checker knows), run by ONNX Runtime 1.30. */
export const ONNX_OPSET = 17;
/** IR version 8 (ONNX 1.10–1.12). */
export const ONNX_IR_VERSION = 8;
/** Names of the graph's input and output. */
export const ONNX_INPUT = 'input';
export const ONNX_OUTPUT = 'logits';

/**
 * Lowers `net` with `tensors` to a serialized ONNX `ModelProto` (opset 17, dynamic batch
 * `batch`). Node and initializer names are the spec paths (`resnet18.conv3_x.1.conv2`,
 * `resnet18.conv3_x.1.conv2/weight`). Pure: returns bytes, writes nothing.
 * @example
 * const bytes = toOnnx(spec.net, tensors, { inChannels: 1, imageSize: 28 }) // Right(Uint8Array […])
 */
export function toOnnx(net: Layer, tensors: NamedTensors, options: OnnxOptions): E.Either<ExportError, Uint8Array> {
  const checked = checkTensors(net, tensors);
  if (E.isLeft(checked)) return checked;
  const nodes: onnx.INodeProto[] = [];
  const initializers: onnx.ITensorProto[] = [];
  const ctx: Ctx = { tensors, nodes, initializers };
  const out = lower(ctx, net, net.name, ONNX_INPUT);
  nodes.push(node('Identity', ONNX_OUTPUT, [out], ONNX_OUTPUT, []));
  const classes = outFeatures(net);
  const spatial = (name: string): onnx.TensorShapeProto.IDimension =>
    options.imageSize === null ? { dimParam: name } : { dimValue: options.imageSize };
  const model: onnx.IModelProto = {
    irVersion: ONNX_IR_VERSION,
    opsetImport: [{ domain: '', version: ONNX_OPSET }],
    producerName: 'resnet-ts',
    producerVersion: '0.1.0',
    docString: `${net.name}: input NCHW float32 [batch, ${options.inChannels}, H, W] (normalised as in training), output logits [batch, classes]`,
    metadataProps: Object.entries(options.metadata ?? {}).map(([key, value]) => ({ key, value })),
    graph: {
      name: net.name,
      node: nodes,
      initializer: initializers,
      input: [valueInfo(ONNX_INPUT, [{ dimParam: 'batch' }, { dimValue: options.inChannels }, spatial('height'), spatial('width')])],
      output: [valueInfo(ONNX_OUTPUT, [{ dimParam: 'batch' }, classes === null ? { dimParam: 'classes' } : { dimValue: classes }])],
    },
  };
  return E.right(onnx.ModelProto.encode(onnx.ModelProto.create(model)).finish());
}

interface Ctx {
  readonly tensors: NamedTensors;
  readonly nodes: onnx.INodeProto[];
  readonly initializers: onnx.ITensorProto[];
}

// Returns the name of the value holding the layer's output.
function lower(ctx: Ctx, layer: Layer, path: string, x: string): string {
  switch (layer._tag) {
    case 'Conv2d': {
      const { kernel: k, inChannels, outChannels: out } = layer;
      const [weight, bias] = [weightName(path, 'ConvWeight'), weightName(path, 'ConvBias')];
      initializer(ctx, weight, [out, inChannels, k, k], hwioToOihw(take(ctx, weight).values, k, inChannels, out));
      const inputs = [x, weight];
      if (layer.bias) {
        initializer(ctx, bias, [out], take(ctx, bias).values);
        inputs.push(bias);
      }
      const p = layer.padding;
      return emit(ctx, 'Conv', path, inputs, [
        ints('kernel_shape', [k, k]),
        ints('strides', [layer.stride, layer.stride]),
        ints('pads', [p, p, p, p]),
      ]);
    }
    case 'BatchNorm': {
      const keys = ONNX_BATCH_NORM.map((role) => weightName(path, role));
      for (const key of keys) initializer(ctx, key, [layer.channels], take(ctx, key).values);
      // Opset ≥ 14 BatchNormalization defaults to training_mode = 0: running statistics.
      return emit(ctx, 'BatchNormalization', path, [x, ...keys], [float('epsilon', layer.epsilon)]);
    }
    case 'Relu':
      return emit(ctx, 'Relu', path, [x], []);
    case 'MaxPool': {
      const p = layer.padding;
      // ONNX MaxPool ignores padded cells (as -infinity), like PyTorch and tfjs.
      return emit(
        ctx,
        'MaxPool',
        path,
        [x],
        [ints('kernel_shape', [layer.kernel, layer.kernel]), ints('strides', [layer.stride, layer.stride]), ints('pads', [p, p, p, p])],
      );
    }
    case 'GlobalAvgPool': {
      const pooled = emit(ctx, 'GlobalAveragePool', `${path}/pool`, [x], []);
      return emit(ctx, 'Flatten', path, [pooled], [int('axis', 1)]);
    }
    case 'Dense': {
      const { inFeatures: n, outFeatures: m } = layer;
      const [weight, bias] = [weightName(path, 'DenseWeight'), weightName(path, 'DenseBias')];
      initializer(ctx, weight, [n, m], take(ctx, weight).values);
      if (!layer.bias) return emit(ctx, 'MatMul', path, [x, weight], []);
      initializer(ctx, bias, [m], take(ctx, bias).values);
      return emit(ctx, 'Gemm', path, [x, weight, bias], []);
    }
    case 'Sequential':
      return layer.layers.reduce((h, child) => lower(ctx, child, childPath(path, child.name), h), x);
    case 'Residual': {
      const main = layer.main.reduce((h, child) => lower(ctx, child, childPath(path, child.name), h), x);
      const shortcut = layer.shortcut.reduce((h, child) => lower(ctx, child, childPath(path, child.name), h), x);
      if (layer.activation === 'identity') return emit(ctx, 'Add', path, [main, shortcut], []);
      const sum = emit(ctx, 'Add', `${path}/add`, [main, shortcut], []);
      return emit(ctx, 'Relu', path, [sum], []);
    }
    default:
      return absurd(layer);
  }
}

/**
 * Every tensor of the spec's weight schema is present with its shape (extra tensors are ignored).
 * @example checkTensors(spec.net, new Map()) // Left({ _tag: 'MissingTensor', message: 'no tensor "resnet18.conv1.conv/weight": …' })
 */
export function checkTensors(net: Layer, tensors: NamedTensors): E.Either<ExportError, void> {
  for (const { name: key, shape } of weightSchema(net)) {
    const t = tensors.get(key);
    if (t === undefined)
      return E.left({ _tag: 'MissingTensor', message: `no tensor "${key}": export the tensors of a model built from this spec` });
    if (t.shape.join(',') !== shape.join(',') || t.values.length !== shape.reduce((a, b) => a * b, 1)) {
      return E.left({
        _tag: 'WrongShape',
        message: `tensor "${key}" has shape [${t.shape.join(', ')}] (${t.values.length} values), the spec expects [${shape.join(', ')}]`,
      });
    }
  }
  return E.right(undefined);
}

const LITTLE_ENDIAN = new Uint8Array(new Float32Array([1]).buffer)[3] === 0x3f;

/** BatchNormalization's inputs after X, in ONNX's order: scale, B, input_mean, input_var. */
const ONNX_BATCH_NORM: readonly WeightRoleTag[] = ['BatchNormScale', 'BatchNormOffset', 'BatchNormMean', 'BatchNormVariance'];

// Only called after checkTensors, so a missing tensor here is a bug in this file.
function take(ctx: Ctx, key: string): NamedTensor {
  const t = ctx.tensors.get(key);
  if (t === undefined) throw new Error(`toOnnx: "${key}" vanished after checkTensors`);
  return t;
}

/** `[kh, kw, in, out]` (tfjs) → `[out, in, kh, kw]` (ONNX Conv). */
function hwioToOihw(values: Float32Array, k: number, cin: number, cout: number): Float32Array {
  const out = new Float32Array(values.length);
  for (let h = 0; h < k; h++)
    for (let w = 0; w < k; w++)
      for (let i = 0; i < cin; i++)
        for (let o = 0; o < cout; o++) out[((o * cin + i) * k + h) * k + w] = values[((h * k + w) * cin + i) * cout + o] ?? 0;
  return out;
}

function initializer(ctx: Ctx, name: string, dims: readonly number[], values: Float32Array): void {
  // raw_data is little-endian by the ONNX spec: copy the bytes on little-endian hosts, swap otherwise.
  const bytes = new Uint8Array(values.buffer.slice(values.byteOffset, values.byteOffset + values.byteLength));
  if (!LITTLE_ENDIAN) {
    const view = new DataView(bytes.buffer);
    values.forEach((v, i) => view.setFloat32(i * 4, v, true));
  }
  ctx.initializers.push({ name, dims: [...dims], dataType: onnx.TensorProto.DataType.FLOAT, rawData: bytes });
}

function emit(ctx: Ctx, op: string, name: string, inputs: readonly string[], attributes: onnx.IAttributeProto[]): string {
  ctx.nodes.push(node(op, name, inputs, name, attributes));
  return name;
}

function node(op: string, name: string, inputs: readonly string[], output: string, attribute: onnx.IAttributeProto[]): onnx.INodeProto {
  return { opType: op, name, input: [...inputs], output: [output], attribute };
}

function ints(name: string, values: readonly number[]): onnx.IAttributeProto {
  return { name, type: onnx.AttributeProto.AttributeType.INTS, ints: [...values] };
}

function int(name: string, value: number): onnx.IAttributeProto {
  return { name, type: onnx.AttributeProto.AttributeType.INT, i: value };
}

function float(name: string, value: number): onnx.IAttributeProto {
  return { name, type: onnx.AttributeProto.AttributeType.FLOAT, f: value };
}

function valueInfo(name: string, dims: onnx.TensorShapeProto.IDimension[]): onnx.IValueInfoProto {
  return { name, type: { tensorType: { elemType: onnx.TensorProto.DataType.FLOAT, shape: { dim: dims } } } };
}

/** Output features of the last dense layer, if any (the logits' width). */
function outFeatures(layer: Layer): number | null {
  switch (layer._tag) {
    case 'Dense':
      return layer.outFeatures;
    case 'Sequential':
      return layer.layers.reduce<number | null>((n, child) => outFeatures(child) ?? n, null);
    case 'Conv2d':
    case 'BatchNorm':
    case 'Relu':
    case 'MaxPool':
    case 'GlobalAvgPool':
    case 'Residual':
      return null;
    default:
      return absurd(layer);
  }
}
