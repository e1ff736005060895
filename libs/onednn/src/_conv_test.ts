import { backend_util } from '@tensorflow/tfjs-core';
import fc from 'fast-check';
import { onednnStatus } from './register.ts';
import { convCaseArb, describeOnednn, expectKernelsAgree, input, numericPadQuirk, seedArb, type ConvCase } from './_testing.ts';

function info(c: ConvCase): backend_util.Conv2DInfo {
  return backend_util.computeConv2DInfo(
    [c.batch, c.inH, c.inW, c.inC],
    [c.kh, c.kw, c.inC, c.outC],
    c.strides,
    c.dilations,
    c.pad,
    c.dimRoundingMode,
  );
}

function attrs(c: ConvCase): object {
  return { strides: c.strides, pad: c.pad, dataFormat: 'NHWC', dilations: c.dilations, dimRoundingMode: c.dimRoundingMode };
}

describeOnednn('oneDNN convolution kernels equal tfjs-backend-cpu', () => {
  test('Conv2D agrees for any batch, size, channels, kernel, stride or dilation, padding and rounding', () => {
    fc.assert(
      fc.property(convCaseArb({ dilations: true }), seedArb, (c, seed) => {
        expectKernelsAgree(
          'Conv2D',
          { x: input([c.batch, c.inH, c.inW, c.inC], seed), filter: input([c.kh, c.kw, c.inC, c.outC], seed + 1) },
          attrs(c),
          { requireNative: !numericPadQuirk(c) },
        );
      }),
      { numRuns: 120 },
    );
  });

  test('Conv2DBackpropInput agrees (tfjs has no dilated conv gradients)', () => {
    fc.assert(
      fc.property(convCaseArb({ dilations: false }), seedArb, (c, seed) => {
        const dy = input(info(c).outShape, seed);
        expectKernelsAgree(
          'Conv2DBackpropInput',
          { dy, filter: input([c.kh, c.kw, c.inC, c.outC], seed + 1) },
          { ...attrs(c), inputShape: [c.batch, c.inH, c.inW, c.inC] },
          { requireNative: !numericPadQuirk(c) },
        );
      }),
      { numRuns: 120 },
    );
  });

  test('Conv2DBackpropFilter agrees', () => {
    fc.assert(
      fc.property(convCaseArb({ dilations: false }), seedArb, (c, seed) => {
        const dy = input(info(c).outShape, seed);
        expectKernelsAgree(
          'Conv2DBackpropFilter',
          { x: input([c.batch, c.inH, c.inW, c.inC], seed + 1), dy },
          { ...attrs(c), filterShape: [c.kh, c.kw, c.inC, c.outC] },
          { requireNative: !numericPadQuirk(c) },
        );
      }),
      { numRuns: 120 },
    );
  });

  test('FusedConv2D agrees with bias (as [C] or [1, 1, 1, C]) and each oneDNN-fused activation', () => {
    const fusion = fc.record({
      activation: fc.constantFrom('linear', 'relu', 'relu6', 'leakyrelu', 'elu', 'sigmoid'),
      bias: fc.constantFrom('none', 'vector', 'rank4'),
      leakyreluAlpha: fc.double({ min: 0.01, max: 0.5, noNaN: true }),
    });
    fc.assert(
      fc.property(convCaseArb({ dilations: true }), fusion, seedArb, (c, f, seed) => {
        const biasShape = f.bias === 'vector' ? [c.outC] : [1, 1, 1, c.outC];
        const inputs = {
          x: input([c.batch, c.inH, c.inW, c.inC], seed),
          filter: input([c.kh, c.kw, c.inC, c.outC], seed + 1),
          ...(f.bias === 'none' ? {} : { bias: input(biasShape, seed + 2) }),
        };
        expectKernelsAgree(
          'FusedConv2D',
          inputs,
          { ...attrs(c), activation: f.activation, leakyreluAlpha: f.leakyreluAlpha },
          { requireNative: !numericPadQuirk(c) },
        );
      }),
      { numRuns: 100 },
    );
  });

  test.each<[string, ConvCase, boolean]>([
    [
      '3x3 same on 1x1 maps (1 of 9 taps)',
      { batch: 3, inH: 1, inW: 1, inC: 24, outC: 40, kh: 3, kw: 3, strides: [1, 1], dilations: [1, 1], pad: 'same' },
      false,
    ],
    [
      '3x3 same on 2x2 maps (unrolled: 4 input pixels against 9 taps)',
      { batch: 2, inH: 2, inW: 2, inC: 16, outC: 8, kh: 3, kw: 3, strides: [1, 1], dilations: [1, 1], pad: 'same' },
      true,
    ],
    [
      '3x3 same on 2x3 maps (unrolled, with zero blocks)',
      { batch: 3, inH: 2, inW: 3, inC: 20, outC: 36, kh: 3, kw: 3, strides: [1, 1], dilations: [1, 1], pad: 'same' },
      true,
    ],
    [
      '3x3 same on 1x2 maps (unrolled, 3 taps)',
      { batch: 2, inH: 1, inW: 2, inC: 8, outC: 12, kh: 3, kw: 3, strides: [1, 1], dilations: [1, 1], pad: 'same' },
      true,
    ],
    [
      '5x5 same on 2x2 maps (unrolled)',
      { batch: 2, inH: 2, inW: 2, inC: 6, outC: 10, kh: 5, kw: 5, strides: [1, 1], dilations: [1, 1], pad: 'same' },
      true,
    ],
    [
      '3x3/2 same from 2x2 to 1x1 (4 taps)',
      { batch: 2, inH: 2, inW: 2, inC: 8, outC: 12, kh: 3, kw: 3, strides: [2, 2], dilations: [1, 1], pad: 'same' },
      false,
    ],
    [
      '3x3 valid on 3x4 (1x2 output)',
      { batch: 2, inH: 3, inW: 4, inC: 5, outC: 6, kh: 3, kw: 3, strides: [1, 1], dilations: [1, 1], pad: 'valid' },
      false,
    ],
    [
      '1x1 stride 1 (pointwise)',
      { batch: 2, inH: 5, inW: 3, inC: 12, outC: 20, kh: 1, kw: 1, strides: [1, 1], dilations: [1, 1], pad: 'valid' },
      false,
    ],
    [
      '1x1 stride 2 on 7x7 (ResNet shortcut)',
      { batch: 2, inH: 7, inW: 7, inC: 8, outC: 16, kh: 1, kw: 1, strides: [2, 2], dilations: [1, 1], pad: 'same' },
      false,
    ],
    [
      '1x1 stride 3x2 on 5x6',
      { batch: 1, inH: 5, inW: 6, inC: 4, outC: 4, kh: 1, kw: 1, strides: [3, 2], dilations: [1, 1], pad: 'valid' },
      false,
    ],
  ])('the GEMM path (%s) agrees in all three directions', (_, c, unrolled) => {
    const calls = () => {
      const i = (onednnStatus() as { info?: { gemmConvCalls: number; unrolledConvCalls: number } }).info;
      return [i?.gemmConvCalls ?? 0, i?.unrolledConvCalls ?? 0] as const;
    };
    const gemmCalls = (): number => calls()[0];
    const before = gemmCalls();
    const unrolledBefore = calls()[1];
    const x = input([c.batch, c.inH, c.inW, c.inC], 1),
      filter = input([c.kh, c.kw, c.inC, c.outC], 2),
      dy = input(info(c).outShape, 3);
    expectKernelsAgree('Conv2D', { x, filter }, attrs(c));
    expectKernelsAgree('Conv2DBackpropInput', { dy, filter }, { ...attrs(c), inputShape: [c.batch, c.inH, c.inW, c.inC] });
    expectKernelsAgree('Conv2DBackpropFilter', { x, dy }, { ...attrs(c), filterShape: [c.kh, c.kw, c.inC, c.outC] });
    expect(gemmCalls() - before).toBe(3);
    expect(calls()[1] - unrolledBefore).toBe(unrolled ? 3 : 0);
  });

  test("a wider 3x3 convolution (channels past oneDNN's 8-wide blocks, with tails) agrees in all three directions", () => {
    const c: ConvCase = { batch: 2, inH: 8, inW: 8, inC: 20, outC: 36, kh: 3, kw: 3, strides: [1, 1], dilations: [1, 1], pad: 'same' };
    const x = input([2, 8, 8, 20], 1),
      filter = input([3, 3, 20, 36], 2),
      dy = input(info(c).outShape, 3);
    expectKernelsAgree('Conv2D', { x, filter }, attrs(c));
    expectKernelsAgree('Conv2DBackpropInput', { dy, filter }, { ...attrs(c), inputShape: [2, 8, 8, 20] });
    expectKernelsAgree('Conv2DBackpropFilter', { x, dy }, { ...attrs(c), filterShape: [3, 3, 20, 36] });
  });
});
