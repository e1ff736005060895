// Seeds for the input pipeline's random streams (mulberry32, from @resnet/tfjs). Every stream
// is derived from a tuple such as (seed, epoch) by hashing, so a resumed run reproduces it
// without saved state.

// Module-level bindings: global `Math` lookups are many times slower in a vm context (jest).
const { imul } = Math;

/** murmur3's 32-bit finaliser: a bijection that spreads every input bit over the output. */
function fmix32(h: number): number {
  h ^= h >>> 16;
  h = imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * A 32-bit seed from a tuple of integers (each up to 2^53 in magnitude); different
 * tuples, including tuples of different lengths, give unrelated seeds.
 * @example hashSeed([seed, epoch, STREAM_ORDER])
 */
export function hashSeed(parts: readonly number[]): number {
  let h = fmix32(0x9e3779b9 ^ parts.length);
  for (const part of parts) {
    const low = part >>> 0;
    const high = Math.floor(part / 4294967296) >>> 0;
    h = fmix32((h ^ low) >>> 0);
    h = fmix32((h + imul(high, 0x9e3779b1) + 0x7f4a7c15) >>> 0);
  }
  return h;
}
