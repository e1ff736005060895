/** How every app, the report and the web page print a quantity: one function per quantity. Pure. */

/** How a duration reads: `prose` in sentences and tables, `compact` in a progress bar's ETA. */
export type DurationStyle = 'prose' | 'compact';

/**
 * A wall time for humans: seconds (one decimal in prose) below a minute, then minutes and
 * seconds, then hours and minutes. Anything but a finite, non-negative number is `?` (an ETA
 * before the first step).
 * @example formatDuration(7.8) // '7.8 s'
 * @example formatDuration(1365) // '22 min 45 s'
 * @example formatDuration(13_700) // '3 h 48 min'
 * @example formatDuration(75, { style: 'compact' }) // '1m15s'
 * @example formatDuration(3725, { style: 'compact' }) // '1h02m'
 */
export function formatDuration(seconds: number, options: { readonly style?: DurationStyle } = {}): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  const compact = options.style === 'compact';
  const [space, sec, min, hour] = compact ? ['', 's', 'm', 'h'] : [' ', ' s', ' min', ' h'];
  // Below 59.95 s, so that rounding never prints "60.0 s".
  if (!compact && seconds < 59.95) return `${seconds.toFixed(1)}${sec}`;
  const whole = Math.round(seconds);
  if (whole < 60) return `${whole}${sec}`;
  if (whole < 3600) return `${Math.floor(whole / 60)}${min}${space}${twoDigits(whole % 60)}${sec}`;
  const minutes = Math.round(seconds / 60);
  return `${Math.floor(minutes / 60)}${hour}${space}${twoDigits(minutes % 60)}${min}`;
}

function twoDigits(n: number): string {
  return String(n).padStart(2, '0');
}

/**
 * An integer with thousands separators (parameter counts, images, MACs in full).
 * @example formatCount(11_175_370) // '11,175,370'
 */
export function formatCount(n: number): string {
  return n.toLocaleString('en-US');
}

/**
 * Multiply-accumulates per image: ×10⁹ with three decimals from a billion up, as the paper's
 * Table 1 prints them, else millions or thousands with one decimal.
 * @example formatMacs(1_814_073_344) // '1.814×10⁹'
 * @example formatMacs(29_571_584) // '29.6 M'
 * @example formatMacs(1_234) // '1.2 k'
 * @example formatMacs(640) // '640'
 */
export function formatMacs(macs: number): string {
  // The thresholds sit where rounding would otherwise print "1000.0 M" or "1000.0 k".
  if (macs >= 999_950_000) return `${(macs / 1e9).toFixed(3)}×10⁹`;
  if (macs >= 999_950) return `${(macs / 1e6).toFixed(1)} M`;
  if (macs >= 1e3) return `${(macs / 1e3).toFixed(1)} k`;
  return String(macs);
}

/**
 * Bytes as gigabytes with two decimals below 10 GB, one above: the unit every memory figure is
 * shown in, so that figures compare at a glance.
 * @example formatGb(1.7e9) // '1.70 GB'
 * @example formatGb(23.24e9) // '23.2 GB'
 */
export function formatGb(bytes: number): string {
  return `${(bytes / 1e9).toFixed(bytes < 10e9 ? 2 : 1)} GB`;
}

/**
 * A test accuracy (the share of images classified right) as the tables print it.
 * @example formatAccuracy(0.91234) // '0.9123'
 */
export function formatAccuracy(acc: number): string {
  return acc.toFixed(4);
}

/**
 * How many times another measurement (a speed or a memory figure against PyTorch's).
 * @example formatRatio(1.2345) // '1.23×'
 */
export function formatRatio(ratio: number): string {
  return `${ratio.toFixed(2)}×`;
}

/**
 * A share of a whole (a class probability, a kernel's part of a step) in percent.
 * @example formatPercent(0.4567) // '45.7%'
 */
export function formatPercent(share: number): string {
  return `${(100 * share).toFixed(1)}%`;
}
