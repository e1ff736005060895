import { backend_util } from '@tensorflow/tfjs-core';
import fc from 'fast-check';
import { describeOnednn, expectKernelsAgree, input, numericPadQuirk, poolCaseArb, seedArb, type ConvCase } from './_testing.ts';

function outShape(c: ConvCase): number[] {
  return backend_util.computePool2DInfo([c.batch, c.inH, c.inW, c.inC], [c.kh, c.kw], c.strides, 1, c.pad, c.dimRoundingMode).outShape;
}

function attrs(c: ConvCase): object {
  return { filterSize: [c.kh, c.kw], strides: c.strides, pad: c.pad, dimRoundingMode: c.dimRoundingMode };
}

describeOnednn('oneDNN pooling kernels equal tfjs-backend-cpu', () => {
  test('MaxPool agrees for any window, stride, padding and rounding', () => {
    fc.assert(
      fc.property(poolCaseArb, seedArb, (c, seed) => {
        expectKernelsAgree('MaxPool', { x: input([c.batch, c.inH, c.inW, c.inC], seed) }, attrs(c), { requireNative: !numericPadQuirk(c) });
      }),
      { numRuns: 120 },
    );
  });

  test('MaxPoolGrad routes each gradient to the window maximum, as the cpu kernel does', () => {
    fc.assert(
      fc.property(poolCaseArb, seedArb, (c, seed) => {
        const x = input([c.batch, c.inH, c.inW, c.inC], seed);
        const dy = input(outShape(c), seed + 1);
        // MaxPoolGrad's `output` input is unused by both backends; pass dy-shaped data.
        expectKernelsAgree('MaxPoolGrad', { dy, input: x, output: dy }, attrs(c), { requireNative: !numericPadQuirk(c) });
      }),
      { numRuns: 120 },
    );
  });

  test('AvgPool agrees (padding excluded from the mean)', () => {
    fc.assert(
      fc.property(poolCaseArb, seedArb, (c, seed) => {
        expectKernelsAgree('AvgPool', { x: input([c.batch, c.inH, c.inW, c.inC], seed) }, attrs(c), { requireNative: !numericPadQuirk(c) });
      }),
      { numRuns: 100 },
    );
  });

  test('AvgPoolGrad agrees (the cpu kernel divides by the whole window; tfjs has no rounding here)', () => {
    const unrounded = poolCaseArb.map(({ dimRoundingMode: _, ...c }): ConvCase => c);
    fc.assert(
      fc.property(unrounded, seedArb, (c, seed) => {
        const dy = input(outShape(c), seed + 1);
        expectKernelsAgree(
          'AvgPoolGrad',
          { dy, input: input([c.batch, c.inH, c.inW, c.inC], seed) },
          { filterSize: [c.kh, c.kw], strides: c.strides, pad: c.pad },
          { requireNative: !numericPadQuirk(c) },
        );
      }),
      { numRuns: 100 },
    );
  });
});
