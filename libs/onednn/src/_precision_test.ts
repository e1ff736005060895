// bf16 mixed precision (configureOnednn({ precision })) against fp32, kernel by kernel, on the
// addon's raw entry points.
//
// The bound, from bf16's 8-bit significand: rounding an fp32 value to bf16 (round to nearest
// even) changes it by at most u = 2^-8 of itself, so a product of two rounded inputs is off by
// at most (2u + u²)·|a·b|; the products are summed in fp32 (oneDNN accumulates bf16
// convolutions in fp32), whose rounding adds at most K·2^-24·Σ|a·b| for K terms, in the bf16
// result and in the fp32 one it is compared with. So every output element obeys
//   |y_bf16 − y_fp32| ≤ (2u + u² + 2K·2^-24) · Σ|a|·|b|,
// and Σ|a|·|b| is the same convolution run in fp32 on |a| and |b|. A kernel that read a
// wrong layout or a wrong tap would miss this bound by orders of magnitude; one that quietly
// stayed fp32 would give equal outputs, which the test also rules out where bf16 is expected.
// Where the rule (native/conv.cc, Bf16Pays) keeps fp32, the outputs must be bit-identical.
import { execFileSync } from 'node:child_process';
import * as tf from '@tensorflow/tfjs-core';
import { addon, addonPath, type OnednnAddon } from './_addon.ts';
import { configureOnednn, type OnednnPrecision } from './diagnostics.ts';
import { describeOnednn, randomValues, status } from './_testing.ts';

const U = 2 ** -8;

interface Case {
  readonly name: string;
  // N IH IW IC OH OW OC KH KW SH SW DH DW PT PL PB PR ACT
  readonly params: readonly number[];
  /** Which of forward, backward data, backward filter compute in bf16 under `bf16` (the rule). */
  readonly bf16: readonly [boolean, boolean, boolean];
}

const CASES: readonly Case[] = [
  // Direct convolutions (oneDNN's blocked kernels): bf16 in all three directions.
  { name: '3x3 64→64 on 7x7, batch 4', params: [4, 7, 7, 64, 7, 7, 64, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 0], bf16: [true, true, true] },
  {
    name: '3x3 32→48 on 6x5, batch 3 (channel tails)',
    params: [3, 6, 5, 32, 6, 5, 48, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 0],
    bf16: [true, true, true],
  },
  // Strided: the filter gradient stays fp32.
  { name: '3x3/2 32→64 from 8x8 to 4x4', params: [4, 8, 8, 32, 4, 4, 64, 3, 3, 2, 2, 1, 1, 1, 1, 0, 0, 0], bf16: [true, true, false] },
  // The GEMM path: 3x3 on 1x1 maps (one tap) and pointwise; filter gradients stay fp32.
  { name: '3x3 64→64 on 1x1 maps (GEMM)', params: [16, 1, 1, 64, 1, 1, 64, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 0], bf16: [true, true, false] },
  {
    name: '3x3 32→32 on 2x2 maps (GEMM, 4 taps each)',
    params: [8, 2, 2, 32, 2, 2, 32, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 0],
    bf16: [true, true, true],
  },
  {
    name: '1x1 32→64 on 5x5 (pointwise GEMM)',
    params: [4, 5, 5, 32, 5, 5, 64, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0],
    bf16: [true, true, false],
  },
  // One input channel (the stem): fp32 throughout.
  {
    name: '7x7/2 stem 1→64 from 16x16 to 8x8',
    params: [4, 16, 16, 1, 8, 8, 64, 7, 7, 2, 2, 1, 1, 3, 3, 2, 2, 0],
    bf16: [false, false, false],
  },
];

const KINDS = ['forward', 'backwardData', 'backwardFilter'] as const;

function sizes(p: readonly number[]): { src: number; dst: number; wei: number } {
  const [n = 0, ih = 0, iw = 0, ic = 0, oh = 0, ow = 0, oc = 0, kh = 0, kw = 0] = p;
  return { src: n * ih * iw * ic, dst: n * oh * ow * oc, wei: kh * kw * ic * oc };
}

// Inputs and output length of one direction: forward (x, filter) → y; backward data (dy,
// filter) → dx; backward filter (x, dy) → dw. K: the products summed per output element.
function operands(c: Case, kind: (typeof KINDS)[number], seed: number): { a: Float32Array; b: Float32Array; out: number; k: number } {
  const s = sizes(c.params);
  const [n = 0, , , ic = 0, oh = 0, ow = 0, oc = 0, kh = 0, kw = 0] = c.params;
  const x = randomValues(s.src, seed),
    w = randomValues(s.wei, seed + 1),
    dy = randomValues(s.dst, seed + 2);
  if (kind === 'forward') return { a: x, b: w, out: s.dst, k: kh * kw * ic };
  if (kind === 'backwardData') return { a: dy, b: w, out: s.src, k: kh * kw * oc };
  return { a: x, b: dy, out: s.wei, k: n * oh * ow };
}

function run(
  native: OnednnAddon,
  precision: OnednnPrecision,
  c: Case,
  kind: (typeof KINDS)[number],
  a: Float32Array,
  b: Float32Array,
  length: number,
): Float32Array {
  configureOnednn({ precision });
  const out = new Float32Array(length).fill(NaN);
  native.conv(native.ops.conv[kind], a, b, null, out, Int32Array.from(c.params), 0);
  return out;
}

const abs = (v: Float32Array): Float32Array => v.map(Math.abs);

// Every element of `mixed` within (2u + u² + 2K·2^-24)·Σ|a||b| (`magnitude`) of `fp32`, and more
// than a quarter of them different from it (really computed in bf16).
function expectBf16Bound(mixed: Float32Array, fp32: Float32Array, magnitude: Float32Array, k: number): void {
  const factor = 2 * U + U * U + 2 * k * 2 ** -24;
  let worst = 0,
    differing = 0;
  for (let j = 0; j < fp32.length; j++) {
    const diff = Math.abs((mixed[j] ?? NaN) - (fp32[j] ?? NaN));
    worst = Math.max(worst, diff / (factor * (magnitude[j] ?? NaN) + 1e-30));
    if (diff > 0) differing++;
  }
  expect(worst).toBeLessThanOrEqual(1); // NaN fails too
  expect(differing).toBeGreaterThan(fp32.length / 4);
}

describeOnednn('bf16 mixed precision against fp32', () => {
  const loaded = addon();
  const native = loaded.ok ? loaded.addon : (undefined as unknown as OnednnAddon);
  const bf16 = status.ok && status.info.bf16;
  afterAll(() => {
    if (loaded.ok) configureOnednn({ precision: 'fp32' });
  });

  (bf16 ? describe : describe.skip)(`on this CPU (${status.ok ? status.info.isa : 'no addon'})`, () => {
    test.each(CASES.flatMap((c) => KINDS.map((kind, i) => [c.name, kind, c, i] as const)))(
      '%s, %s: within (2u + u² + 2K·2^-24)·Σ|a||b| where bf16, identical where the rule keeps fp32',
      (_, kind, c, i) => {
        const { a, b, out, k } = operands(c, kind, 7 + i);
        const fp32 = run(native, 'fp32', c, kind, a, b, out);
        const mixed = run(native, 'bf16', c, kind, a, b, out);
        if (!c.bf16[i]) {
          expect(mixed).toEqual(fp32);
          // ... and bf16-everywhere does change it: the rule, not the kernel, kept it fp32.
          expect(run(native, 'bf16-everywhere', c, kind, a, b, out)).not.toEqual(fp32);
          return;
        }
        expectBf16Bound(mixed, fp32, run(native, 'fp32', c, kind, abs(a), abs(b), out), k);
      },
    );

    // A filter with a key keeps the matrix made from it (the unrolled matrix on 2x2 maps, the
    // used taps gathered on 1x1 maps) as a bf16 copy: the forward makes it, backward data reads
    // it again (transposed), forgetting the filter's key frees it.
    test.each([
      ['3x3 32→32 on 2x2 maps (unrolled)', CASES[4] as Case],
      ['3x3 64→64 on 1x1 maps (gathered taps)', CASES[3] as Case],
    ])(
      '%s, filter keyed: forward and backward data within the bound; backward data reading the kept copy equals one from a fresh copy; freed with the filter',
      (_, c) => {
        const entries = (): number => native.info().convertedEntries;
        const before = entries();
        const fwd = operands(c, 'forward', 21),
          bwd = operands(c, 'backwardData', 21);
        const keyed = (kind: 'forward' | 'backwardData', o: typeof fwd, keyB: number): Float32Array => {
          configureOnednn({ precision: 'bf16' });
          const out = new Float32Array(o.out).fill(NaN);
          native.conv(native.ops.conv[kind], o.a, o.b, null, out, Int32Array.from(c.params), 0, 0, keyB);
          return out;
        };
        const filterKey = 2 ** 50;
        const y = keyed('forward', fwd, filterKey);
        const held = entries();
        expect(held).toBe(before + 1); // the filter's matrix, kept
        const dx = keyed('backwardData', { ...bwd, b: fwd.b }, filterKey);
        expect(entries()).toBe(held); // read again, not converted again
        // The same from a copy made afresh by backward data itself (another key: nothing kept yet).
        const fresh = keyed('backwardData', { ...bwd, b: fwd.b }, filterKey + 1);
        expect(dx).toEqual(fresh);
        native.forget(filterKey);
        native.forget(filterKey + 1);
        expect(entries()).toBe(before);
        for (const [kind, o, got] of [['forward', fwd, y] as const, ['backwardData', { ...bwd, b: fwd.b }, dx] as const]) {
          const fp32 = run(native, 'fp32', c, kind, o.a, o.b, o.out);
          expectBf16Bound(got, fp32, run(native, 'fp32', c, kind, abs(o.a), abs(o.b), o.out), o.k);
        }
      },
    );

    test('switching back to fp32 gives the fp32 results again (the cache keys carry the precision)', () => {
      const c = CASES[0] as Case;
      const { a, b, out } = operands(c, 'forward', 3);
      const before = run(native, 'fp32', c, 'forward', a, b, out);
      run(native, 'bf16', c, 'forward', a, b, out);
      expect(run(native, 'fp32', c, 'forward', a, b, out)).toEqual(before);
      expect(native.info().precision).toBe('fp32');
    });

    test('the dense layer (matmul) stays fp32 under bf16 and is bf16 under bf16-everywhere', () => {
      const [m, k, n] = [32, 64, 16];
      const a = randomValues(m * k, 1),
        b = randomValues(k * n, 2);
      const params = Int32Array.from([1, 1, m, k, n, 0, 0, 0]);
      const product = (precision: OnednnPrecision): Float32Array => {
        configureOnednn({ precision });
        const out = new Float32Array(m * n);
        native.matmul(a, b, null, out, params, 0);
        return out;
      };
      const fp32 = product('fp32');
      expect(product('bf16')).toEqual(fp32);
      expect(product('bf16-everywhere')).not.toEqual(fp32);
    });

    test('bf16 copies kept per tensor (the GEMM path) give the results of converting afresh, are reused for the gradient, and are freed with their tensors', async () => {
      const previous = tf.getBackend() as string | undefined;
      await tf.setBackend('onednn');
      try {
        configureOnednn({ precision: 'bf16' });
        const entries = (): number => native.info().convertedEntries;
        const before = entries();
        const fresh = (x: Float32Array, w: Float32Array): Float32Array => {
          const out = new Float32Array(8 * 5 * 5 * 64);
          native.conv(
            native.ops.conv.forward,
            x,
            w,
            null,
            out,
            Int32Array.from([8, 5, 5, 32, 5, 5, 64, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0]),
            0,
          );
          return out;
        };
        for (const seed of [1, 2, 3]) {
          // Each round's tensors reuse the storage the previous round's disposed ones had.
          const xv = randomValues(8 * 5 * 5 * 32, seed),
            wv = randomValues(32 * 64, seed + 10);
          const x = tf.tensor4d(Float32Array.from(xv), [8, 5, 5, 32]),
            w = tf.tensor4d(Float32Array.from(wv), [1, 1, 32, 64]);
          const y = tf.conv2d(x, w, 1, 'valid');
          expect(entries()).toBeGreaterThan(before);
          expect(y.dataSync()).toEqual(fresh(xv, wv));
          const kept = entries();
          const dy = tf.onesLike(y);
          const dx = tf.conv2dTranspose(dy, w, [8, 5, 5, 32], 1, 'valid');
          expect(entries()).toBeLessThanOrEqual(kept + 2); // the filter's copy served again
          tf.dispose([x, w, y, dy, dx]);
          expect(entries()).toBe(before);
        }
      } finally {
        configureOnednn({ precision: 'fp32' });
        if (previous !== undefined) await tf.setBackend(previous);
      }
    });

    test('a CPU without native bf16 is refused, naming its ISA (simulated: ONEDNN_MAX_CPU_ISA=AVX2 in a child process)', () => {
      const script = `const a = require(${JSON.stringify(addonPath())}); try { a.setPrecision(a.ops.precision.bf16); console.log('accepted'); } catch (e) { console.log(e.message); } console.log(JSON.stringify(a.info()));`;
      const output = execFileSync(process.execPath, ['-e', script], {
        env: { ...process.env, ONEDNN_MAX_CPU_ISA: 'AVX2' },
        encoding: 'utf8',
      }).split('\n');
      expect(output[0]).toBe('bf16 needs a CPU with avx512_core_bf16 or AMX; oneDNN runs on avx2 here');
      expect(JSON.parse(output[1] ?? '{}')).toMatchObject({ isa: 'avx2', bf16: false, precision: 'fp32' });
    });
  });

  (bf16 ? describe.skip : describe)(`without native bf16 (${status.ok ? status.info.isa : 'no addon'})`, () => {
    test('bf16 is refused with the ISA named, and the precision stays fp32', () => {
      expect(() => configureOnednn({ precision: 'bf16' })).toThrow(
        `bf16 needs a CPU with avx512_core_bf16 or AMX; oneDNN runs on ${status.ok ? status.info.isa : ''} here`,
      );
      expect(native.info()).toMatchObject({ bf16: false, precision: 'fp32' });
    });
  });
});
