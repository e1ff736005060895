// MaxPool, AvgPool and their gradients on oneDNN pooling primitives (NHWC).
import {
  AvgPool,
  AvgPoolGrad,
  backend_util,
  MaxPool,
  MaxPoolGrad,
  type AvgPoolAttrs,
  type AvgPoolGradAttrs,
  type KernelConfig,
  type MaxPoolAttrs,
  type MaxPoolGradAttrs,
  type TensorInfo,
} from '@tensorflow/tfjs-core';
import type { OnednnAddon } from './_addon.ts';
import { poolParams } from './_geometry.ts';
import { floats, outputFloats, native, onednnKernel, sizeOf, type Args, type Outcome } from './_kernel.ts';

type Shape4 = [number, number, number, number];
type PoolAttrs = MaxPoolAttrs | AvgPoolAttrs | MaxPoolGradAttrs | AvgPoolGradAttrs;

function info(x: TensorInfo, attrs: PoolAttrs): backend_util.Conv2DInfo {
  const rounding = 'dimRoundingMode' in attrs ? attrs.dimRoundingMode : undefined;
  return backend_util.computePool2DInfo(x.shape as Shape4, attrs.filterSize, attrs.strides, 1, attrs.pad, rounding);
}

function forward(addon: OnednnAddon, args: Args, algorithm: number): Outcome {
  const { x } = args.inputs;
  const xv = floats(args.backend, x);
  if (x === undefined || xv === undefined || x.shape.length !== 4) return 'input is not a float32 rank-4 tensor';
  const geometry = info(x, args.attrs as unknown as PoolAttrs);
  const params = poolParams(geometry, algorithm);
  if (typeof params === 'string') return params;
  const out = outputFloats(args.backend, sizeOf(geometry.outShape));
  const error = native(() => addon.pool(false, xv, null, out, params));
  return error ?? args.backend.makeTensorInfo(geometry.outShape, 'float32', out);
}

function backward(addon: OnednnAddon, args: Args, algorithm: number): Outcome {
  const { dy, input } = args.inputs;
  const xv = floats(args.backend, input),
    dyv = floats(args.backend, dy);
  if (input === undefined || dy === undefined || xv === undefined || dyv === undefined || input.shape.length !== 4)
    return 'inputs are not float32 rank-4 tensors';
  const geometry = info(input, args.attrs as unknown as PoolAttrs);
  if (dy.shape.join() !== geometry.outShape.join()) return 'dy does not have the pooling output shape';
  const params = poolParams(geometry, algorithm);
  if (typeof params === 'string') return params;
  const out = outputFloats(args.backend, sizeOf(input.shape));
  const error = native(() => addon.pool(true, xv, dyv, out, params));
  return error ?? args.backend.makeTensorInfo(input.shape, 'float32', out);
}

/**
 * MaxPool, MaxPoolGrad, AvgPool and AvgPoolGrad for the onednn backend. AvgPoolGrad divides
 * by the whole window, as tfjs-backend-cpu does, although AvgPool excludes the padding.
 */
export function poolKernels(addon: OnednnAddon): KernelConfig[] {
  const { pool } = addon.ops;
  return [
    onednnKernel(MaxPool, (args) => forward(addon, args, pool.max)),
    onednnKernel(MaxPoolGrad, (args) => backward(addon, args, pool.max)),
    onednnKernel(AvgPool, (args) => forward(addon, args, pool.avgExcludePadding)),
    onednnKernel(AvgPoolGrad, (args) => backward(addon, args, pool.avgIncludePadding)),
  ];
}
