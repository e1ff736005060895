import { FUSED_KERNELS } from './fused_kernels.ts';

describe('FUSED_KERNELS', () => {
  test('names are distinct and prefixed ResNet, so they cannot collide with tfjs kernels', () => {
    const names = Object.values(FUSED_KERNELS);
    expect(new Set(names).size).toBe(names.length);
    for (const name of names) expect(name).toMatch(/^ResNet[A-Z]/);
  });
});
