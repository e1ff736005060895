import { backend_util } from '@tensorflow/tfjs-core';
import fc from 'fast-check';
import { convCaseArb, describeOnednn, expectKernelsAgree, input, numericPadQuirk, seedArb, type ConvCase } from './_testing.ts';

function info(c: ConvCase): backend_util.Conv2DInfo {
  return backend_util.computeConv2DInfo([c.batch, c.inH, c.inW, c.inC], [c.kh, c.kw, c.inC, c.outC], c.strides, c.dilations, c.pad, c.dimRoundingMode);
}

function attrs(c: ConvCase): object {
  return { strides: c.strides, pad: c.pad, dataFormat: 'NHWC', dilations: c.dilations, dimRoundingMode: c.dimRoundingMode };
}

describeOnednn('oneDNN convolution kernels equal tfjs-backend-cpu', () => {
  test('Conv2D agrees for any batch, size, channels, kernel, stride or dilation, padding and rounding', () => {
    fc.assert(
      fc.property(convCaseArb({ dilations: true }), seedArb, (c, seed) => {
        expectKernelsAgree('Conv2D', { x: input([c.batch, c.inH, c.inW, c.inC], seed), filter: input([c.kh, c.kw, c.inC, c.outC], seed + 1) }, attrs(c), { requireNative: !numericPadQuirk(c) });
      }),
      { numRuns: 120 },
    );
  });

  test('Conv2DBackpropInput agrees (tfjs has no dilated conv gradients)', () => {
    fc.assert(
      fc.property(convCaseArb({ dilations: false }), seedArb, (c, seed) => {
        const dy = input(info(c).outShape, seed);
        expectKernelsAgree('Conv2DBackpropInput', { dy, filter: input([c.kh, c.kw, c.inC, c.outC], seed + 1) }, { ...attrs(c), inputShape: [c.batch, c.inH, c.inW, c.inC] }, { requireNative: !numericPadQuirk(c) });
      }),
      { numRuns: 120 },
    );
  });

  test('Conv2DBackpropFilter agrees', () => {
    fc.assert(
      fc.property(convCaseArb({ dilations: false }), seedArb, (c, seed) => {
        const dy = input(info(c).outShape, seed);
        expectKernelsAgree('Conv2DBackpropFilter', { x: input([c.batch, c.inH, c.inW, c.inC], seed + 1), dy }, { ...attrs(c), filterShape: [c.kh, c.kw, c.inC, c.outC] }, { requireNative: !numericPadQuirk(c) });
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
        expectKernelsAgree('FusedConv2D', inputs, { ...attrs(c), activation: f.activation, leakyreluAlpha: f.leakyreluAlpha }, { requireNative: !numericPadQuirk(c) });
      }),
      { numRuns: 100 },
    );
  });

  test('a wider 3x3 convolution (channels past oneDNN\'s 8-wide blocks, with tails) agrees in all three directions', () => {
    const c: ConvCase = { batch: 2, inH: 8, inW: 8, inC: 20, outC: 36, kh: 3, kw: 3, strides: [1, 1], dilations: [1, 1], pad: 'same' };
    const x = input([2, 8, 8, 20], 1), filter = input([3, 3, 20, 36], 2), dy = input(info(c).outShape, 3);
    expectKernelsAgree('Conv2D', { x, filter }, attrs(c));
    expectKernelsAgree('Conv2DBackpropInput', { dy, filter }, { ...attrs(c), inputShape: [2, 8, 8, 20] });
    expectKernelsAgree('Conv2DBackpropFilter', { x, dy }, { ...attrs(c), filterShape: [3, 3, 20, 36] });
  });
});
