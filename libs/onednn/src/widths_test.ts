// The kernels at ResNet widths (16–64 channels) against tfjs-backend-cpu. At 16 channels and
// more oneDNN runs its blocked layouts (filters in blocks of 16 or 32 channels, nChw16c
// activations in the backward kernels; see native/conv.cc's AutoLayout), with reorders from
// and to tfjs's NHWC/HWIO on every call: the ≤ 12-channel properties of _conv_test.ts and
// _pool_test.ts never reach their block and tail indexing. Convolutions run under each forced
// layout, and each run checks that the layout it forced is the one that ran (oneDNN's
// implementation names; the child-process test below ties those names to the memory formats
// oneDNN reports).
import { execFileSync } from 'node:child_process';
import * as tf from '@tensorflow/tfjs-core';
import { backend_util } from '@tensorflow/tfjs-core';
import fc from 'fast-check';
import { addonPath } from './_addon.ts';
import { configureOnednn, onednnPrimitives, type ConvLayout } from './diagnostics.ts';
import {
  describeOnednn,
  expectKernelsAgree,
  input,
  numericPadQuirk,
  relativeError,
  seedArb,
  wideChannelsArb,
  wideConvCaseArb,
  widePoolCaseArb,
  runKernel,
  type ConvCase,
  type Input,
  type Output,
} from './_testing.ts';

function convAttrs(c: ConvCase): object {
  return { strides: c.strides, pad: c.pad, dataFormat: 'NHWC', dilations: c.dilations };
}

function convOutShape(c: ConvCase): number[] {
  return backend_util.computeConv2DInfo([c.batch, c.inH, c.inW, c.inC], [c.kh, c.kw, c.inC, c.outC], c.strides, 1, c.pad).outShape;
}

/**
 * The filter gradient dW[kh, kw, i, o] = Σ x[n, oh·s + kh − top, ow·s + kw − left, i] · dy[n, oh, ow, o] as a
 * forward convolution on the cpu backend: x with batch and channels swapped, convolved with dy as the filter
 * dilated by the stride. tfjs-backend-cpu's own Conv2DBackpropFilter reads each product through
 * TensorBuffer.get, about 1 s for 64→64 3x3 on 2x8x8 maps; its Conv2D takes 50 ms.
 */
function filterGradientOnCpu(c: ConvCase, x: Input, dy: Input): Output {
  const info = backend_util.computeConv2DInfo([c.batch, c.inH, c.inW, c.inC], [c.kh, c.kw, c.inC, c.outC], c.strides, 1, c.pad);
  const { top, left } = info.padInfo;
  // Rows and columns past the last window (negative: the windows stop short of x's end, so crop x).
  const bottom = c.kh + (info.outHeight - 1) * c.strides[0] - c.inH - top;
  const right = c.kw + (info.outWidth - 1) * c.strides[1] - c.inW - left;
  tf.setBackend('cpu');
  return tf.tidy(() => {
    const xs = tf.slice(tf.tensor(x.values, x.shape), [0, 0, 0, 0], [-1, c.inH + Math.min(0, bottom), c.inW + Math.min(0, right), -1]);
    const pads: [[number, number], [number, number], [number, number], [number, number]] = [
      [0, 0],
      [top, Math.max(0, bottom)],
      [left, Math.max(0, right)],
      [0, 0],
    ];
    const dys: tf.Tensor = tf.tensor(dy.values, dy.shape);
    const dw = tf.conv2d(
      tf.transpose(xs, [3, 1, 2, 0]) as tf.Tensor4D,
      tf.transpose(dys, [1, 2, 0, 3]) as tf.Tensor4D,
      1,
      pads,
      'NHWC',
      c.strides,
    );
    const out = tf.transpose(dw, [1, 2, 0, 3]);
    return { shape: out.shape, values: out.dataSync() as Float32Array };
  });
}

type Direction = 'Conv2D' | 'Conv2DBackpropInput' | 'Conv2DBackpropFilter';

// One direction of one convolution on both backends.
function convAgrees(direction: Direction, c: ConvCase, seed: number): void {
  const xShape = [c.batch, c.inH, c.inW, c.inC],
    filterShape = [c.kh, c.kw, c.inC, c.outC];
  const x = input(xShape, seed),
    filter = input(filterShape, seed + 1),
    dy = input(convOutShape(c), seed + 2);
  if (direction === 'Conv2D') expectKernelsAgree(direction, { x, filter }, convAttrs(c));
  else if (direction === 'Conv2DBackpropInput') expectKernelsAgree(direction, { dy, filter }, { ...convAttrs(c), inputShape: xShape });
  else expectKernelsAgree(direction, { x, dy }, { ...convAttrs(c), filterShape }, { expected: filterGradientOnCpu(c, x, dy) });
}

// oneDNN implementations (e.g. 'x64:gemm:jit', 'jit:avx512_core') whose primitives ran during `run`.
function implementationsDuring(run: () => void): string[] {
  const before = onednnPrimitives();
  run();
  const after = onednnPrimitives();
  // A full primitive cache (4,096 entries, shared by every suite in this jest worker) is emptied
  // on a miss: then every count left was made during `run`.
  const emptied = Object.keys(before).some((impl) => (after[impl] ?? 0) < (before[impl] ?? 0));
  return Object.keys(after).filter((impl) => (after[impl] ?? 0) > (emptied ? 0 : (before[impl] ?? 0)));
}

// On plain NHWC activations and HWIO filters oneDNN 2.6 picks its gemm convolution; its direct
// (jit, brgconv) kernels need blocked filters at least (the child-process test below shows the formats).
const onPlainLayouts = (impl: string): boolean => /gemm/.test(impl);

const LAYOUTS: readonly [ConvLayout, string, (impls: string[]) => boolean][] = [
  ['plain', "oneDNN's gemm convolution on NHWC/HWIO", (impls) => impls.length > 0 && impls.every(onPlainLayouts)],
  ['blocked', 'a direct kernel on blocked layouts', (impls) => impls.length > 0 && !impls.some(onPlainLayouts)],
  // What training runs: blocked for 3x3 with 16+ channels, the GEMM path of gemm_conv.cc for 1x1 and tiny maps.
  ['auto', 'whatever the policy picks', (impls) => impls.length > 0],
];

// A filter as large as the unpadded input (one output position, e.g. the stem's 7x7 on 7x7 maps) is a dense layer:
// oneDNN may run it as its inner product ('ip:x64:gemm:jit' for the filter gradient), whatever layout was forced.
function coversWholeInput(c: ConvCase): boolean {
  const [outH, outW] = convOutShape(c).slice(1, 3);
  return outH === 1 && outW === 1 && c.kh === c.inH && c.kw === c.inW;
}

const DIRECTIONS: readonly Direction[] = ['Conv2D', 'Conv2DBackpropInput', 'Conv2DBackpropFilter'];

describeOnednn('oneDNN kernels at ResNet widths (16–64 channels) equal tfjs-backend-cpu', () => {
  afterAll(() => {
    configureOnednn({ convLayout: { forward: 'auto', backwardInput: 'auto', backwardFilter: 'auto' } });
  });

  test("the filter-gradient reference (a forward convolution on cpu) equals tfjs-backend-cpu's Conv2DBackpropFilter", () => {
    // Up to 8 channels: the cpu kernel is slow at ResNet widths, and the reference's index arithmetic does not depend on them.
    const narrow = wideConvCaseArb.map((c): ConvCase => ({ ...c, inC: Math.min(c.inC, 8), outC: Math.min(c.outC, 8) }));
    fc.assert(
      fc.property(narrow, seedArb, (c, seed) => {
        const x = input([c.batch, c.inH, c.inW, c.inC], seed),
          dy = input(convOutShape(c), seed + 1);
        const expected = runKernel('cpu', 'Conv2DBackpropFilter', { x, dy }, { ...convAttrs(c), filterShape: [c.kh, c.kw, c.inC, c.outC] });
        const reference = filterGradientOnCpu(c, x, dy);
        expect(reference.shape).toEqual(expected.shape);
        expect(relativeError(reference.values, expected.values)).toBeLessThanOrEqual(1e-4);
      }),
      { numRuns: 40 },
    );
  });

  describe.each(LAYOUTS)('convolutions under the "%s" layout (%s)', (layout, _, ranAsForced) => {
    beforeAll(() => {
      expect(configureOnednn({ convLayout: { forward: layout, backwardInput: layout, backwardFilter: layout } })).toBe(true);
    });

    test.each(DIRECTIONS)(
      "%s agrees for 1–64 channels (16, 32, 48, 64 often), 1x1, 3x3 and the stem's 7x7 kernels, strides 1 and 2",
      (direction) => {
        fc.assert(
          fc.property(wideConvCaseArb, seedArb, (c, seed) => {
            const impls = implementationsDuring(() => convAgrees(direction, c, seed));
            const asInnerProduct = coversWholeInput(c) && impls.length > 0 && impls.every((impl) => impl.startsWith('ip:'));
            // One input and one output channel under plain layouts: oneDNN 2.6's gemm convolution does not take it and its
            // reference kernel runs (seen in CI: 7x7 "same" on 7x7 maps, 1 -> 1 channel, forward ran on "ref:any").
            const singleChannelReference =
              layout === 'plain' && c.inC === 1 && c.outC === 1 && impls.length > 0 && impls.every((impl) => impl.startsWith('ref:'));
            if (!ranAsForced(impls) && !asInnerProduct && !singleChannelReference)
              throw new Error(`under "${layout}" ${direction} ran on ${JSON.stringify(impls)}`);
          }),
          { numRuns: 25 },
        );
      },
    );
  });

  test('forcing plain or blocked changes the memory formats oneDNN runs on (ONEDNN_VERBOSE, in a child process)', () => {
    // 3x3 32→48 on 8x8 maps, batch 2: forward, backward data, backward filter, as native/conv.cc's conv() takes them.
    const script = `
      const a = require(${JSON.stringify(addonPath())});
      const { layout: b, conv } = a.ops;
      const bits = process.argv[1] === 'plain' ? b.plain : b.srcAny | b.weightsAny | b.dstAny;
      for (const kind of [conv.forward, conv.backwardData, conv.backwardFilter]) a.setConvLayout(kind, bits);
      const p = Int32Array.of(2, 8, 8, 32, 8, 8, 48, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 0);
      const x = new Float32Array(2 * 8 * 8 * 32), w = new Float32Array(3 * 3 * 32 * 48), y = new Float32Array(2 * 8 * 8 * 48);
      a.conv(conv.forward, x, w, null, y, p, 0);
      a.conv(conv.backwardData, y, w, null, x, p, 0);
      a.conv(conv.backwardFilter, x, y, null, w, p, 0);`;
    const verbose = (layout: string): string[][] =>
      execFileSync(process.execPath, ['-e', script, layout], { env: { ...process.env, ONEDNN_VERBOSE: '1' }, encoding: 'utf8' })
        .split('\n')
        .filter((line) => line.startsWith('onednn_verbose,'))
        .map((line) => line.split(','))
        // From 'exec' on: exec,cpu,<primitive>,<implementation>,<prop_kind>,<memory descriptors>,... (oneDNN 3 adds columns before it).
        .flatMap((fields) => (fields.includes('exec') ? [fields.slice(fields.indexOf('exec'))] : []));
    // A memory descriptor reads <arg>_<type>:<padding>:<kind>:<format>:<flags>, e.g. src_f32::blocked:aBcd16b:f0.
    const formats = (line: string[]): string[] => (line[5] ?? '').split(' ').map((md) => md.split(':')[3] ?? '');
    for (const layout of ['plain', 'blocked'] as const) {
      const lines = verbose(layout);
      const convs = lines.filter((l) => l[2] === 'convolution');
      expect(convs.map((l) => l[4])).toEqual(['forward_inference', 'backward_data', 'backward_weights']);
      const plainFormats = (l: string[]): boolean => formats(l).every((f) => ['acdb', 'cdba', ''].includes(f)); // NHWC, HWIO, no bias
      if (layout === 'plain') {
        expect({ layout, reorders: lines.filter((l) => l[2] === 'reorder').length, allPlain: convs.every(plainFormats) }).toEqual({
          layout,
          reorders: 0,
          allPlain: true,
        });
      } else {
        // Blocked formats such as aBcd16b (nChw16c) and ABcd16a16b, reached through reorders.
        expect({ layout, blocked: convs.map((l) => !plainFormats(l)), reorders: lines.some((l) => l[2] === 'reorder') }).toEqual({
          layout,
          blocked: [true, true, true],
          reorders: true,
        });
      }
      // The check each property run makes from the implementation names alone.
      expect({ layout, gemm: convs.map((l) => onPlainLayouts(l[3] ?? '')) }).toEqual({ layout, gemm: Array(3).fill(layout === 'plain') });
    }
  });

  test.each(['MaxPool', 'AvgPool'])('%s agrees for 1–64 channels, any window up to 3x3, stride and padding', (kernel) => {
    fc.assert(
      fc.property(widePoolCaseArb, seedArb, (c, seed) => {
        const attrs = { filterSize: [c.kh, c.kw], strides: c.strides, pad: c.pad };
        expectKernelsAgree(kernel, { x: input([c.batch, c.inH, c.inW, c.inC], seed) }, attrs, { requireNative: !numericPadQuirk(c) });
      }),
      { numRuns: 40 },
    );
  });

  test.each(['MaxPoolGrad', 'AvgPoolGrad'])('%s agrees for 1–64 channels, any window up to 3x3, stride and padding', (kernel) => {
    fc.assert(
      fc.property(widePoolCaseArb, seedArb, (c, seed) => {
        const attrs = { filterSize: [c.kh, c.kw], strides: c.strides, pad: c.pad };
        const x = input([c.batch, c.inH, c.inW, c.inC], seed);
        const dy = input(
          backend_util.computePool2DInfo([c.batch, c.inH, c.inW, c.inC], [c.kh, c.kw], c.strides, 1, c.pad).outShape,
          seed + 1,
        );
        // MaxPoolGrad's `output` input is unused by both backends (as in _pool_test.ts).
        const inputs: Record<string, Input> = kernel === 'MaxPoolGrad' ? { dy, input: x, output: dy } : { dy, input: x };
        expectKernelsAgree(kernel, inputs, attrs, { requireNative: !numericPadQuirk(c) });
      }),
      { numRuns: 40 },
    );
  });

  test('FusedBatchNorm (inference) agrees on NHWC maps of 1–64 channels, with and without offset and scale', () => {
    const bnArb = fc.record({
      shape: fc.tuple(fc.integer({ min: 1, max: 2 }), fc.integer({ min: 1, max: 8 }), fc.integer({ min: 1, max: 8 }), wideChannelsArb),
      offset: fc.boolean(),
      scale: fc.boolean(),
      varianceEpsilon: fc.double({ min: 1e-5, max: 0.1, noNaN: true }),
    });
    fc.assert(
      fc.property(bnArb, seedArb, ({ shape, offset, scale, varianceEpsilon }, seed) => {
        const c = shape[3];
        const variance = input([c], seed + 2);
        variance.values.forEach((v, i) => (variance.values[i] = Math.abs(v)));
        expectKernelsAgree(
          'FusedBatchNorm',
          {
            x: input([...shape], seed),
            mean: input([c], seed + 1),
            variance,
            ...(offset ? { offset: input([c], seed + 3) } : {}),
            ...(scale ? { scale: input([c], seed + 4) } : {}),
          },
          { varianceEpsilon },
        );
      }),
      { numRuns: 60 },
    );
  });
});
