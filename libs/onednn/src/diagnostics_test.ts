import { backend_util } from '@tensorflow/tfjs-core';
import fc from 'fast-check';
import { clearOnednnCache, configureOnednn, onednnPrimitives, onednnStats, resetOnednnStats, type ConvLayout } from './diagnostics.ts';
import { convCaseArb, describeOnednn, expectKernelsAgree, input, numericPadQuirk, seedArb, status, type ConvCase } from './_testing.ts';

function attrs(c: ConvCase): object {
  return { strides: c.strides, pad: c.pad, dataFormat: 'NHWC', dilations: c.dilations, dimRoundingMode: c.dimRoundingMode };
}

// All three directions of one convolution must agree with cpu under the current layout.
function allDirectionsAgree(c: ConvCase, seed: number): void {
  const x = input([c.batch, c.inH, c.inW, c.inC], seed);
  const filter = input([c.kh, c.kw, c.inC, c.outC], seed + 1);
  const dy = input(
    backend_util.computeConv2DInfo([c.batch, c.inH, c.inW, c.inC], [c.kh, c.kw, c.inC, c.outC], c.strides, 1, c.pad, c.dimRoundingMode)
      .outShape,
    seed + 2,
  );
  const options = { requireNative: !numericPadQuirk(c) };
  expectKernelsAgree('Conv2D', { x, filter }, attrs(c), options);
  expectKernelsAgree('Conv2DBackpropInput', { dy, filter }, { ...attrs(c), inputShape: [c.batch, c.inH, c.inW, c.inC] }, options);
  expectKernelsAgree('Conv2DBackpropFilter', { x, dy }, { ...attrs(c), filterShape: [c.kh, c.kw, c.inC, c.outC] }, options);
}

describeOnednn('onednn diagnostics and tuning', () => {
  const threads = status.ok ? status.info.threads : 1;
  afterAll(() => {
    configureOnednn({ threads, convLayout: { forward: 'auto', backwardInput: 'auto', backwardFilter: 'auto' } });
  });

  test.each<ConvLayout>(['plain', 'blocked-weights', 'blocked', 'auto'])(
    'every convolution direction agrees with cpu under the "%s" layout',
    (layout) => {
      expect(configureOnednn({ convLayout: { forward: layout, backwardInput: layout, backwardFilter: layout } })).toBe(true);
      fc.assert(fc.property(convCaseArb({ dilations: false }), seedArb, allDirectionsAgree), { numRuns: 30 });
    },
  );

  test.each([1, 2])('%i OpenMP thread(s) give the same results as the cpu backend', (n) => {
    configureOnednn({ threads: n });
    fc.assert(fc.property(convCaseArb({ dilations: false }), seedArb, allDirectionsAgree), { numRuns: 20 });
    expectKernelsAgree('Sum', { x: input([64, 8, 8, 16], 1) }, { axis: [0, 1, 2], keepDims: false });
    expectKernelsAgree('Max', { x: input([2, 40000], 2) }, { reductionIndices: 1, keepDims: false });
  });

  test('elementwise tensors below minElementwiseSize stay on the cpu kernel', () => {
    resetOnednnStats();
    configureOnednn({ minElementwiseSize: 100 });
    try {
      expectKernelsAgree('Add', { a: input([99], 1), b: input([99], 2) }, {}, { requireNative: false });
      expectKernelsAgree('Add', { a: input([100], 1), b: input([100], 2) }, {});
      const { native, fallback } = onednnStats();
      expect({ native, fallback }).toEqual({ native: { Add: 1 }, fallback: { Add: { 'small tensor': 1 } } });
    } finally {
      configureOnednn({ minElementwiseSize: 0 });
    }
  });

  test('counters and primitive names show what ran natively', () => {
    clearOnednnCache();
    resetOnednnStats();
    allDirectionsAgree({ batch: 2, inH: 8, inW: 8, inC: 8, outC: 8, kh: 3, kw: 3, strides: [1, 1], dilations: [1, 1], pad: 'same' }, 7);
    const { native, fallback } = onednnStats();
    expect({ native, fallback }).toEqual({ native: { Conv2D: 1, Conv2DBackpropInput: 1, Conv2DBackpropFilter: 1 }, fallback: {} });
    const primitives = onednnPrimitives();
    expect(Object.values(primitives).reduce((a, b) => a + b, 0)).toBe(3);
    expect(Object.keys(primitives).every((name) => name.length > 0)).toBe(true);
  });
});
