// Fused training kernels that tfjs does not have: batch norm in training mode (statistics,
// normalisation and its full gradient), the momentum-SGD update (with a clipped step's
// gradient scale) and the sum of squares of many tensors (a step's gradient norm). tfjs composes each from
// ~15 (batch norm) or ~7 (SGD) broadcasting kernels, every one a pass over memory and an
// allocation; here each is one or two native passes. The interpreter (@resnet/tfjs) and
// the optimiser (@resnet/training) use them when the active backend registers these names, and
// compose the same maths from tfjs ops otherwise; @resnet/training's tests check both agree.
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import { FUSED_KERNELS } from '@resnet/kernels';
import type { OnednnAddon } from './_addon.ts';
import { floats, native, outputFloats, onednnKernel, type Args, type Outcome } from './_kernel.ts';

interface BatchNormAttrs {
  readonly epsilon: number;
  /** `ResNetBatchNormTrain` only: a ReLU after the normalisation, in the same pass. */
  readonly relu?: boolean;
}

interface SgdAttrs {
  readonly lr: number;
  readonly momentum: number;
  readonly weightDecay: number;
  readonly nesterov: boolean;
  /** The gradient's factor (a clipped step's); absent: 1. */
  readonly gradScale?: number;
}

/** Elements per block of the sum of squares, as native/fused.cc's kBlock. */
const SUM_SQUARES_BLOCK = 32768;

function values(backend: MathBackendCPU, t: TensorInfo | undefined, name: string): Float32Array {
  if (t === undefined) throw new Error(`missing input "${name}"`);
  return Float32Array.from(backend.bufferSync(t).values as ArrayLike<number>);
}

function outputs(backend: MathBackendCPU, parts: readonly [readonly number[], Float32Array][]): TensorInfo[] {
  return parts.map(([shape, data]) => backend.makeTensorInfo([...shape], 'float32', data));
}

function channelsOf(x: TensorInfo | undefined, scale: TensorInfo | undefined): number | string {
  if (x === undefined || scale === undefined) return 'missing input';
  const c = x.shape[x.shape.length - 1] ?? 0;
  if (x.shape.length < 2 || c === 0 || scale.shape.length !== 1 || scale.shape[0] !== c)
    return `scale must be [${c}] for x of shape [${x.shape.join(', ')}]`;
  return c;
}

// --- JS versions: the fallback for non-float32 inputs, same formulas as native/fused.cc ---

function batchNormTrainJs({ inputs, backend, attrs }: Parameters<KernelFunc>[0]): TensorInfo[] {
  const cpu = backend as MathBackendCPU;
  const { x, scale, offset } = inputs;
  const c = channelsOf(x, scale);
  if (typeof c === 'string' || x === undefined) throw new Error(`${FUSED_KERNELS.batchNormTrain}: ${String(c)}`);
  const xv = values(cpu, x, 'x'),
    sv = values(cpu, scale, 'scale'),
    ov = values(cpu, offset, 'offset');
  const { epsilon, relu = false } = attrs as unknown as BatchNormAttrs;
  const rows = xv.length / c;
  const mean = new Float64Array(c),
    variance = new Float64Array(c);
  for (let i = 0; i < xv.length; i++) mean[i % c] = (mean[i % c] ?? 0) + (xv[i] ?? 0);
  for (let j = 0; j < c; j++) mean[j] = (mean[j] ?? 0) / rows;
  for (let i = 0; i < xv.length; i++) variance[i % c] = (variance[i % c] ?? 0) + ((xv[i] ?? 0) - (mean[i % c] ?? 0)) ** 2;
  for (let j = 0; j < c; j++) variance[j] = (variance[j] ?? 0) / rows;
  const y = new Float32Array(xv.length);
  for (let i = 0; i < xv.length; i++) {
    const j = i % c;
    const v = (((xv[i] ?? 0) - (mean[j] ?? 0)) / Math.sqrt((variance[j] ?? 0) + epsilon)) * (sv[j] ?? 0) + (ov[j] ?? 0);
    y[i] = relu && v < 0 ? 0 : v;
  }
  return outputs(cpu, [
    [x.shape, y],
    [[c], Float32Array.from(mean)],
    [[c], Float32Array.from(variance)],
  ]);
}

function batchNormGradJs({ inputs, backend, attrs }: Parameters<KernelFunc>[0]): TensorInfo[] {
  const cpu = backend as MathBackendCPU;
  const { dy, x, scale, mean, variance, y } = inputs;
  const c = channelsOf(x, scale);
  if (typeof c === 'string' || x === undefined) throw new Error(`${FUSED_KERNELS.batchNormGrad}: ${String(c)}`);
  const yv = y === undefined ? null : values(cpu, y, 'y');
  const [dyRaw, xv, sv, mv, vv] = [
    values(cpu, dy, 'dy'),
    values(cpu, x, 'x'),
    values(cpu, scale, 'scale'),
    values(cpu, mean, 'mean'),
    values(cpu, variance, 'variance'),
  ];
  const { epsilon } = attrs as unknown as BatchNormAttrs;
  // Through the ReLU first, where its output y is given.
  const dyv = yv === null ? dyRaw : dyRaw.map((d, i) => ((yv[i] ?? 0) > 0 ? d : 0));
  const rows = xv.length / c;
  const sumDy = new Float64Array(c),
    sumDyXc = new Float64Array(c);
  for (let i = 0; i < xv.length; i++) {
    const j = i % c;
    sumDy[j] = (sumDy[j] ?? 0) + (dyv[i] ?? 0);
    sumDyXc[j] = (sumDyXc[j] ?? 0) + (dyv[i] ?? 0) * ((xv[i] ?? 0) - (mv[j] ?? 0));
  }
  const invstd = Array.from(vv, (v) => 1 / Math.sqrt(v + epsilon));
  const dScale = Float32Array.from(sumDyXc, (s, j) => s * (invstd[j] ?? 0));
  const dx = new Float32Array(xv.length);
  for (let i = 0; i < xv.length; i++) {
    const j = i % c;
    const k = (sv[j] ?? 0) * (invstd[j] ?? 0);
    const xhat = ((xv[i] ?? 0) - (mv[j] ?? 0)) * (invstd[j] ?? 0);
    dx[i] = k * ((dyv[i] ?? 0) - ((sumDy[j] ?? 0) + xhat * (dScale[j] ?? 0)) / rows);
  }
  return outputs(cpu, [
    [x.shape, dx],
    [[c], dScale],
    [[c], Float32Array.from(sumDy)],
  ]);
}

interface RunningStatsAttrs {
  readonly momentum: number;
  readonly count: number;
}

/**
 * `ResNetBatchNormRunningStats` (contract in @resnet/kernels): a few hundred channels, so plain
 * JS on every dtype; each step rounded to float32 as the composed tfjs ops round it.
 */
export function runningStatsJs({ inputs, backend, attrs }: Parameters<KernelFunc>[0]): TensorInfo[] {
  const cpu = backend as MathBackendCPU;
  const { runningMean, runningVariance } = inputs;
  if (runningMean === undefined || runningVariance === undefined)
    throw new Error(`${FUSED_KERNELS.batchNormRunningStats}: missing input "runningMean" or "runningVariance"`);
  const [rm, rv, m, v] = [
    values(cpu, runningMean, 'runningMean'),
    values(cpu, runningVariance, 'runningVariance'),
    values(cpu, inputs.mean, 'mean'),
    values(cpu, inputs.variance, 'variance'),
  ];
  if (rv.length !== rm.length || m.length !== rm.length || v.length !== rm.length)
    throw new Error(
      `${FUSED_KERNELS.batchNormRunningStats}: runningMean, runningVariance, mean and variance must have one size, got ${rm.length}, ${rv.length}, ${m.length}, ${v.length}`,
    );
  const { momentum, count } = attrs as unknown as RunningStatsAttrs;
  const keep = Math.fround(1 - momentum),
    take = Math.fround(momentum),
    bessel = Math.fround(count > 1 ? count / (count - 1) : 1);
  const newMean = new Float32Array(rm.length),
    newVariance = new Float32Array(rm.length);
  for (let i = 0; i < rm.length; i++) {
    newMean[i] = Math.fround(Math.fround((rm[i] ?? 0) * keep) + Math.fround((m[i] ?? 0) * take));
    const unbiased = Math.fround((v[i] ?? 0) * bessel);
    newVariance[i] = Math.fround(Math.fround((rv[i] ?? 0) * keep) + Math.fround(unbiased * take));
  }
  return outputs(cpu, [
    [runningMean.shape, newMean],
    [runningVariance.shape, newVariance],
  ]);
}

function sgdJs({ inputs, backend, attrs }: Parameters<KernelFunc>[0]): TensorInfo[] {
  const cpu = backend as MathBackendCPU;
  const { param, grad, velocity } = inputs;
  if (param === undefined) throw new Error(`${FUSED_KERNELS.sgdMomentum}: missing input "param"`);
  const [p, g, v] = [values(cpu, param, 'param'), values(cpu, grad, 'grad'), values(cpu, velocity, 'velocity')];
  const { lr, momentum, weightDecay, nesterov, gradScale = 1 } = attrs as unknown as SgdAttrs;
  const scale = Math.fround(gradScale);
  const newP = new Float32Array(p.length),
    newV = new Float32Array(p.length);
  for (let i = 0; i < p.length; i++) {
    const d = Math.fround(Math.fround(scale * (g[i] ?? 0)) + Math.fround(weightDecay * (p[i] ?? 0)));
    const vel = Math.fround(Math.fround(momentum * (v[i] ?? 0)) + d);
    newV[i] = vel;
    newP[i] = (p[i] ?? 0) - lr * (nesterov ? d + momentum * vel : vel);
  }
  return outputs(cpu, [
    [param.shape, newP],
    [param.shape, newV],
  ]);
}

interface SgdMultiAttrs {
  readonly lr: number;
  readonly momentum: number;
  readonly nesterov: boolean;
  readonly weightDecays: readonly number[];
  readonly gradScale?: number;
}

/** The tensors of `ResNetSgdMomentumMulti`: inputs p0, g0, v0, p1, … (count from weightDecays). */
function sgdMultiInputs(inputs: Args['inputs'], attrs: SgdMultiAttrs): { p: TensorInfo; g: TensorInfo; v: TensorInfo }[] | string {
  const n = attrs.weightDecays.length;
  if (Object.keys(inputs).length !== 3 * n)
    return `expected ${3 * n} inputs (p, g, v per weightDecays entry), got ${Object.keys(inputs).length}`;
  const out: { p: TensorInfo; g: TensorInfo; v: TensorInfo }[] = [];
  for (let i = 0; i < n; i++) {
    const p = inputs[`p${i}`],
      g = inputs[`g${i}`],
      v = inputs[`v${i}`];
    if (p === undefined || g === undefined || v === undefined) return `missing input p${i}, g${i} or v${i}`;
    out.push({ p, g, v });
  }
  return out;
}

function sgdMultiJs(args: Parameters<KernelFunc>[0]): TensorInfo[] {
  const attrs = args.attrs as unknown as SgdMultiAttrs;
  const triples = sgdMultiInputs(args.inputs, attrs);
  if (typeof triples === 'string') throw new Error(`${FUSED_KERNELS.sgdMomentumMulti}: ${triples}`);
  return triples.flatMap(({ p, g, v }, i) =>
    sgdJs({
      ...args,
      inputs: { param: p, grad: g, velocity: v },
      attrs: {
        lr: attrs.lr,
        momentum: attrs.momentum,
        nesterov: attrs.nesterov,
        weightDecay: attrs.weightDecays[i] ?? 0,
        gradScale: attrs.gradScale ?? 1,
      },
    }),
  );
}

/** The inputs of `ResNetSumSquares`, x0 … x(n − 1), in order. */
function sumSquaresInputs(inputs: Args['inputs']): TensorInfo[] | string {
  const n = Object.keys(inputs).length;
  const xs = Array.from({ length: n }, (_, i) => inputs[`x${i}`]);
  return xs.every((x) => x !== undefined) ? (xs as TensorInfo[]) : `inputs must be x0 … x${n - 1}`;
}

/** A float64 number as the int32 tensor `ResNetSumSquares` returns: its two words, host byte order. */
function float64Words(backend: MathBackendCPU, x: number): TensorInfo {
  return backend.makeTensorInfo([2], 'int32', new Int32Array(Float64Array.of(x).buffer));
}

// One block's Σ x² as native/loops_body.inc's SumSquares: eight lanes, then pairwise.
function blockSumSquares(x: Float32Array, lo: number, hi: number): number {
  const acc = new Float64Array(8);
  let i = lo;
  for (; i + 8 <= hi; i += 8) {
    for (let k = 0; k < 8; k++) {
      const xi = x[i + k] ?? 0;
      acc[k] = (acc[k] ?? 0) + xi * xi;
    }
  }
  for (let k = 0; i < hi; i++, k++) {
    const xi = x[i] ?? 0;
    acc[k] = (acc[k] ?? 0) + xi * xi;
  }
  const [a0, a1, a2, a3, a4, a5, a6, a7] = acc as unknown as [number, number, number, number, number, number, number, number];
  return a0 + a1 + (a2 + a3) + (a4 + a5 + (a6 + a7));
}

/** Σ x² over all arrays, in the blocks and order of native/fused.cc's sumSquaresMulti: the same bits. */
export function sumSquaresJs(xs: readonly Float32Array[]): number {
  let total = 0;
  for (const x of xs) {
    for (let b = 0; b < x.length; b += SUM_SQUARES_BLOCK) total += blockSumSquares(x, b, Math.min(b + SUM_SQUARES_BLOCK, x.length));
  }
  return total;
}

function sumSquaresKernelJs({ inputs, backend }: Parameters<KernelFunc>[0]): TensorInfo {
  const cpu = backend as MathBackendCPU;
  const xs = sumSquaresInputs(inputs);
  if (typeof xs === 'string') throw new Error(`${FUSED_KERNELS.sumSquares}: ${xs}`);
  return float64Words(cpu, sumSquaresJs(xs.map((x, i) => values(cpu, x, `x${i}`))));
}

function reluGradJs({ inputs, backend }: Parameters<KernelFunc>[0]): TensorInfo {
  const cpu = backend as MathBackendCPU;
  const { dy, y } = inputs;
  if (dy === undefined) throw new Error(`${FUSED_KERNELS.reluGrad}: missing input "dy"`);
  const [d, yv] = [values(cpu, dy, 'dy'), values(cpu, y, 'y')];
  return cpu.makeTensorInfo(
    [...dy.shape],
    'float32',
    Float32Array.from(d, (v, i) => ((yv[i] ?? 0) > 0 ? v : 0)),
  );
}

function addReluJs({ inputs, backend }: Parameters<KernelFunc>[0]): TensorInfo {
  const cpu = backend as MathBackendCPU;
  const { a, b } = inputs;
  if (a === undefined || b === undefined || a.shape.join() !== b.shape.join())
    throw new Error(`${FUSED_KERNELS.addRelu}: a and b must have the same shape`);
  const [av, bv] = [values(cpu, a, 'a'), values(cpu, b, 'b')];
  return cpu.makeTensorInfo(
    [...a.shape],
    'float32',
    Float32Array.from(av, (v, i) => {
      const s = Math.fround(v + (bv[i] ?? 0));
      return Number.isNaN(s) ? s : Math.max(s, 0);
    }),
  );
}

// --- native ---

function batchNormTrain(addon: OnednnAddon, { inputs, backend, attrs }: Args): Outcome {
  const { x, scale, offset } = inputs;
  const c = channelsOf(x, scale);
  if (typeof c === 'string' || x === undefined) return c.toString();
  const [xv, sv, ov] = [floats(backend, x), floats(backend, scale), floats(backend, offset)];
  if (xv === undefined || sv === undefined || ov === undefined || ov.length !== c) return 'inputs are not float32';
  const y = outputFloats(backend, xv.length),
    mean = new Float32Array(c),
    variance = new Float32Array(c);
  const { epsilon, relu = false } = attrs as unknown as BatchNormAttrs;
  const error = native(() => addon.batchNormTrain(xv, sv, ov, y, mean, variance, epsilon, relu));
  return (
    error ??
    outputs(backend, [
      [x.shape, y],
      [[c], mean],
      [[c], variance],
    ])
  );
}

function batchNormGrad(addon: OnednnAddon, { inputs, backend, attrs }: Args): Outcome {
  const { dy, x, scale, mean, variance, y } = inputs;
  const c = channelsOf(x, scale);
  if (typeof c === 'string' || x === undefined) return c.toString();
  const [dyv, xv, sv, mv, vv] = [
    floats(backend, dy),
    floats(backend, x),
    floats(backend, scale),
    floats(backend, mean),
    floats(backend, variance),
  ];
  const yv = y === undefined ? undefined : floats(backend, y);
  if (dyv === undefined || xv === undefined || sv === undefined || mv === undefined || vv === undefined) return 'inputs are not float32';
  if (y !== undefined && yv === undefined) return 'inputs are not float32';
  if (dyv.length !== xv.length || mv.length !== c || vv.length !== c || (yv !== undefined && yv.length !== xv.length))
    return 'shapes disagree';
  const dx = outputFloats(backend, xv.length),
    dScale = new Float32Array(c),
    dOffset = new Float32Array(c);
  const error = native(() =>
    addon.batchNormGrad(dyv, xv, sv, mv, vv, dx, dScale, dOffset, (attrs as unknown as BatchNormAttrs).epsilon, yv),
  );
  return (
    error ??
    outputs(backend, [
      [x.shape, dx],
      [[c], dScale],
      [[c], dOffset],
    ])
  );
}

function sgd(addon: OnednnAddon, { inputs, backend, attrs }: Args): Outcome {
  const { param, grad, velocity } = inputs;
  const [p, g, v] = [floats(backend, param), floats(backend, grad), floats(backend, velocity)];
  if (param === undefined || p === undefined || g === undefined || v === undefined) return 'inputs are not float32';
  if (g.length !== p.length || v.length !== p.length) return 'shapes disagree';
  const { lr, momentum, weightDecay, nesterov, gradScale = 1 } = attrs as unknown as SgdAttrs;
  const newP = outputFloats(backend, p.length),
    newV = outputFloats(backend, p.length);
  const error = native(() => addon.sgd(p, g, v, newP, newV, lr, momentum, weightDecay, nesterov, gradScale));
  return (
    error ??
    outputs(backend, [
      [param.shape, newP],
      [param.shape, newV],
    ])
  );
}

function sgdMulti(addon: OnednnAddon, { inputs, backend, attrs }: Args): Outcome {
  const a = attrs as unknown as SgdMultiAttrs;
  const triples = sgdMultiInputs(inputs, a);
  if (typeof triples === 'string') return triples;
  const ps: Float32Array[] = [],
    gs: Float32Array[] = [],
    vs: Float32Array[] = [],
    newPs: Float32Array[] = [],
    newVs: Float32Array[] = [];
  for (const { p, g, v } of triples) {
    const [pv, gv, vv] = [floats(backend, p), floats(backend, g), floats(backend, v)];
    if (pv === undefined || gv === undefined || vv === undefined) return 'inputs are not float32';
    if (gv.length !== pv.length || vv.length !== pv.length) return 'shapes disagree';
    ps.push(pv);
    gs.push(gv);
    vs.push(vv);
    newPs.push(outputFloats(backend, pv.length));
    newVs.push(outputFloats(backend, pv.length));
  }
  const error = native(() =>
    addon.sgdMulti(ps, gs, vs, newPs, newVs, Float32Array.from(a.weightDecays), a.lr, a.momentum, a.nesterov, a.gradScale ?? 1),
  );
  return (
    error ??
    outputs(
      backend,
      triples.flatMap(
        ({ p }, i) =>
          [
            [p.shape, newPs[i] as Float32Array],
            [p.shape, newVs[i] as Float32Array],
          ] as const,
      ),
    )
  );
}

function sumSquares(addon: OnednnAddon, { inputs, backend }: Args): Outcome {
  const xs = sumSquaresInputs(inputs);
  if (typeof xs === 'string') return xs;
  const arrays = xs.map((x) => floats(backend, x));
  if (!arrays.every((x) => x !== undefined)) return 'inputs are not float32';
  let total = 0;
  const error = native(() => {
    total = addon.sumSquaresMulti(arrays as Float32Array[]);
  });
  return error ?? float64Words(backend, total);
}

function reluGrad(addon: OnednnAddon, { inputs, backend }: Args): Outcome {
  const { dy, y } = inputs;
  const [d, yv] = [floats(backend, dy), floats(backend, y)];
  if (dy === undefined || d === undefined || yv === undefined) return 'inputs are not float32';
  if (d.length !== yv.length) return 'shapes disagree';
  const dx = outputFloats(backend, d.length);
  const error = native(() => addon.reluGrad(d, yv, dx));
  return error ?? backend.makeTensorInfo([...dy.shape], 'float32', dx);
}

function addRelu(addon: OnednnAddon, { inputs, backend }: Args): Outcome {
  const { a, b } = inputs;
  const [av, bv] = [floats(backend, a), floats(backend, b)];
  if (a === undefined || b === undefined || av === undefined || bv === undefined) return 'inputs are not float32';
  if (a.shape.join() !== b.shape.join()) return 'shapes disagree';
  const y = outputFloats(backend, av.length);
  const error = native(() => addon.addRelu(av, bv, y));
  return error ?? backend.makeTensorInfo([...a.shape], 'float32', y);
}

/** The fused training kernels for the onednn backend (native; JS loops for other dtypes). */
export function fusedKernels(addon: OnednnAddon): KernelConfig[] {
  return [
    onednnKernel(FUSED_KERNELS.batchNormTrain, (args) => batchNormTrain(addon, args), batchNormTrainJs),
    onednnKernel(FUSED_KERNELS.batchNormGrad, (args) => batchNormGrad(addon, args), batchNormGradJs),
    onednnKernel(FUSED_KERNELS.batchNormRunningStats, (args) => runningStatsJs(args), runningStatsJs),
    onednnKernel(FUSED_KERNELS.sgdMomentum, (args) => sgd(addon, args), sgdJs),
    onednnKernel(FUSED_KERNELS.sgdMomentumMulti, (args) => sgdMulti(addon, args), sgdMultiJs),
    onednnKernel(FUSED_KERNELS.sumSquares, (args) => sumSquares(addon, args), sumSquaresKernelJs),
    onednnKernel(FUSED_KERNELS.reluGrad, (args) => reluGrad(addon, args), reluGradJs),
    onednnKernel(FUSED_KERNELS.addRelu, (args) => addRelu(addon, args), addReluJs),
  ];
}
