// The onednn backend's reuse of output storage: it happens (a kernel after a dispose gets the
// disposed output's storage), and it never happens where someone else can still see the
// storage: arrays read out by dataSync/data, arrays the user wrote into a tensor, arrays a
// view (slice) shares. Each test checks the visible values, not only the counters.
import * as tf from '@tensorflow/tfjs';
import { BufferPool, bufferSettings } from './_buffers.ts';
import { configureOnednn, onednnStats, resetOnednnStats, reuseLongerBuffers } from './diagnostics.ts';
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

  test('with allowLonger only, a shorter request gets a view of the shortest longer free array (up to maxOversize×), which goes back whole', () => {
    const pool = new BufferPool();
    const [a, b, huge] = [pool.take(N), pool.take(2 * N), pool.take(9 * N)];
    for (const x of [a, b, huge]) {
      pool.stored(x);
      pool.released(x);
    }
    expect(pool.take(N / 2)).not.toBe(a); // off: exact lengths only
    pool.allowLonger = true;
    const view = pool.take(N / 2);
    expect(view).toHaveLength(N / 2);
    expect(view.buffer).toBe(a.buffer); // the shortest: a, not b
    expect(pool.take(N / 2 + 1).buffer).toBe(b.buffer);
    expect(pool.take(N / 2).buffer).not.toBe(huge.buffer); // 18× longer: beyond maxOversize
    pool.stored(view);
    pool.released(view);
    pool.allowLonger = false;
    expect(pool.take(N)).toBe(a); // the whole array again, under its own length
    expect(pool.stats()).toMatchObject({ reused: 3, reusedLonger: 2, allocated: 5 });
  });

  test('a view of a longer array is not taken back when read out, stored twice or viewed again', () => {
    for (const misuse of ['readOut', 'twice', 'viewed'] as const) {
      const pool = new BufferPool();
      const whole = pool.take(N);
      pool.stored(whole);
      pool.released(whole);
      pool.allowLonger = true;
      const view = pool.take(N / 2);
      expect(view.buffer).toBe(whole.buffer);
      pool.stored(view);
      if (misuse === 'readOut') pool.readOut(view);
      if (misuse === 'twice') pool.stored(view);
      if (misuse === 'viewed') pool.stored(view.subarray(0, N / 4));
      pool.released(view);
      expect(pool.stats().pooledBytes).toBe(0);
      expect(pool.take(N).buffer).not.toBe(whole.buffer);
    }
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

  test('an output in a view of a longer disposed output has the right values, and the longer array serves its own length again', () => {
    const [x, y] = inputs();
    const half = (t: tf.Tensor): tf.Tensor => tf.slice(t, [0, 0, 0], [16, 32, 16]);
    const [hx, hy] = [half(x), half(y)];
    const expected = tf.tidy(() => tf.sub(hx, hy).arraySync());
    tf.add(x, y).dispose(); // N elements free
    resetOnednnStats();
    reuseLongerBuffers(true);
    const z = tf.sub(hx, hy);
    reuseLongerBuffers(false);
    expect(onednnStats().buffers).toMatchObject({ reusedLonger: 1, allocated: 0 });
    expect(z.arraySync()).toEqual(expected);
    z.dispose();
    resetOnednnStats();
    const full = tf.mul(x, y);
    expect(onednnStats().buffers).toMatchObject({ reused: 1, reusedLonger: 0, allocated: 0 });
    expect(full.arraySync()).toEqual(tf.tidy(() => tf.mul(x, y).arraySync()));
    tf.dispose([x, y, hx, hy, full]);
  });

  test('reused storage is poisoned under jest, so a kernel that relied on zeros would fail here', () => {
    expect(bufferSettings.poison).toBe(true);
  });
});
