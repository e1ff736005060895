/**
 * Number and text formatting for the report. Pure.
 */

/**
 * A wall time for humans.
 * @example formatDuration(7.8) // '7.8 s'
 * @example formatDuration(1365) // '22 min 45 s'
 * @example formatDuration(13_700) // '3 h 48 min'
 */
export function formatDuration(seconds: number): string {
  // Below 59.95 s, so that rounding never prints "60.0 s".
  if (seconds < 59.95) return `${seconds.toFixed(1)} s`;
  const whole = Math.round(seconds);
  if (whole < 3600) return `${Math.floor(whole / 60)} min ${String(whole % 60).padStart(2, '0')} s`;
  const minutes = Math.round(seconds / 60);
  return `${Math.floor(minutes / 60)} h ${String(minutes % 60).padStart(2, '0')} min`;
}

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
