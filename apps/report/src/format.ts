/**
 * Markdown tables and dates for the report. Pure. Numbers (durations, counts, MACs, memory,
 * accuracies) are shown as everywhere else, by @resnet/format.
 */

/**
 * A markdown table: a header row, a separator, then the rows; `|` inside cells is escaped.
 * @example markdownTable(['a', 'b'], [['1', '2']]) // '| a | b |\n|---|---|\n| 1 | 2 |'
 */
export function markdownTable(
  headers: readonly string[],
  rows: readonly (readonly string[])[],
  align: readonly ('l' | 'r')[] = [],
): string {
  const line = (cells: readonly string[]) => `| ${cells.map((c) => c.replace(/\|/g, '\\|').replace(/\n/g, ' ')).join(' | ')} |`;
  const separator = `|${headers.map((_, i) => (align[i] === 'r' ? '---:' : '---')).join('|')}|`;
  return [line(headers), separator, ...rows.map(line)].join('\n');
}

/**
 * A date-time as `YYYY-MM-DD HH:MM UTC`.
 * @example formatDate('2026-11-28T05:49:03.368Z') // '2026-11-28 05:49 UTC'
 */
export function formatDate(iso: string): string {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : `${d.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}
