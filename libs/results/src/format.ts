/** Formatting shared by the report and the web app's live view. Pure. */

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
