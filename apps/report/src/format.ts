/**
 * Number and text formatting for the report. Pure.
 */

// Durations have one home, @resnet/results (the web app's live view shows them too).
export { formatDuration } from '@resnet/results';

/**
 * An integer with thousands separators.
 * @example formatCount(11175370) // '11,175,370'
 */
export function formatCount(n: number): string {
  return n.toLocaleString('en-US');
}

/**
 * Multiply-accumulates, in millions or billions.
 * @example formatMacs(29_571_584) // '29.6 M'
 * @example formatMacs(1_814_073_344) // '1.81 G'
 */
export function formatMacs(macs: number): string {
  return macs >= 1e9 ? `${(macs / 1e9).toFixed(2)} G` : `${(macs / 1e6).toFixed(1)} M`;
}

/**
 * A markdown table: a header row, a separator, then the rows; `|` inside cells is escaped.
 * @example markdownTable(['a', 'b'], [['1', '2']]) // '| a | b |\n|---|---|\n| 1 | 2 |'
 */
export function markdownTable(headers: readonly string[], rows: readonly (readonly string[])[], align: readonly ('l' | 'r')[] = []): string {
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
