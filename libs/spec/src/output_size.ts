/**
 * Spatial arithmetic of convolutions and pools, shared by every fold.
 */

/** Window geometry of a convolution or pool along one axis. */
export interface Window {
  readonly kernel: number;
  readonly stride: number;
  readonly padding: number;
}

/**
 * Output length of a window sliding over `n` positions: ⌊(n + 2p − k) / s⌋ + 1.
 * Can be ≤ 0 when the input is too small; callers turn that into an error.
 * @example outputSize(224, { kernel: 7, stride: 2, padding: 3 }) // 112
 */
export function outputSize(n: number, window: Window): number {
  return Math.floor((n + 2 * window.padding - window.kernel) / window.stride) + 1;
}

/** True for an integer ≥ `min`. */
export function isIntAtLeast(value: number, min: number): boolean {
  return Number.isInteger(value) && value >= min;
}
