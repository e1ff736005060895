import fc from 'fast-check';
import * as E from 'fp-ts/Either';
import { conv2d, maxPool } from './layer.ts';
import { outputSize } from './output_size.ts';
import { inferShape } from './trace.ts';

// Valid geometry built directly: kernel ≤ n + 2p so at least one output exists.
const geometry = fc
  .record({ n: fc.integer({ min: 1, max: 300 }), s: fc.integer({ min: 1, max: 5 }), p: fc.integer({ min: 0, max: 4 }) })
  .chain(({ n, s, p }) =>
    fc.record({ n: fc.constant(n), s: fc.constant(s), p: fc.constant(p), k: fc.integer({ min: 1, max: Math.min(11, n + 2 * p) }) }),
  );

// Pools pad at most half the kernel (PyTorch's rule), so build p from k, then n from both.
const poolGeometry = fc
  .record({ k: fc.integer({ min: 1, max: 9 }), s: fc.integer({ min: 1, max: 5 }) })
  .chain(({ k, s }) => fc.record({ k: fc.constant(k), s: fc.constant(s), p: fc.integer({ min: 0, max: Math.floor(k / 2) }) }))
  .chain(({ k, s, p }) =>
    fc.record({ k: fc.constant(k), s: fc.constant(s), p: fc.constant(p), n: fc.integer({ min: Math.max(1, k - 2 * p), max: 300 }) }),
  );

describe('output size', () => {
  test('conv output size is floor((n + 2p - k) / s) + 1 for any valid n, k, s, p', () => {
    fc.assert(
      fc.property(geometry, fc.integer({ min: 1, max: 4 }), ({ n, k, s, p }, c) => {
        const layer = conv2d('c', { inChannels: c, outChannels: 2, kernel: k, stride: s, padding: p });
        const expected = Math.floor((n + 2 * p - k) / s) + 1;
        expect(outputSize(n, { kernel: k, stride: s, padding: p })).toBe(expected);
        expect(inferShape(layer, [3, n, n + 1, c])).toEqual(
          E.right([3, expected, outputSize(n + 1, { kernel: k, stride: s, padding: p }), 2]),
        );
      }),
      { numRuns: 300 },
    );
  });

  test('max pool output size follows the same formula when padding is at most half the kernel', () => {
    fc.assert(
      fc.property(poolGeometry, ({ n, k, s, p }) => {
        expect(inferShape(maxPool('pool', { kernel: k, stride: s, padding: p }), [1, n, n, 3])).toEqual(
          E.right([1, Math.floor((n + 2 * p - k) / s) + 1, Math.floor((n + 2 * p - k) / s) + 1, 3]),
        );
      }),
      { numRuns: 300 },
    );
  });

  test('the paper’s stem takes 224 to 112 and its pool 112 to 56', () => {
    expect(outputSize(224, { kernel: 7, stride: 2, padding: 3 })).toBe(112);
    expect(outputSize(112, { kernel: 3, stride: 2, padding: 1 })).toBe(56);
  });
});
