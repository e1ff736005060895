import * as E from 'fp-ts/Either';
import fc from 'fast-check';
import { DEPTHS, resnet, summarize, VERSIONS } from '@resnet/variants';
import { explore, PAPER_CHOICE, type Choice } from './explorer.ts';

const TORCHVISION = { 18: 11_689_512, 34: 21_797_672, 50: 25_557_032, 101: 44_549_160, 152: 60_192_808 } as const;

function right<A>(e: E.Either<string, A>): A {
  if (E.isLeft(e)) throw new Error(e.left);
  return e.right;
}

describe('explorer', () => {
  test.each(DEPTHS)('ResNet-%i at 224×224×3 has torchvision’s parameter count', (depth) => {
    expect(right(explore({ ...PAPER_CHOICE, depth })).params).toBe(TORCHVISION[depth]);
  });

  test('per-stage parameters and MACs add up to the totals of the table app’s summary, for any valid choice', () => {
    const choice = fc.record({
      depth: fc.constantFrom(...DEPTHS),
      version: fc.constantFrom(...VERSIONS),
      stem: fc.constantFrom('imagenet' as const, 'small' as const),
      input: fc.integer({ min: 1, max: 256 }),
      channels: fc.integer({ min: 1, max: 4 }),
      classes: fc.integer({ min: 1, max: 1000 }),
    });
    fc.assert(
      fc.property(choice, (c: Choice) => {
        const explored = right(explore(c));
        const spec = resnet(c.depth, { version: c.version, stem: c.stem, inChannels: c.channels, classes: c.classes });
        const summary = E.flatMap((s: Parameters<typeof summarize>[0]) => summarize(s, c.input))(spec);
        if (E.isLeft(summary)) throw new Error(summary.left.message);
        expect(explored.params).toBe(summary.right.params);
        expect(explored.macs).toBe(summary.right.macs);
        expect(explored.stages.reduce((a, s) => a + s.params, 0)).toBe(explored.params);
        expect(explored.stages.reduce((a, s) => a + s.macs, 0)).toBe(explored.macs);
        expect(explored.stages.map((s) => s.name)).toEqual(['conv1', 'conv2_x', 'conv3_x', 'conv4_x', 'conv5_x', 'head']);
      }),
      { numRuns: 20 },
    );
  });

  test.each([
    [{ input: 0 }, 'input shape [1, 0, 0, 3] is invalid'],
    [{ input: 2.5 }, 'positive integer sizes'],
    [{ channels: 0 }, 'input channels and classes must be integers ≥ 1, got 0 and 1000'],
  ])('an invalid choice %j is the spec’s readable error, not an exception', (change, message) => {
    const result = explore({ ...PAPER_CHOICE, ...change });
    expect(E.isLeft(result) ? result.left : 'no error').toContain(message);
  });
});
