import { formatCount, formatDate, formatDuration, formatMacs, markdownTable } from './format.ts';

describe('formatting', () => {
  test('durations read as seconds, minutes and seconds, or hours and minutes', () => {
    expect(formatDuration(7.84)).toBe('7.8 s');
    expect(formatDuration(1365)).toBe('22 min 45 s');
    expect(formatDuration(59.97)).toBe('1 min 00 s');
    expect(formatDuration(3599.6)).toBe('1 h 00 min');
    expect(formatDuration(13_700)).toBe('3 h 48 min');
  });

  test('counts get thousands separators; MACs are in millions below a billion', () => {
    expect(formatCount(11_175_370)).toBe('11,175,370');
    expect(formatMacs(29_571_584)).toBe('29.6 M');
    expect(formatMacs(1_814_073_344)).toBe('1.81 G');
  });

  test('a markdown table escapes pipes so a cell cannot split the row', () => {
    expect(markdownTable(['a', 'b'], [['x|y', '2']], ['l', 'r'])).toBe('| a | b |\n|---|---:|\n| x\\|y | 2 |');
  });

  test('dates are shown to the minute in UTC; an unparsable date is shown as is', () => {
    expect(formatDate('2026-11-28T05:49:03.368Z')).toBe('2026-11-28 05:49 UTC');
    expect(formatDate('yesterday')).toBe('yesterday');
  });
});
