// From tfjs-core's Conv2DInfo (NHWC) to the Int32Array geometry the addon expects.
// Pure: no tfjs import, so the padding rules can be property-tested on their own.

/** The fields of tfjs-core's `backend_util.Conv2DInfo` that the addon needs. */
export interface Geometry {
  readonly batchSize: number;
  readonly inHeight: number;
  readonly inWidth: number;
  readonly inChannels: number;
  readonly outHeight: number;
  readonly outWidth: number;
  readonly outChannels: number;
  readonly filterHeight: number;
  readonly filterWidth: number;
  readonly strideHeight: number;
  readonly strideWidth: number;
  readonly dilationHeight: number;
  readonly dilationWidth: number;
  readonly effectiveFilterHeight: number;
  readonly effectiveFilterWidth: number;
  readonly padInfo: { readonly top: number; readonly left: number; readonly bottom: number; readonly right: number };
}

/**
 * Trailing padding that makes oneDNN's output size, floor((in + start + end - k) / s) + 1,
 * equal tfjs's (which may round up or truncate). Returns `end` itself when it already fits
 * (windows never read past what tfjs reads), else the padding that fits, else undefined.
 *
 * @example trailingPad({ inSize: 4, outSize: 3, stride: 2, kernel: 1, start: 0, end: 0 }) // 1 (ceil mode)
 */
export function trailingPad(g: {
  inSize: number;
  outSize: number;
  stride: number;
  kernel: number;
  start: number;
  end: number;
}): number | undefined {
  const fits = (end: number): boolean => end >= 0 && Math.floor((g.inSize + g.start + end - g.kernel) / g.stride) + 1 === g.outSize;
  if (fits(g.end)) return g.end;
  const needed = (g.outSize - 1) * g.stride + g.kernel - g.inSize - g.start;
  return fits(needed) ? needed : undefined;
}

function paddings(info: Geometry): { top: number; left: number; bottom: number; right: number } | string {
  const { top, left } = info.padInfo;
  const bottom = trailingPad({
    inSize: info.inHeight,
    outSize: info.outHeight,
    stride: info.strideHeight,
    kernel: info.effectiveFilterHeight,
    start: top,
    end: info.padInfo.bottom,
  });
  const right = trailingPad({
    inSize: info.inWidth,
    outSize: info.outWidth,
    stride: info.strideWidth,
    kernel: info.effectiveFilterWidth,
    start: left,
    end: info.padInfo.right,
  });
  if (bottom === undefined || right === undefined || top < 0 || left < 0)
    return `padding ${JSON.stringify(info.padInfo)} has no oneDNN equivalent`;
  return { top, left, bottom, right };
}

function empty(info: Geometry): boolean {
  return [info.batchSize, info.inHeight, info.inWidth, info.inChannels, info.outHeight, info.outWidth, info.outChannels].some(
    (d) => d <= 0,
  );
}

/**
 * Addon parameters of a convolution: N IH IW IC OH OW OC KH KW SH SW DH DW PT PL PB PR ACT
 * (`activation`, a code of `addon.ops.activation`), or a reason string when the geometry is
 * not expressible (then the caller uses tfjs-backend-cpu).
 *
 * @example convParams(backend_util.computeConv2DInfo([1, 5, 5, 1], [3, 3, 1, 2], 1, 1, 'same'), ops.activation.linear)
 */
export function convParams(info: Geometry, activation: number): Int32Array | string {
  if (empty(info)) return 'empty tensor';
  const pads = paddings(info);
  if (typeof pads === 'string') return pads;
  return Int32Array.of(
    info.batchSize,
    info.inHeight,
    info.inWidth,
    info.inChannels,
    info.outHeight,
    info.outWidth,
    info.outChannels,
    info.filterHeight,
    info.filterWidth,
    info.strideHeight,
    info.strideWidth,
    info.dilationHeight,
    info.dilationWidth,
    pads.top,
    pads.left,
    pads.bottom,
    pads.right,
    activation,
  );
}

/**
 * Addon parameters of a pooling: N IH IW C OH OW KH KW SH SW PT PL PB PR ALG (`algorithm`, a
 * code of `addon.ops.pool`), or a reason.
 * Pads must stay below the window so that no window lies entirely in the padding (tfjs
 * would emit -Infinity or NaN there).
 *
 * @example poolParams(backend_util.computePool2DInfo([1, 4, 4, 3], 2, 2, 1, 'valid'), ops.pool.max)
 */
export function poolParams(info: Geometry, algorithm: number): Int32Array | string {
  if (empty(info)) return 'empty tensor';
  if (info.dilationHeight !== 1 || info.dilationWidth !== 1) return 'dilated pooling';
  const pads = paddings(info);
  if (typeof pads === 'string') return pads;
  if (Math.max(pads.top, pads.bottom) >= info.filterHeight || Math.max(pads.left, pads.right) >= info.filterWidth) {
    return `padding ${JSON.stringify(pads)} reaches a whole ${info.filterHeight}x${info.filterWidth} window`;
  }
  return Int32Array.of(
    info.batchSize,
    info.inHeight,
    info.inWidth,
    info.inChannels,
    info.outHeight,
    info.outWidth,
    info.filterHeight,
    info.filterWidth,
    info.strideHeight,
    info.strideWidth,
    pads.top,
    pads.left,
    pads.bottom,
    pads.right,
    algorithm,
  );
}
