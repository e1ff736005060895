// Conv2D, its two gradients and FusedConv2D on oneDNN convolution primitives (NHWC, HWIO).
import {
  backend_util,
  Conv2D,
  Conv2DBackpropFilter,
  Conv2DBackpropInput,
  FusedConv2D,
  type Conv2DAttrs,
  type Conv2DBackpropFilterAttrs,
  type Conv2DBackpropInputAttrs,
  type FusedConv2DAttrs,
  type KernelConfig,
  type TensorInfo,
} from '@tensorflow/tfjs-core';
import { codeOf, type OnednnAddon } from './_addon.ts';
import { convParams } from './_geometry.ts';
import { PooledCpuBackend } from './_buffers.ts';
import { floats, outputFloats, native, onednnKernel, settings, sizeOf, type Args, type Outcome } from './_kernel.ts';

type Shape4 = [number, number, number, number];

function shape4(t: TensorInfo | undefined): Shape4 | undefined {
  return t !== undefined && t.shape.length === 4 ? (t.shape as Shape4) : undefined;
}

function conv(
  addon: OnednnAddon,
  args: Args,
  o: {
    kind: number;
    info: backend_util.Conv2DInfo;
    a: TensorInfo | undefined;
    b: TensorInfo | undefined;
    outShape: number[];
    bias?: Float32Array;
    activation?: number;
    alpha?: number;
  },
): Outcome {
  const a = floats(args.backend, o.a);
  const b = floats(args.backend, o.b);
  if (a === undefined || b === undefined) return 'inputs are not float32';
  const params = convParams(o.info, o.activation ?? addon.ops.activation.linear);
  if (typeof params === 'string') return params;
  const out = outputFloats(args.backend, sizeOf(o.outShape));
  // Under bf16 the addon keeps each input's bf16 copy by key (a filter converted for the forward
  // serves the backward too); fp32 converts nothing, so no keys.
  const keyed = settings.precision !== 'fp32' && args.backend instanceof PooledCpuBackend ? args.backend : undefined;
  const [keyA, keyB] =
    keyed === undefined || o.a === undefined || o.b === undefined ? [0, 0] : [keyed.inputKey(o.a.dataId), keyed.inputKey(o.b.dataId)];
  const error = native(() => addon.conv(o.kind, a, b, o.bias ?? null, out, params, o.alpha ?? 0, keyA, keyB));
  return error ?? args.backend.makeTensorInfo(o.outShape, 'float32', out);
}

/** tfjs's geometry of an NHWC convolution from a kernel's attributes (dilation 1 unless given). */
function channelsLastInfo(
  xShape: [number, number, number, number],
  filterShape: [number, number, number, number],
  attrs: Pick<Conv2DAttrs, 'strides' | 'pad' | 'dimRoundingMode'>,
  dilations: Conv2DAttrs['dilations'] = 1,
): backend_util.Conv2DInfo {
  return backend_util.computeConv2DInfo(
    xShape,
    filterShape,
    attrs.strides,
    dilations,
    attrs.pad,
    attrs.dimRoundingMode,
    false,
    'channelsLast',
  );
}

function conv2d(addon: OnednnAddon, args: Args): Outcome {
  const { x, filter } = args.inputs;
  const attrs = args.attrs as unknown as Conv2DAttrs;
  const xs = shape4(x),
    fs = shape4(filter);
  if (xs === undefined || fs === undefined) return 'inputs are not rank 4';
  if (attrs.dataFormat === 'NCHW') return 'NCHW data format';
  const info = channelsLastInfo(xs, fs, attrs, attrs.dilations);
  return conv(addon, args, { kind: addon.ops.conv.forward, info, a: x, b: filter, outShape: info.outShape });
}

function conv2dBackpropInput(addon: OnednnAddon, args: Args): Outcome {
  const { dy, filter } = args.inputs;
  const attrs = args.attrs as unknown as Conv2DBackpropInputAttrs;
  const fs = shape4(filter);
  if (fs === undefined || shape4(dy) === undefined) return 'inputs are not rank 4';
  if (attrs.dataFormat === 'NCHW') return 'NCHW data format';
  const info = channelsLastInfo(attrs.inputShape, fs, attrs);
  if (dy === undefined || dy.shape.join() !== info.outShape.join()) return 'dy does not have the convolution output shape';
  return conv(addon, args, { kind: addon.ops.conv.backwardData, info, a: dy, b: filter, outShape: info.inShape });
}

function conv2dBackpropFilter(addon: OnednnAddon, args: Args): Outcome {
  const { x, dy } = args.inputs;
  const attrs = args.attrs as unknown as Conv2DBackpropFilterAttrs;
  const xs = shape4(x);
  if (xs === undefined || shape4(dy) === undefined) return 'inputs are not rank 4';
  if (attrs.dataFormat === 'NCHW') return 'NCHW data format';
  const info = channelsLastInfo(xs, attrs.filterShape, attrs);
  if (dy === undefined || dy.shape.join() !== info.outShape.join()) return 'dy does not have the convolution output shape';
  return conv(addon, args, { kind: addon.ops.conv.backwardFilter, info, a: x, b: dy, outShape: info.filterShape });
}

/** Bias that adds one value per output channel (shape [C], [1, C], [1, 1, 1, C], …). */
export function channelBias(args: Args, bias: TensorInfo | undefined, channels: number): Float32Array | undefined | string {
  if (bias === undefined) return undefined;
  const values = floats(args.backend, bias);
  const perChannel = bias.shape.length >= 1 && bias.shape[bias.shape.length - 1] === channels && sizeOf(bias.shape) === channels;
  return values !== undefined && perChannel ? values : `bias of shape [${bias.shape.join(', ')}] is not per-channel`;
}

function fusedConv2d(addon: OnednnAddon, args: Args): Outcome {
  const { x, filter, bias } = args.inputs;
  const attrs = args.attrs as unknown as FusedConv2DAttrs;
  const xs = shape4(x),
    fs = shape4(filter);
  if (xs === undefined || fs === undefined) return 'inputs are not rank 4';
  if (attrs.dataFormat === 'NCHW') return 'NCHW data format';
  const activation = codeOf(addon.ops.activation, attrs.activation ?? 'linear');
  if (activation === undefined) return `activation "${attrs.activation}"`;
  if (attrs.activation === 'leakyrelu' && typeof attrs.leakyreluAlpha !== 'number') return 'leakyrelu without alpha';
  const info = channelsLastInfo(xs, fs, attrs, attrs.dilations);
  const b = channelBias(args, bias, info.outChannels);
  if (typeof b === 'string') return b;
  return conv(addon, args, {
    kind: addon.ops.conv.forward,
    info,
    a: x,
    b: filter,
    outShape: info.outShape,
    activation,
    alpha: attrs.leakyreluAlpha ?? 0,
    ...(b === undefined ? {} : { bias: b }),
  });
}

/** Conv2D, Conv2DBackpropInput, Conv2DBackpropFilter and FusedConv2D for the onednn backend. */
export function convKernels(addon: OnednnAddon): KernelConfig[] {
  return [
    onednnKernel(Conv2D, (args) => conv2d(addon, args)),
    onednnKernel(Conv2DBackpropInput, (args) => conv2dBackpropInput(addon, args)),
    onednnKernel(Conv2DBackpropFilter, (args) => conv2dBackpropFilter(addon, args)),
    onednnKernel(FusedConv2D, (args) => fusedConv2d(addon, args)),
  ];
}
