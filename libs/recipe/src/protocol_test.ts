import * as E from 'fp-ts/Either';
import fc from 'fast-check';
import { clipNormTag, describeProtocolSchedule, PROTOCOLS, protocolSchedule } from './protocol.ts';

describe('protocolSchedule', () => {
  test("the default protocol's warmup is 1 epoch, or a tenth of a shorter run", () => {
    expect(protocolSchedule('default', 10)).toEqual(E.right({ _tag: 'Cosine', lr: 0.1, warmupEpochs: 1, floor: 0 }));
    expect(protocolSchedule('default', 30)).toEqual(E.right({ _tag: 'Cosine', lr: 0.1, warmupEpochs: 1, floor: 0 }));
    expect(protocolSchedule('default', 3)).toEqual(E.right({ _tag: 'Cosine', lr: 0.1, warmupEpochs: 0.3, floor: 0 }));
    expect(protocolSchedule('default', 1)).toEqual(E.right({ _tag: 'Cosine', lr: 0.1, warmupEpochs: 0.1, floor: 0 }));
  });

  test('the seed protocol is a constant lr 0.1; explicit choices override the protocol', () => {
    expect(protocolSchedule('seed', 10)).toEqual(E.right({ _tag: 'Constant', lr: 0.1 }));
    expect(protocolSchedule('seed', 9, { schedule: 'step', lr: 0.2 })).toEqual(
      E.right({ _tag: 'Step', lr: 0.2, stepEvery: 3, gamma: 0.1 }),
    );
    expect(protocolSchedule('default', 10, { warmup: 0.5, lr: null })).toEqual(
      E.right({ _tag: 'Cosine', lr: 0.1, warmupEpochs: 0.5, floor: 0 }),
    );
  });

  test('an explicit warmup as long as the run is refused, with both lengths', () => {
    expect(protocolSchedule('default', 2, { warmup: 2 })).toEqual(
      E.left({ _tag: 'WarmupTooLong', warmup: 2, epochs: 2, message: 'a warmup of 2 epochs must be shorter than the run (2 epochs)' }),
    );
    expect(protocolSchedule('default', 2, { warmup: 3 })).toMatchObject(E.left({ _tag: 'WarmupTooLong', warmup: 3, epochs: 2 }));
  });

  test('the derived warmup is always shorter than the run, for any length', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 10_000 }), (epochs) => {
        const s = protocolSchedule('default', epochs);
        return (
          E.isRight(s) && s.right._tag === 'Cosine' && s.right.warmupEpochs < epochs && s.right.warmupEpochs <= PROTOCOLS.default.warmup
        );
      }),
    );
  });

  test('the rule in words', () => {
    expect(describeProtocolSchedule('default')).toBe(
      'cosine from lr 0.1 to 0 after a linear warmup of 1 epoch (a tenth of the run when shorter than 10 epochs)',
    );
    expect(describeProtocolSchedule('seed')).toBe('constant lr 0.1');
  });
});

describe('clipNormTag', () => {
  test("names clipping only where it is not the protocol's own: the default clips at 2, the seed protocol not at all", () => {
    expect([PROTOCOLS.default.clipNorm, PROTOCOLS.seed.clipNorm]).toEqual([2, null]);
    expect(clipNormTag('default', 2)).toBeNull();
    expect(clipNormTag('default', null)).toBe('no clipping');
    expect(clipNormTag('default', 0.5)).toBe('clip 0.5');
    expect(clipNormTag('seed', null)).toBeNull();
    expect(clipNormTag('seed', 2)).toBe('clip 2');
  });
});
