/**
 * Seeded random numbers: the one PRNG of the project (initialisation here, shuffling and
 * augmentation in @resnet/training), and fills for initialisation. tf.randomNormal draws
 * ~1 µs per sample on the JS backends (a minute for ResNet-152); these fill typed arrays in ~10 ns.
 */

// Module-level bindings: hot loops that look up `Math` on the global object are
// many times slower inside a vm context (as under jest).
const { imul, sqrt, log, cos, sin, PI } = Math;

/**
 * mulberry32: a small, fast 32-bit PRNG with good statistical quality; returns uniform
 * numbers in [0, 1).
 * @example const next = mulberry32(42); next() // 0.…, the same for every run with seed 42
 */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = imul(t ^ (t >>> 15), t | 1);
    t ^= t + imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `n` samples of N(0, std²), Box–Muller over a seeded PRNG. */
export function normalArray(n: number, std: number, seed: number): Float32Array {
  const next = mulberry32(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i += 2) {
    const r = std * sqrt(-2 * log(1 - next()));
    const theta = 2 * PI * next();
    out[i] = r * cos(theta);
    if (i + 1 < n) out[i + 1] = r * sin(theta);
  }
  return out;
}

/** `n` samples of U(−bound, bound). */
export function uniformArray(n: number, bound: number, seed: number): Float32Array {
  const next = mulberry32(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = (2 * next() - 1) * bound;
  return out;
}
