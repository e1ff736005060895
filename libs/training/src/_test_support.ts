// Shared by this lib's tests: a small learnable dataset and a tiny ResNet.
import type { Split } from '@resnet/fashion-mnist';
import { basic, network } from '@resnet/variants';
import type { Sequential } from '@resnet/spec';

/**
 * A narrow basic-block ResNet (widths 4 and 8) with the ImageNet stem (28 → 7): small
 * enough that the pure-JS backend trains it in jest's sandbox in seconds.
 */
export function tinyNet(): Sequential {
  return network(
    'tiny',
    {
      block: basic,
      stem: { kernel: 7, stride: 2, padding: 3, width: 4, pool: { kernel: 3, stride: 2, padding: 1 } },
      stages: [4, 8].map((width, i) => ({ blocks: 1, width, stride: i === 0 ? 1 : 2 })),
    },
    { inChannels: 1, classes: 10, strideOn: '3x3' },
  );
}

/**
 * Synthetic 28×28 splits whose class is a bright horizontal band at row 2·label + 3,
 * learnable in a few steps. (The real Fashion-MNIST is tested in @resnet/fashion-mnist;
 * here speed and determinism matter more.)
 */
export function smallSplits(count: number, testCount: number): { readonly train: Split; readonly test: Split } {
  return { train: synthetic(count, 1), test: synthetic(testCount, 2) };
}

function synthetic(n: number, salt: number): Split {
  const images = new Uint8Array(n * 784);
  const labels = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const label = (i * 7 + salt) % 10;
    labels[i] = label;
    for (let c = 0; c < 28; c++) {
      images[i * 784 + (2 * label + 3) * 28 + c] = 255;
      images[i * 784 + ((i + c) % 28) * 28 + c] = 60; // a little noise
    }
  }
  return { images, labels, count: n, height: 28, width: 28 };
}
