import { backend_util } from '@tensorflow/tfjs-core';
import fc from 'fast-check';
import { convParams, poolParams, trailingPad } from './_geometry.ts';
import { convCaseArb, numericPadQuirk, poolCaseArb, type ConvCase } from './_testing.ts';

// poolParams passes the algorithm through as ALG: any code does for the geometry.
const POOL_ALGORITHM = 0;

function info(c: ConvCase): backend_util.Conv2DInfo {
  return backend_util.computeConv2DInfo([c.batch, c.inH, c.inW, c.inC], [c.kh, c.kw, c.inC, c.outC], c.strides, c.dilations, c.pad, c.dimRoundingMode);
}

// oneDNN's rule: out = floor((in + padStart + padEnd - effectiveKernel) / stride) + 1.
function onednnOut(inSize: number, start: number, end: number, kernel: number, stride: number): number {
  return Math.floor((inSize + start + end - kernel) / stride) + 1;
}

describe('conv geometry for oneDNN', () => {
  test('padding is kept as tfjs gives it, except trailing padding that a rounded-up output needs', () => {
    expect(trailingPad({ inSize: 5, outSize: 3, stride: 2, kernel: 3, start: 1, end: 1 })).toBe(1);
    expect(trailingPad({ inSize: 4, outSize: 3, stride: 2, kernel: 1, start: 0, end: 0 })).toBe(1);
    expect(trailingPad({ inSize: 28, outSize: 14, stride: 2, kernel: 1, start: 0, end: 0 })).toBe(0);
  });

  test('for every convolution tfjs accepts, oneDNN pads reproduce tfjs output sizes with non-negative pads', () => {
    fc.assert(
      fc.property(convCaseArb({ dilations: true }), (c) => {
        const i = info(c);
        const params = convParams(i, 0);
        if (numericPadQuirk(c) && typeof params === 'string') return;
        if (typeof params === 'string') throw new Error(params);
        const [pt, pl, pb, pr] = [params[13] ?? -1, params[14] ?? -1, params[15] ?? -1, params[16] ?? -1];
        expect(Math.min(pt, pl, pb, pr)).toBeGreaterThanOrEqual(0);
        expect([pt, pl]).toEqual([i.padInfo.top, i.padInfo.left]);
        expect(onednnOut(i.inHeight, pt, pb, i.effectiveFilterHeight, i.strideHeight)).toBe(i.outHeight);
        expect(onednnOut(i.inWidth, pl, pr, i.effectiveFilterWidth, i.strideWidth)).toBe(i.outWidth);
      }),
      { numRuns: 500 },
    );
  });

  test('every pooling window built for the tests has native parameters (no window lies in the padding)', () => {
    fc.assert(
      fc.property(poolCaseArb, (c) => {
        const i = backend_util.computePool2DInfo([c.batch, c.inH, c.inW, c.inC], [c.kh, c.kw], c.strides, 1, c.pad, c.dimRoundingMode);
        const params = poolParams(i, POOL_ALGORITHM);
        if (!numericPadQuirk(c)) expect(typeof params).toBe('object');
      }),
      { numRuns: 500 },
    );
  });

  test('a pooling window entirely in the padding is left to the cpu kernel', () => {
    const i = backend_util.computePool2DInfo([1, 1, 1, 1], 2, 3, 1, 1, 'ceil');
    expect(poolParams(i, POOL_ALGORITHM)).toMatch(/reaches a whole 2x2 window/);
  });

  test('empty tensors are left to the cpu kernel', () => {
    expect(convParams(backend_util.computeConv2DInfo([0, 4, 4, 1], [3, 3, 1, 1], 1, 1, 'same'), 0)).toBe('empty tensor');
  });
});
