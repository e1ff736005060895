import fc from 'fast-check';
import { batchNorm, conv2d, dense, relu, residual, sequential } from './layer.ts';
import { countParams } from './params.ts';

describe('countParams', () => {
  test('a conv has k²·in·out weights plus out biases when it has a bias', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 64 }),
        fc.integer({ min: 1, max: 64 }),
        fc.integer({ min: 1, max: 7 }),
        fc.boolean(),
        (cin, cout, k, bias) => {
          expect(countParams(conv2d('c', { inChannels: cin, outChannels: cout, kernel: k, bias }))).toEqual({
            trainable: k * k * cin * cout + (bias ? cout : 0),
            nonTrainable: 0,
          });
        },
      ),
    );
  });

  test('batch norm has a scale and shift per channel, and a moving mean and variance', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 4096 }), (c) => {
        expect(countParams(batchNorm('bn', { channels: c }))).toEqual({ trainable: 2 * c, nonTrainable: 2 * c });
      }),
    );
  });

  test('containers add up their children, including shortcuts', () => {
    const net = sequential('net', [
      residual('block', {
        main: [conv2d('conv', { inChannels: 2, outChannels: 4, kernel: 3, padding: 1 }), batchNorm('bn', { channels: 4 })],
        shortcut: [conv2d('shortcut_conv', { inChannels: 2, outChannels: 4, kernel: 1 })],
      }),
      relu('relu'),
      dense('fc', { inFeatures: 4, outFeatures: 3 }),
    ]);
    expect(countParams(net)).toEqual({ trainable: 9 * 2 * 4 + 2 * 4 + 2 * 4 + (4 * 3 + 3), nonTrainable: 8 });
  });
});
