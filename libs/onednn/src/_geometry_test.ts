import { backend_util } from '@tensorflow/tfjs-core';
import fc from 'fast-check';
import { convParams, poolParams, trailingPad } from './_geometry.ts';
import { convCaseArb, numericPadQuirk, poolCaseArb, type ConvCase } from './_testing.ts';

// poolParams passes the algorithm through as ALG: any code does for the geometry.
const POOL_ALGORITHM = 0;

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

// oneDNN's rule: out = floor((in + padStart + padEnd - effectiveKernel) / stride) + 1.
function onednnOut(inSize: number, start: number, end: number, kernel: number, stride: number): number {
  return Math.floor((inSize + start + end - kernel) / stride) + 1;
}

// Whether oneDNN, given tfjs's own pads, computes tfjs's output size on both axes.
function tfjsPadsFit(i: backend_util.Conv2DInfo): boolean {
  const { top, bottom, left, right } = i.padInfo;
  return (
    onednnOut(i.inHeight, top, bottom, i.effectiveFilterHeight, i.strideHeight) === i.outHeight &&
    onednnOut(i.inWidth, left, right, i.effectiveFilterWidth, i.strideWidth) === i.outWidth
  );
}

// Whether tfjs has an output window that lies wholly outside the input on some axis (max pooling gives -Infinity there).
function windowOutsideInput(i: backend_util.Conv2DInfo): boolean {
  const outside = (inSize: number, outSize: number, start: number, kernel: number, stride: number): boolean =>
    start >= kernel || (outSize - 1) * stride - start >= inSize;
  return (
    outside(i.inHeight, i.outHeight, i.padInfo.top, i.filterHeight, i.strideHeight) ||
    outside(i.inWidth, i.outWidth, i.padInfo.left, i.filterWidth, i.strideWidth)
  );
}

// A refusal must be one of the two the lib gives, each true of the case, and happen only under tfjs's numeric-pad quirk.
function expectJustifiedRefusal(c: ConvCase, i: backend_util.Conv2DInfo, reason: string): void {
  const why = /has no oneDNN equivalent/.test(reason)
    ? { tfjsPadsFit: tfjsPadsFit(i) }
    : /reaches a whole/.test(reason)
      ? { windowOutsideInput: windowOutsideInput(i) }
      : { reason };
  const expected = /has no oneDNN equivalent/.test(reason) ? { tfjsPadsFit: false } : { windowOutsideInput: true };
  expect({ quirk: numericPadQuirk(c), ...why }).toEqual({ quirk: true, ...expected });
}

describe('conv geometry for oneDNN', () => {
  test('padding is kept as tfjs gives it, except trailing padding that a rounded-up output needs', () => {
    expect(trailingPad({ inSize: 5, outSize: 3, stride: 2, kernel: 3, start: 1, end: 1 })).toBe(1);
    expect(trailingPad({ inSize: 4, outSize: 3, stride: 2, kernel: 1, start: 0, end: 0 })).toBe(1);
    expect(trailingPad({ inSize: 28, outSize: 14, stride: 2, kernel: 1, start: 0, end: 0 })).toBe(0);
  });

  test("for every convolution tfjs accepts, oneDNN pads reproduce tfjs output sizes with non-negative pads; a refusal (left to the cpu kernel) comes only from tfjs's numeric-pad quirk, with pads that do not fit", () => {
    let refused = 0;
    fc.assert(
      fc.property(convCaseArb({ dilations: true }), (c) => {
        const i = info(c);
        const params = convParams(i, 0);
        if (typeof params === 'string') {
          refused += 1;
          return expectJustifiedRefusal(c, i, params);
        }
        const [pt, pl, pb, pr] = [params[13] ?? -1, params[14] ?? -1, params[15] ?? -1, params[16] ?? -1];
        expect(Math.min(pt, pl, pb, pr)).toBeGreaterThanOrEqual(0);
        expect([pt, pl]).toEqual([i.padInfo.top, i.padInfo.left]);
        expect(onednnOut(i.inHeight, pt, pb, i.effectiveFilterHeight, i.strideHeight)).toBe(i.outHeight);
        expect(onednnOut(i.inWidth, pl, pr, i.effectiveFilterWidth, i.strideWidth)).toBe(i.outWidth);
      }),
      { numRuns: 500 },
    );
    // The quirk cases were generated and checked, not skipped (about a fifth of them).
    expect(refused).toBeGreaterThan(0);
  });

  test("every pooling window built for the tests has native parameters that reproduce tfjs output sizes with pads below the window; a refusal comes only from tfjs's numeric-pad quirk, with a window wholly in the padding or pads that do not fit", () => {
    let refused = 0;
    fc.assert(
      fc.property(poolCaseArb, (c) => {
        const i = backend_util.computePool2DInfo([c.batch, c.inH, c.inW, c.inC], [c.kh, c.kw], c.strides, 1, c.pad, c.dimRoundingMode);
        const params = poolParams(i, POOL_ALGORITHM);
        if (typeof params === 'string') {
          refused += 1;
          return expectJustifiedRefusal(c, i, params);
        }
        const [pt, pl, pb, pr] = [params[10] ?? -1, params[11] ?? -1, params[12] ?? -1, params[13] ?? -1];
        expect(Math.min(pt, pl, pb, pr)).toBeGreaterThanOrEqual(0);
        expect(Math.max(pt, pb)).toBeLessThan(i.filterHeight);
        expect(Math.max(pl, pr)).toBeLessThan(i.filterWidth);
        expect(onednnOut(i.inHeight, pt, pb, i.filterHeight, i.strideHeight)).toBe(i.outHeight);
        expect(onednnOut(i.inWidth, pl, pr, i.filterWidth, i.strideWidth)).toBe(i.outWidth);
      }),
      { numRuns: 500 },
    );
    expect(refused).toBeGreaterThan(0);
  });

  test('a pooling window entirely in the padding is left to the cpu kernel', () => {
    const i = backend_util.computePool2DInfo([1, 1, 1, 1], 2, 3, 1, 1, 'ceil');
    expect(poolParams(i, POOL_ALGORITHM)).toMatch(/reaches a whole 2x2 window/);
  });

  test('empty tensors are left to the cpu kernel', () => {
    expect(convParams(backend_util.computeConv2DInfo([0, 4, 4, 1], [3, 3, 1, 1], 1, 1, 'same'), 0)).toBe('empty tensor');
  });
});
