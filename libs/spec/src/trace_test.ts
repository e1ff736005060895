import fc from 'fast-check';
import * as E from 'fp-ts/Either';
import { batchNorm, conv2d, dense, globalAvgPool, maxPool, relu, residual, sequential, type Layer } from './layer.ts';
import { countMacs, inferShape, trace } from './trace.ts';

/** A random valid conv stack: each conv's input channels are the previous output's. */
const convStack = fc
  .record({
    inChannels: fc.integer({ min: 1, max: 8 }),
    widths: fc.array(fc.integer({ min: 1, max: 8 }), { minLength: 1, maxLength: 6 }),
    classes: fc.integer({ min: 1, max: 12 }),
  })
  .map(({ inChannels, widths, classes }) => {
    const convs = widths.flatMap((w, i) => [
      conv2d(`conv${i}`, { inChannels: i === 0 ? inChannels : (widths[i - 1] ?? 0), outChannels: w, kernel: 3, padding: 1 }),
      batchNorm(`bn${i}`, { channels: w }),
      relu(`relu${i}`),
    ]);
    const last = widths[widths.length - 1] ?? 0;
    return {
      inChannels,
      net: sequential('net', [...convs, globalAvgPool('pool'), dense('fc', { inFeatures: last, outFeatures: classes })]),
      classes,
    };
  });

describe('trace', () => {
  test('a valid conv stack infers [N, classes] for any batch and image size', () => {
    fc.assert(
      fc.property(convStack, fc.integer({ min: 1, max: 16 }), fc.integer({ min: 1, max: 40 }), ({ inChannels, net, classes }, n, size) => {
        expect(inferShape(net, [n, size, size, inChannels])).toEqual(E.right([n, classes]));
      }),
      { numRuns: 200 },
    );
  });

  test('a conv with the wrong input channels is rejected with a ChannelMismatch naming that conv', () => {
    fc.assert(
      fc.property(convStack, fc.nat(), fc.integer({ min: 1, max: 7 }), ({ inChannels, net }, pick, delta) => {
        const convIndices = net.layers.flatMap((l, i) => (l._tag === 'Conv2d' ? [i] : []));
        const target = convIndices[pick % convIndices.length] ?? 0;
        const broken = sequential(
          'net',
          net.layers.map((l, i) => (i === target && l._tag === 'Conv2d' ? { ...l, inChannels: l.inChannels + delta } : l)),
        );
        const result = trace(broken, [2, 8, 8, inChannels]);
        expect(E.isLeft(result) && result.left).toMatchObject({ _tag: 'ChannelMismatch', path: `net.${net.layers[target]?.name}` });
      }),
      { numRuns: 200 },
    );
  });

  test('any non-positive or fractional layer size is rejected with an error naming the layer', () => {
    const field = fc.constantFrom('inChannels', 'outChannels', 'kernel', 'stride') as fc.Arbitrary<
      'inChannels' | 'outChannels' | 'kernel' | 'stride'
    >;
    const bad = fc.oneof(fc.integer({ min: -5, max: 0 }), fc.double({ min: 0.1, max: 5, noInteger: true, noNaN: true }));
    fc.assert(
      fc.property(field, bad, (key, value) => {
        const conv = { ...conv2d('conv', { inChannels: 3, outChannels: 4, kernel: 3, padding: 1 }), [key]: value };
        const result = trace(sequential('net', [relu('relu'), conv]), [1, 8, 8, 3]);
        expect(E.isLeft(result) && result.left).toMatchObject({ _tag: 'InvalidLayer', path: 'net.conv' });
        expect(E.isLeft(result) && result.left.message).toContain(key);
      }),
    );
  });

  test('invalid input shapes are rejected before any layer is visited', () => {
    for (const input of [[], [1, 2, 3], [0, 8, 8, 3], [1, 8, -8, 3], [1, 8.5, 8, 3], [1, 8, 8, 3, 1]]) {
      expect(E.isLeft(trace(relu('r'), input)) && (trace(relu('r'), input) as E.Left<{ _tag: string }>).left._tag).toBe('InvalidInput');
    }
  });

  test('an input too small for a convolution is rejected with InputTooSmall', () => {
    const result = trace(sequential('net', [conv2d('conv', { inChannels: 1, outChannels: 1, kernel: 5 })]), [1, 4, 4, 1]);
    expect(E.isLeft(result) && result.left).toMatchObject({ _tag: 'InputTooSmall', path: 'net.conv' });
  });

  test('a dense layer on an image and a conv on features are shape mismatches', () => {
    expect(trace(dense('fc', { inFeatures: 3, outFeatures: 2 }), [1, 4, 4, 3])).toMatchObject(
      E.left({ _tag: 'ShapeMismatch', path: 'fc' }),
    );
    expect(trace(conv2d('c', { inChannels: 3, outChannels: 2, kernel: 1 }), [1, 3])).toMatchObject(
      E.left({ _tag: 'ShapeMismatch', path: 'c' }),
    );
  });

  test('a residual unit whose shortcut does not match the main branch is rejected', () => {
    const unit = residual('block', { main: [conv2d('conv', { inChannels: 4, outChannels: 8, kernel: 3, stride: 2, padding: 1 })] });
    expect(trace(unit, [1, 8, 8, 4])).toMatchObject(E.left({ _tag: 'ShapeMismatch', path: 'block' }));
    const fixed = residual('block', {
      main: unit.main,
      shortcut: [conv2d('shortcut_conv', { inChannels: 4, outChannels: 8, kernel: 1, stride: 2 })],
    });
    expect(inferShape(fixed, [1, 8, 8, 4])).toEqual(E.right([1, 4, 4, 8]));
  });

  test('sibling names must be unique and contain no dot', () => {
    expect(trace(sequential('net', [relu('a'), relu('a')]), [1, 2])).toMatchObject(E.left({ _tag: 'DuplicateName', path: 'net' }));
    expect(trace(sequential('net', [relu('a.b')]), [1, 2])).toMatchObject(E.left({ _tag: 'InvalidLayer', path: 'net.a.b' }));
  });

  test('max pool padding above half the kernel is rejected', () => {
    expect(trace(maxPool('pool', { kernel: 3, stride: 2, padding: 2 }), [1, 8, 8, 1])).toMatchObject(
      E.left({ _tag: 'InvalidLayer', path: 'pool' }),
    );
  });

  test('conv MACs are outH·outW·outC·k²·inC and dense MACs are in·out, per example', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 6 }),
        fc.integer({ min: 1, max: 6 }),
        fc.integer({ min: 1, max: 20 }),
        fc.integer({ min: 1, max: 8 }),
        (cin, cout, size, batch) => {
          const conv = conv2d('c', { inChannels: cin, outChannels: cout, kernel: 3, stride: 1, padding: 1 });
          expect(countMacs(conv, [batch, size, size, cin])).toEqual(E.right(size * size * cout * 9 * cin));
          expect(countMacs(dense('d', { inFeatures: cin, outFeatures: cout }), [batch, cin])).toEqual(E.right(cin * cout));
        },
      ),
    );
  });

  test('entries list every layer once with its path, children before parents', () => {
    const net: Layer = sequential('net', [relu('a'), sequential('inner', [relu('b')])]);
    const result = trace(net, [1, 3]);
    expect(E.isRight(result) && result.right.entries.map((e) => [e.path, e.depth])).toEqual([
      ['net.a', 1],
      ['net.inner.b', 2],
      ['net.inner', 1],
      ['net', 0],
    ]);
  });
});
