// The umbrella package registers tfjs-core's gradients (and chained ops); the backend needs only core and cpu.
import * as tf from '@tensorflow/tfjs';
import { getKernel, getKernelsForBackend } from '@tensorflow/tfjs-core';
import { addonPath, loadAddon } from './_addon.ts';
import { FUSED_KERNELS } from '@resnet/kernels';
import { onednnStats, resetOnednnStats } from './diagnostics.ts';
import { isOnednnAvailable, onednnStatus, registerOnednn } from './register.ts';
import { describeOnednn, input, relativeError } from './_testing.ts';

// Runs `f` with one environment variable set (or unset), restoring it afterwards.
function withEnv<T>(name: string, value: string | undefined, f: () => T): T {
  const saved = process.env[name];
  if (value === undefined) delete process.env[name];
  else process.env[name] = value;
  try {
    return f();
  } finally {
    if (saved === undefined) delete process.env[name];
    else process.env[name] = saved;
  }
}

describe('availability', () => {
  test('a missing addon is reported with the command that fixes it, not thrown', () => {
    const result = withEnv('ONEDNN_DISABLE', undefined, () => loadAddon('/nonexistent/onednn.node'));
    expect(result.ok).toBe(false);
    expect(result.ok ? '' : result.reason).toMatch(/not found: .*Fix: apt-get install -y libdnnl-dev && node tools\/build_native\.cjs/);
  });

  test('ONEDNN_DISABLE=1 makes the addon unavailable with a reason', () => {
    const result = withEnv('ONEDNN_DISABLE', '1', () => loadAddon('/any/path.node'));
    expect(result.ok ? '' : result.reason).toMatch(/disabled by ONEDNN_DISABLE=1/);
  });

  test('isOnednnAvailable, onednnStatus and registerOnednn agree with loading the addon, whether it loads or not', () => {
    // This process: all three say what a fresh load of the addon says (not the status cached at import).
    const fresh = loadAddon(addonPath());
    expect({ available: isOnednnAvailable(), status: onednnStatus().ok, registered: registerOnednn().ok }).toEqual({
      available: fresh.ok,
      status: fresh.ok,
      registered: fresh.ok,
    });
    // A fresh copy of the lib with no addon to load: all three say it is missing, with the same reason, and no backend is registered.
    const missing = '/nonexistent/onednn.node';
    // The copy loads tfjs again, which warns that its platform and cpu backend are already set.
    const warn = jest.spyOn(console, 'warn').mockImplementation(() => undefined);
    try {
      withEnv('ONEDNN_ADDON', missing, () =>
        jest.isolateModules(() => {
          const lib = require('./register.ts') as typeof import('./register.ts');
          const reason = loadAddon(missing);
          expect(reason.ok).toBe(false);
          expect({ available: lib.isOnednnAvailable(), status: lib.onednnStatus(), registered: lib.registerOnednn() }).toEqual({
            available: false,
            status: reason,
            registered: reason,
          });
        }),
      );
    } finally {
      warn.mockRestore();
    }
  });
});

// Gradient of a small conv → max-pool → dense network on `backend`, as flat arrays.
function gradients(backend: string, seed: number): Float32Array[] {
  tf.setBackend(backend);
  return tf.tidy(() => {
    const t = (shape: number[], s: number): tf.Tensor => tf.tensor(input(shape, s).values, shape);
    const x = t([3, 9, 9, 2], seed) as tf.Tensor4D;
    const w1 = t([3, 3, 2, 5], seed + 1) as tf.Tensor4D;
    const b1 = t([5], seed + 2) as tf.Tensor1D;
    const w2 = t([2, 2, 5, 4], seed + 3) as tf.Tensor4D;
    const dense = t([4 * 2 * 2, 3], seed + 4) as tf.Tensor2D;
    const loss = (xs: tf.Tensor, a: tf.Tensor, b: tf.Tensor, c: tf.Tensor, d: tf.Tensor): tf.Scalar => {
      const h1 = tf.fused.conv2d({
        x: xs as tf.Tensor4D,
        filter: a as tf.Tensor4D,
        strides: 1,
        pad: 'same',
        bias: b,
        activation: 'linear',
      });
      const p1 = tf.maxPool(h1, 2, 2, 'valid');
      const h2 = tf.conv2d(p1, c as tf.Tensor4D, [2, 1], 'valid');
      const h3 = tf.avgPool(h2, 2, 1, 'same');
      return tf.sum(tf.square(tf.matMul(tf.slice(tf.reshape(h3, [3, -1]), [0, 0], [3, 16]), d as tf.Tensor2D)));
    };
    return tf
      .grads(loss)([x, w1, b1, w2, dense])
      .map((g) => g.dataSync() as Float32Array);
  });
}

describeOnednn('the registered onednn backend', () => {
  test('tf.setBackend("onednn") selects it; it has every cpu kernel plus the fused training kernels', async () => {
    expect(await tf.setBackend('onednn')).toBe(true);
    expect(tf.getBackend()).toBe('onednn');
    const cpu = getKernelsForBackend('cpu').map((k) => k.kernelName);
    const onednn = getKernelsForBackend('onednn')
      .map((k) => k.kernelName)
      .sort();
    expect(onednn).toEqual([...cpu, ...Object.values(FUSED_KERNELS)].sort());
  });

  test('registering twice is harmless: every kernel stays the one first registered, and the backend still computes', () => {
    const before = new Map(getKernelsForBackend('onednn').map((k) => [k.kernelName, k.kernelFunc]));
    const warn = jest.spyOn(console, 'warn').mockImplementation(() => undefined);
    try {
      expect(registerOnednn().ok).toBe(true);
      // tfjs warns when a kernel is registered again; a second registration must not try.
      expect(warn).not.toHaveBeenCalled();
    } finally {
      warn.mockRestore();
    }
    const after = getKernelsForBackend('onednn');
    expect(after.length).toBe(before.size);
    // Same function objects: a second registration that replaced kernels would make new closures.
    expect(after.filter((k) => before.get(k.kernelName) !== k.kernelFunc).map((k) => k.kernelName)).toEqual([]);
    expect(getKernel('Conv2D', 'onednn')?.kernelFunc).toBe(before.get('Conv2D'));
    tf.setBackend('onednn');
    expect(Array.from(tf.tidy(() => tf.matMul(tf.tensor2d([1, 2, 3, 4], [2, 2]), tf.tensor2d([5, 6, 7, 8], [2, 2])).dataSync()))).toEqual([
      19, 22, 43, 50,
    ]);
  });

  test('tf.grads through conv2d, fused conv2d, maxPool, avgPool and matMul agree with cpu', () => {
    resetOnednnStats();
    for (const seed of [1, 2, 3]) {
      const expected = gradients('cpu', seed);
      const actual = gradients('onednn', seed);
      expect(actual.length).toBe(5);
      actual.forEach((g, i) => expect(relativeError(g, expected[i] ?? new Float32Array())).toBeLessThanOrEqual(1e-4));
    }
    const { native, fallback } = onednnStats();
    for (const k of [
      'Conv2D',
      'FusedConv2D',
      'Conv2DBackpropInput',
      'Conv2DBackpropFilter',
      'MaxPool',
      'MaxPoolGrad',
      'AvgPool',
      'AvgPoolGrad',
      'BatchMatMul',
      'Multiply',
      'Sum',
    ]) {
      expect({ k, native: (native[k] ?? 0) > 0, fallback: fallback[k] }).toEqual({ k, native: true, fallback: undefined });
    }
  });

  test('unsupported cases (prelu, int32, NCHW) fall back to the cpu kernel, are counted, and still agree', () => {
    resetOnednnStats();
    const run = (backend: string): Float32Array[] => {
      tf.setBackend(backend);
      return tf.tidy(() => {
        const x = tf.tensor4d(input([1, 5, 5, 2], 1).values, [1, 5, 5, 2]);
        const w = tf.tensor4d(input([3, 3, 2, 3], 2).values, [3, 3, 2, 3]);
        const prelu = tf.fused.conv2d({
          x,
          filter: w,
          strides: 1,
          pad: 'same',
          activation: 'prelu',
          preluActivationWeights: tf.scalar(0.1),
        });
        const ints = tf.matMul(tf.tensor2d([1, 2, 3, 4], [2, 2], 'int32'), tf.tensor2d([5, 6, 7, 8], [2, 2], 'int32'));
        const nchw = tf.conv2d(tf.transpose(x, [0, 3, 1, 2]) as tf.Tensor4D, w, 1, 'same', 'NCHW');
        return [prelu, ints, nchw].map((t) => Float32Array.from(t.dataSync()));
      });
    };
    const expected = run('cpu');
    const actual = run('onednn');
    actual.forEach((a, i) => expect(relativeError(a, expected[i] ?? new Float32Array())).toBeLessThanOrEqual(1e-4));
    expect(Object.keys(onednnStats().fallback).sort()).toEqual(['BatchMatMul', 'Conv2D', 'FusedConv2D']);
  });

  test('many calls leak no tensors and no native memory', () => {
    tf.setBackend('onednn');
    // Every native kernel, on three batch sizes so that cached primitives are reused and replaced.
    const calls = [2, 4, 8].map((n) => {
      const x = tf.tensor4d(input([n, 16, 16, 16], n).values, [n, 16, 16, 16]);
      const w = tf.tensor4d(input([3, 3, 16, 16], 2).values, [3, 3, 16, 16]);
      const b = tf.tensor1d(input([16], 3).values);
      const pool = { filterSize: 2, strides: 2, pad: 'same' };
      const conv = { strides: 1, pad: 'same', dataFormat: 'NHWC', dilations: 1 };
      const pooled = tf.maxPool(x, 2, 2, 'same');
      return (): void => {
        const run = (name: string, inputs: tf.NamedTensorMap, attrs: object): void => {
          (tf.engine().runKernel(name, inputs, attrs as tf.NamedAttrMap) as tf.Tensor).dispose();
        };
        run('Conv2D', { x, filter: w }, conv);
        run('FusedConv2D', { x, filter: w, bias: b }, { ...conv, activation: 'relu' });
        run('Conv2DBackpropInput', { dy: x, filter: w }, { ...conv, inputShape: x.shape });
        run('Conv2DBackpropFilter', { x, dy: x }, { ...conv, filterShape: w.shape });
        run('MaxPool', { x }, pool);
        run('MaxPoolGrad', { dy: pooled, input: x, output: pooled }, pool);
        run('AvgPool', { x }, pool);
        run('AvgPoolGrad', { dy: pooled, input: x }, pool);
        run('BatchMatMul', { a: tf.reshape(x, [-1, 16]), b: tf.reshape(w, [-1, 16]) }, { transposeA: false, transposeB: true });
      };
    });
    const sweep = (): void => tf.tidy(() => calls.forEach((call) => call()));
    for (let i = 0; i < 20; i++) sweep();
    const tensors = tf.memory().numTensors;
    const rss = process.memoryUsage().rss;
    for (let i = 0; i < 200; i++) sweep();
    expect(tf.memory().numTensors).toBe(tensors);
    // 5,400 native calls: allocator noise is a few MB; leaking even 10 KB per call would show 54 MB.
    expect((process.memoryUsage().rss - rss) / 2 ** 20).toBeLessThan(30);
  });
});
