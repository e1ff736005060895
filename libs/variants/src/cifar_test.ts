import fc from 'fast-check';
import * as E from 'fp-ts/Either';
import { countParams, inferShape } from '@resnet/spec';
import { cifarResNet } from './cifar.ts';
import { weightedLayers } from './summary.ts';

describe('CIFAR ResNets (6n+2), a family defined as data', () => {
  test('ResNet-(6n+2) has 6n+2 weighted layers and maps 32×32 images to [N, 10]', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 18 }), fc.integer({ min: 1, max: 8 }), (n, batch) => {
        const net = cifarResNet(n);
        if (E.isLeft(net)) throw new Error(net.left.message);
        expect(weightedLayers(net.right)).toBe(6 * n + 2);
        expect(inferShape(net.right, [batch, 32, 32, 3])).toEqual(E.right([batch, 10]));
      }),
      { numRuns: 30 },
    );
  });

  test('ResNet-20 with projection shortcuts has 272,474 parameters', () => {
    // The paper's 0.27M uses parameter-free option A shortcuts (269,722 with BN);
    // option B adds two 1×1 projections with batch norm: 16·32 + 64 + 32·64 + 128 = 2,752.
    const net = cifarResNet(3);
    expect(E.isRight(net) && countParams(net.right).trainable).toBe(269_722 + 2_752);
  });

  test('n must be a positive integer', () => {
    expect(cifarResNet(0)).toMatchObject(E.left({ _tag: 'UnknownVariant' }));
  });
});
