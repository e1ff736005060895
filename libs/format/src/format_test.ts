import * as fc from 'fast-check';
import { formatAccuracy, formatCount, formatDuration, formatGb, formatMacs, formatPercent, formatRatio } from './format.ts';

/** Seconds back from a formatted duration of either style: `1 h 02 min`, `3m05s`, `7.8 s`. */
function readDuration(text: string): number {
  const units: Record<string, number> = { h: 3600, min: 60, m: 60, s: 1 };
  return [...text.matchAll(/([\d.]+) ?(h|min|m|s)/g)].reduce((sum, [, n, unit]) => sum + Number(n) * (units[unit ?? ''] ?? NaN), 0);
}

describe('formatDuration', () => {
  test('prose reads as seconds, minutes and seconds, or hours and minutes', () => {
    expect(formatDuration(7.84)).toBe('7.8 s');
    expect(formatDuration(1365)).toBe('22 min 45 s');
    expect(formatDuration(59.97)).toBe('1 min 00 s');
    expect(formatDuration(3599.6)).toBe('1 h 00 min');
    expect(formatDuration(13_700)).toBe('3 h 48 min');
    expect(formatDuration(1365, { style: 'prose' })).toBe('22 min 45 s');
  });

  test('compact, for a progress bar, drops the spaces and the tenths', () => {
    expect(formatDuration(7.84, { style: 'compact' })).toBe('8s');
    expect(formatDuration(75, { style: 'compact' })).toBe('1m15s');
    expect(formatDuration(3725, { style: 'compact' })).toBe('1h02m');
  });

  test('a duration that is not a finite, non-negative number is "?" in either style', () => {
    for (const style of ['prose', 'compact'] as const) {
      expect([NaN, Infinity, -1].map((s) => formatDuration(s, { style }))).toEqual(['?', '?', '?']);
    }
  });

  test('a field below the largest never reaches 60, and the text reads back within its rounding', () => {
    fc.assert(
      fc.property(fc.double({ min: 0, max: 1e6, noNaN: true }), fc.constantFrom('prose' as const, 'compact' as const), (seconds, style) => {
        const text = formatDuration(seconds, { style });
        const fields = [...text.matchAll(/(\d+) ?(h|min|m|s)/g)].slice(1).map(([, n]) => Number(n));
        expect(fields.every((n) => n < 60)).toBe(true);
        const shown = readDuration(text);
        const rounding = seconds < 59.95 && style === 'prose' ? 0.05 : seconds < 3599.5 ? 0.5 : 30;
        expect(Math.abs(shown - seconds)).toBeLessThanOrEqual(rounding + 1e-9);
      }),
      { numRuns: 300 },
    );
  });
});

describe('formatMacs', () => {
  test('×10⁹ with three decimals from a billion up, as Table 1; millions, thousands or the number below', () => {
    expect(formatMacs(1_814_073_344)).toBe('1.814×10⁹');
    expect(formatMacs(11_282_000_000)).toBe('11.282×10⁹');
    expect(formatMacs(29_571_584)).toBe('29.6 M');
    expect(formatMacs(33_000_000)).toBe('33.0 M');
    expect(formatMacs(1_234)).toBe('1.2 k');
    expect(formatMacs(640)).toBe('640');
  });

  test('rounding never shows 1000 of a unit: 999,960,000 is 1.000×10⁹, 999,960 is 1.0 M', () => {
    expect(formatMacs(999_960_000)).toBe('1.000×10⁹');
    expect(formatMacs(999_960)).toBe('1.0 M');
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2e10 }), (macs) => {
        const [, mantissa, unit] = /^([\d.]+)(×10⁹| M| k|)$/.exec(formatMacs(macs)) ?? [];
        const scale = unit === '×10⁹' ? 1e9 : unit === ' M' ? 1e6 : unit === ' k' ? 1e3 : 1;
        expect(scale === 1e9 || Number(mantissa) < 1000).toBe(true);
        expect(Math.abs(Number(mantissa) * scale - macs)).toBeLessThanOrEqual(scale === 1e9 ? 0.0005e9 : 0.05 * scale);
      }),
      { numRuns: 300 },
    );
  });
});

describe('counts, memory, accuracies, ratios and shares', () => {
  test('counts get thousands separators', () => {
    expect(formatCount(11_175_370)).toBe('11,175,370');
    expect(formatCount(640)).toBe('640');
  });

  test('memory is in GB, two decimals below 10 GB and one from there', () => {
    expect(formatGb(1.7e9)).toBe('1.70 GB');
    expect(formatGb(9.99e9)).toBe('9.99 GB');
    expect(formatGb(23.24e9)).toBe('23.2 GB');
  });

  test('accuracies have four decimals, ratios two and a ×, shares one decimal of a percent', () => {
    expect(formatAccuracy(0.91234)).toBe('0.9123');
    expect(formatRatio(1.2345)).toBe('1.23×');
    expect(formatPercent(0.4567)).toBe('45.7%');
  });
});
