import { formatDate, markdownTable } from './format.ts';

describe('formatting', () => {
  test('a markdown table escapes pipes so a cell cannot split the row', () => {
    expect(markdownTable(['a', 'b'], [['x|y', '2']], ['l', 'r'])).toBe('| a | b |\n|---|---:|\n| x\\|y | 2 |');
  });

  test('dates are shown to the minute in UTC; an unparsable date is shown as is', () => {
    expect(formatDate('2026-11-28T05:49:03.368Z')).toBe('2026-11-28 05:49 UTC');
    expect(formatDate('yesterday')).toBe('yesterday');
  });
});
