// The onednn backend's reuse of output storage: it happens (a kernel after a dispose gets the
// disposed output's storage), and it never happens where someone else can still see the
// storage: arrays read out by dataSync/data, arrays the user wrote into a tensor, arrays a
// view (slice) shares. Each test checks the visible values, not only the counters.
import * as tf from '@tensorflow/tfjs';
import { BufferPool, bufferSettings } from './_buffers.ts';
import { configureOnednn, onednnStats, resetOnednnStats } from './diagnostics.ts';
import { describeOnednn, randomValues } from './_testing.ts';

const N = 32 * 32 * 16; // above bufferSettings.minLength: pooled

function inputs(): [tf.Tensor, tf.Tensor] {
  return [tf.tensor(randomValues(N, 1), [32, 32, 16]), tf.tensor(randomValues(N, 2), [32, 32, 16])];
}

describe('BufferPool', () => {
  test('hands back a released array of the same length, and only that length', () => {
    const pool = new BufferPool();
    const a = pool.take(N);
    pool.stored(a);
    pool.released(a);
    expect(pool.take(N + 1)).not.toBe(a);
    expect(pool.take(N)).toBe(a);
    expect(pool.stats()).toMatchObject({ reused: 1, allocated: 2 });
  });

  test('never takes back an array that was read out, stored twice, stored as a view, or not its own', () => {
    const pool = new BufferPool();
    const readOut = pool.take(N),
      twice = pool.take(N),
      viewed = pool.take(N),
      foreign = new Float32Array(N);
    for (const a of [readOut, twice, viewed, foreign]) pool.stored(a);
    pool.readOut(readOut);
    pool.stored(twice);
    pool.stored(viewed.subarray(1));
    for (const a of [readOut, twice, viewed, foreign]) pool.released(a);
    expect(pool.stats().pooledBytes).toBe(0);
    expect([readOut, twice, viewed, foreign]).not.toContain(pool.take(N));
  });

  test('keeps at most maxPooledBytes, and nothing when reuse is off', () => {
    const saved = { ...bufferSettings };
    try {
      const pool = new BufferPool();
      bufferSettings.maxPooledBytes = N * 4;
      const [a, b] = [pool.take(N), pool.take(N)];
      for (const x of [a, b]) {
        pool.stored(x);
        pool.released(x);
      }
      expect(pool.stats().pooledBytes).toBe(N * 4);
      bufferSettings.reuse = false;
      const c = pool.take(N);
      expect([a, b]).not.toContain(c);
    } finally {
      Object.assign(bufferSettings, saved);
    }
  });
});

describeOnednn('storage reuse on the onednn backend', () => {
  beforeAll(async () => {
    await tf.setBackend('onednn');
    configureOnednn({ reuseBuffers: true });
  });

  test("a disposed output's storage serves the next output of that size, with the right values", () => {
    const [x, y] = inputs();
    const expected = tf.tidy(() => tf.sub(x, y).arraySync());
    tf.add(x, y).dispose(); // its storage is now free
    resetOnednnStats();
    const z = tf.sub(x, y);
    expect(onednnStats().buffers.reused).toBe(1);
    expect(z.arraySync()).toEqual(expected);
    tf.dispose([x, y, z]);
  });

  test('an array read out by dataSync keeps its values after its tensor is disposed and more kernels run', () => {
    const [x, y] = inputs();
    const sum = tf.add(x, y);
    const values = sum.dataSync();
    const copy = Float32Array.from(values);
    sum.dispose();
    const later = [tf.mul(x, y), tf.sub(x, y), tf.add(y, x)];
    expect(values).toEqual(copy);
    tf.dispose([x, y, ...later]);
  });

  test('an array the user gave to tf.tensor is never written by a kernel', () => {
    const mine = randomValues(N, 3);
    const copy = Float32Array.from(mine);
    const t = tf.tensor(mine, [32, 32, 16]);
    const doubled = tf.add(t, t);
    t.dispose();
    const later = [tf.mul(doubled, doubled), tf.sub(doubled, doubled)];
    expect(mine).toEqual(copy);
    tf.dispose([doubled, ...later]);
  });

  test('a slice that shares storage keeps its values after the sliced tensor is disposed', () => {
    const [x, y] = inputs();
    const sum = tf.add(x, y);
    const first = tf.slice(sum, [0], [16]); // a leading slice: tfjs-backend-cpu may share storage
    const expected = first.arraySync();
    sum.dispose();
    const later = [tf.mul(x, y), tf.sub(x, y)];
    expect(first.arraySync()).toEqual(expected);
    tf.dispose([x, y, first, ...later]);
  });

  test('reused storage is poisoned under jest, so a kernel that relied on zeros would fail here', () => {
    expect(bufferSettings.poison).toBe(true);
  });
});
