// The addon's own loops (native/loops.cc: the fused batch norm, SGD (with a gradient scale),
// ReLU-gradient, add+ReLU and sum-of-squares kernels) are compiled for AVX-512, AVX2 and baseline x86-64, and each process runs
// the widest that the CPU has and oneDNN's ISA cap allows. ONEDNN_MAX_CPU_ISA lowers both, so
// child processes with ONEDNN_MAX_CPU_ISA=AVX2 and =SSE41 run the AVX2 and baseline loops (and
// oneDNN's AVX2 and SSE4.1 kernels) on an AVX-512 machine, and this test compares them with an
// uncapped child: every kernel that calls the loops, on lengths and channel counts that are
// not multiples of 8 or 16 (vector remainders), on arrays 4 bytes off alignment, with NaN, -0
// and 0 among the values the selects look at.
//
// The loops must give the same bits, reductions included: the per-channel sums vectorise
// across channels, so each channel adds the same rows in the same order in every variant, the
// sum of squares keeps eight float64 lanes (added in one order) at every vector width, and
// loops.cc is compiled with -ffp-contract=off (no FMA in any variant). oneDNN's broadcasting
// binary ops and max pooling must too (one rounding per element; max is exact). Its
// convolutions add K products in an order set by each ISA's blocking: each result is within
// K·u·Σ|x·w| of the exact sum (u = 2⁻²⁴), so with |x|, |w| ≤ 1 two of them differ by at most 2·K²·u.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { backend_util } from '@tensorflow/tfjs-core';
import { addon, addonPath } from './_addon.ts';
import { convParams, poolParams } from './_geometry.ts';
import { describeOnednn } from './_testing.ts';

// Runs every loop-backed kernel (and a few oneDNN primitives) on inputs it generates itself
// (mulberry32, as _testing.ts's randomValues) and prints the outputs' bytes as base64, by name.
const CHILD = String.raw`
const addon = require(process.argv[1]);
const spec = JSON.parse(process.argv[2]);
const outputs = {};
function keep(name, arrays) {
  arrays.forEach((a, i) => { outputs[name + ' #' + i] = Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('base64'); });
}
function zeros(n, misaligned) {
  return misaligned ? new Float32Array(n + 1).subarray(1) : new Float32Array(n);
}
// Values in [-1, 1), plus shift(i); special: NaN, -0 and 0 at every 29th, 31st and 37th place.
function values(n, seed, misaligned, special, shift) {
  const out = zeros(n, misaligned);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = (((t ^ (t >>> 14)) >>> 0) / 4294967296) * 2 - 1 + (shift ? shift(i) : 0);
    if (special && i % 29 === 3) out[i] = NaN;
    else if (special && i % 31 === 5) out[i] = -0;
    else if (special && i % 37 === 7) out[i] = 0;
  }
  return out;
}
for (const misaligned of [false, true]) {
  const m = misaligned ? ' misaligned' : '';
  for (const n of spec.lengths) {
    const [a, b, c] = [1, 2, 3].map((seed) => values(n, seed + n, misaligned, true));
    const dx = zeros(n, misaligned);
    addon.reluGrad(a, b, dx);
    keep('reluGrad n=' + n + m, [dx]);
    const y = zeros(n, misaligned);
    addon.addRelu(a, b, y);
    keep('addRelu n=' + n + m, [y]);
    for (const nesterov of [false, true]) {
      const [p, v] = [zeros(n, misaligned), zeros(n, misaligned)];
      addon.sgd(a, b, c, p, v, 0.1, 0.9, 5e-4, nesterov, 1);
      keep('sgd n=' + n + (nesterov ? ' nesterov' : '') + m, [p, v]);
    }
    const [p, v] = [zeros(n, misaligned), zeros(n, misaligned)];
    addon.sgd(a, b, c, p, v, 0.1, 0.9, 5e-4, true, 0.37);
    keep('sgd gradScale n=' + n + m, [p, v]);
    const shifted = values(n, 6 + n, misaligned, false, (i) => (i % 5) * 100);
    keep('sumSquares n=' + n + m, [Float64Array.of(addon.sumSquaresMulti([shifted])), Float64Array.of(addon.sumSquaresMulti([a]))]);
  }
  for (const [rows, ch] of spec.batchNorm) {
    const n = rows * ch;
    const x = values(n, 4 + n, misaligned, false, (i) => (i % ch) / 4); // channel means away from 0
    const dy = values(n, 5 + n, misaligned, false);
    const [scale, offset] = [values(ch, 6, misaligned, false), values(ch, 7, misaligned, false)];
    const [y, mean, variance] = [zeros(n, misaligned), zeros(ch, misaligned), zeros(ch, misaligned)];
    addon.batchNormTrain(x, scale, offset, y, mean, variance, 1e-5);
    const [dx, dScale, dOffset] = [zeros(n, misaligned), zeros(ch, misaligned), zeros(ch, misaligned)];
    addon.batchNormGrad(dy, x, scale, mean, variance, dx, dScale, dOffset, 1e-5);
    keep('batchNorm ' + rows + 'x' + ch + m, [y, mean, variance, dx, dScale, dOffset]);
    // With its ReLU: forward applies it, backward takes dy through its gradient (given y).
    const [yr, mr, vr, dxr, dsr, dor] = [zeros(n, misaligned), zeros(ch, misaligned), zeros(ch, misaligned), zeros(n, misaligned), zeros(ch, misaligned), zeros(ch, misaligned)];
    addon.batchNormTrain(x, scale, offset, yr, mr, vr, 1e-5, true);
    addon.batchNormGrad(dy, x, scale, mr, vr, dxr, dsr, dor, 1e-5, yr);
    keep('batchNorm+relu ' + rows + 'x' + ch + m, [yr, dxr, dsr, dor]);
  }
  const ts = spec.sgdMulti.map((n, i) => [1, 2, 3].map((seed) => values(n, 10 * i + seed, misaligned, true)));
  const [ps, vs] = [spec.sgdMulti.map((n) => zeros(n, misaligned)), spec.sgdMulti.map((n) => zeros(n, misaligned))];
  addon.sgdMulti(ts.map((t) => t[0]), ts.map((t) => t[1]), ts.map((t) => t[2]), ps, vs, Float32Array.from(spec.decays), 0.1, 0.9, true, 0.37);
  keep('sgdMulti' + m, [...ps, ...vs]);
  keep('sumSquaresMulti' + m, [Float64Array.of(addon.sumSquaresMulti(ts.map((t) => t[1])))]);
}
const dnnl = {};
const { shapes, conv, pool } = spec.onednn;
const [a, b] = [values(shapes[1] * shapes[2] * shapes[3] * shapes[4], 8, false, false), values(shapes[5] * shapes[6] * shapes[7] * shapes[8], 9, false, false)];
for (const op of ['add', 'mul']) {
  const out = zeros(a.length, false);
  addon.binary(addon.ops.binary[op], a, b, out, Int32Array.from(shapes));
  keep('oneDNN binary ' + op, [out]);
}
const x = values(conv.x, 10, false, false), w = values(conv.w, 11, false, false);
const y = zeros(conv.y, false);
addon.conv(addon.ops.conv.forward, x, w, null, y, Int32Array.from(conv.params), 0);
dnnl.conv = Buffer.from(y.buffer).toString('base64');
const pooled = zeros(pool.y, false);
addon.pool(false, x, null, pooled, Int32Array.from(pool.params));
keep('oneDNN max pool', [pooled]);
process.stdout.write(JSON.stringify({ info: addon.info(), primitives: addon.primitives(), outputs, dnnl }));
`;

interface ChildResult {
  readonly info: { readonly isa: string; readonly loopsIsa: string };
  readonly primitives: Record<string, number>;
  readonly outputs: Record<string, string>;
  readonly dnnl: { readonly conv: string };
}

function floats(base64: string): Float32Array {
  return new Float32Array(Uint8Array.from(Buffer.from(base64, 'base64')).buffer);
}

// The CPU's own word on its vector units (not the addon's): what the uncapped child must use.
function cpuFlags(): Set<string> {
  const flags = /^flags\s*:(.*)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? '';
  return new Set(flags.trim().split(/\s+/));
}

describeOnednn('native loops per instruction set', () => {
  test('the AVX2 and baseline loops give the AVX-512 loops bits (and oneDNN capped at AVX2 and SSE4.1 its bits, or its bound)', () => {
    const loaded = addon();
    if (!loaded.ok) throw new Error(loaded.reason);
    const { ops } = loaded.addon;
    const convInfo = backend_util.computeConv2DInfo([2, 9, 9, 19], [3, 3, 19, 21], 1, 1, 'same', undefined, false, 'channelsLast');
    const poolInfo = backend_util.computePool2DInfo([2, 9, 9, 19], 3, 2, 1, 'same');
    const params = [convParams(convInfo, ops.activation.linear), poolParams(poolInfo, ops.pool.max)];
    const [conv, pool] = params.map((p) => {
      if (typeof p === 'string') throw new Error(p);
      return [...p];
    });
    const spec = {
      lengths: [1, 7, 9, 15, 17, 31, 33, 63, 65, 100, 1021, 4099],
      batchNorm: [
        [1, 1],
        [2, 3],
        [5, 7],
        [9, 17],
        [33, 19],
        [17, 37],
        [8, 16],
        [13, 69],
      ],
      // 36,867 elements: a 32,768-element chunk of sgdMulti, then a 4,099-element one.
      sgdMulti: [5, 33, 36_867],
      decays: [5e-4, 0, 1e-3],
      onednn: {
        shapes: [4, 2, 5, 7, 19, 1, 1, 7, 19],
        conv: { params: conv, x: 2 * 9 * 9 * 19, w: 3 * 3 * 19 * 21, y: 2 * 9 * 9 * 21 },
        pool: { params: pool, y: 2 * 5 * 5 * 19 },
      },
    };
    const run = (cap: string | undefined): ChildResult => {
      const env: NodeJS.ProcessEnv = { ...process.env, OMP_NUM_THREADS: '1' };
      delete env['ONEDNN_MAX_CPU_ISA'];
      delete env['DNNL_MAX_CPU_ISA'];
      if (cap !== undefined) env['ONEDNN_MAX_CPU_ISA'] = cap;
      const out = execFileSync(process.execPath, ['-e', CHILD, addonPath(), JSON.stringify(spec)], {
        env,
        encoding: 'utf8',
        maxBuffer: 64 << 20,
      });
      return JSON.parse(out) as ChildResult;
    };
    const [widest, avx2, baseline] = [run(undefined), run('AVX2'), run('SSE41')];

    const flags = cpuFlags();
    const best = flags.has('avx512f') ? 'avx512f' : flags.has('avx2') ? 'avx2' : 'baseline';
    if (best !== 'avx512f')
      console.warn(`[onednn] this CPU has no AVX-512: its widest loops (${best}) are compared with the narrower ones`);
    expect([widest.info.loopsIsa, avx2.info.loopsIsa, baseline.info.loopsIsa]).toEqual([
      best,
      best === 'baseline' ? 'baseline' : 'avx2',
      'baseline',
    ]);
    expect([avx2.info.isa, baseline.info.isa]).toEqual([flags.has('avx2') ? 'avx2' : expect.any(String), 'sse41']);
    // oneDNN ran capped: no AVX-512 implementation among the capped children's primitives.
    const avx512Impls = (r: ChildResult): string[] => Object.keys(r.primitives).filter((name) => name.includes('avx512'));
    expect([avx512Impls(avx2), avx512Impls(baseline)]).toEqual([[], []]);
    if (best === 'avx512f') expect(avx512Impls(widest)).not.toEqual([]);

    const names = Object.keys(widest.outputs);
    // Aligned and not: per length reluGrad, addRelu, three sgd's (param and velocity each: plain,
    // Nesterov, Nesterov with gradScale) and two sums of squares (NaN among a's values), per
    // batch norm six outputs and four more with its ReLU, sgdMulti's parameters and velocities
    // and the gradients' sum of squares; then oneDNN's three.
    expect(names.length).toBe(2 * (spec.lengths.length * 10 + spec.batchNorm.length * 10 + spec.sgdMulti.length * 2 + 1) + 3);
    for (const [isa, other] of [
      ['avx2', avx2],
      ['baseline', baseline],
    ] as const) {
      expect(Object.keys(other.outputs)).toEqual(names);
      const differing = names.filter((name) => other.outputs[name] !== widest.outputs[name]);
      expect({ isa, differing }).toEqual({ isa, differing: [] });
      const [a, b] = [floats(other.dnnl.conv), floats(widest.dnnl.conv)];
      const worst = a.reduce((m, v, i) => Math.max(m, Math.abs(v - (b[i] ?? NaN))), 0); // NaN fails the bound
      const k = 3 * 3 * 19; // products per output of the 3×3 convolution over 19 channels
      expect({ isa, conv: a.length, withinBound: worst <= 2 * k * k * 2 ** -24 }).toEqual({ isa, conv: 2 * 9 * 9 * 21, withinBound: true });
    }
  });
});
