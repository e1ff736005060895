import fc from 'fast-check';
import * as E from 'fp-ts/Either';
import { countParams, inferShape } from '@resnet/spec';
import { basicBlock, bottleneckBlock } from './blocks.ts';

const args = fc.record({
  inChannels: fc.integer({ min: 1, max: 512 }),
  width: fc.integer({ min: 1, max: 512 }),
  stride: fc.integer({ min: 1, max: 3 }),
});

describe('blocks', () => {
  test('a basic block has 9·in·w + 9·w² conv weights, 4w norm weights, and in·w + 2w more with a projection', () => {
    fc.assert(
      fc.property(args, ({ inChannels, width, stride }) => {
        const projected = stride !== 1 || inChannels !== width;
        const expected = 9 * inChannels * width + 9 * width * width + 4 * width + (projected ? inChannels * width + 2 * width : 0);
        expect(countParams(basicBlock('b', { inChannels, width, stride })).trainable).toBe(expected);
      }),
    );
  });

  test('a bottleneck has in·w + 9·w² + 4w² conv weights, 12w norm weights, and 4w·in + 8w more with a projection', () => {
    fc.assert(
      fc.property(args, fc.constantFrom('1x1' as const, '3x3' as const), ({ inChannels, width, stride }, strideOn) => {
        const out = 4 * width;
        const projected = stride !== 1 || inChannels !== out;
        const expected =
          inChannels * width + 9 * width * width + width * out + 2 * (width + width + out) + (projected ? inChannels * out + 2 * out : 0);
        expect(countParams(bottleneckBlock('b', { inChannels, width, stride }, strideOn)).trainable).toBe(expected);
      }),
    );
  });

  test('a block divides the spatial size by its stride (rounding up) and outputs width × expansion channels', () => {
    fc.assert(
      fc.property(
        args,
        fc.integer({ min: 1, max: 64 }),
        fc.constantFrom('1x1' as const, '3x3' as const),
        ({ inChannels, width, stride }, size, strideOn) => {
          const side = Math.ceil(size / stride);
          expect(inferShape(basicBlock('b', { inChannels, width, stride }), [2, size, size, inChannels])).toEqual(
            E.right([2, side, side, width]),
          );
          expect(inferShape(bottleneckBlock('b', { inChannels, width, stride }, strideOn), [2, size, size, inChannels])).toEqual(
            E.right([2, side, side, 4 * width]),
          );
        },
      ),
      { numRuns: 100 },
    );
  });

  test('v1 puts the bottleneck stride on the first 1×1, v1.5 on the 3×3', () => {
    const strides = (strideOn: '1x1' | '3x3') =>
      bottleneckBlock('b', { inChannels: 256, width: 128, stride: 2 }, strideOn).main.flatMap((l) =>
        l._tag === 'Conv2d' ? [[l.kernel, l.stride]] : [],
      );
    expect(strides('1x1')).toEqual([
      [1, 2],
      [3, 1],
      [1, 1],
    ]);
    expect(strides('3x3')).toEqual([
      [1, 1],
      [3, 2],
      [1, 1],
    ]);
  });
});
