import fc from 'fast-check';
import * as tf from '@tensorflow/tfjs';
import { batchNorm, conv2d, dense, globalAvgPool, sequential, weightSchema, type Layer } from '@resnet/spec';
import { clipScale, createSgdState, disposeSgdState, globalGradNorm, sgdStep } from './sgd.ts';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

/** Every trainable parameter of `net`, filled with ones. */
function onesOf(net: Layer): Map<string, tf.Variable> {
  return new Map(weightSchema(net).flatMap((w) => (w.trainable ? [[w.name, tf.variable(tf.ones([...w.shape]))] as const] : [])));
}

/** The update written out by hand, as torch.optim.SGD does it, on plain numbers. */
function byHand(p: number[], g: number[][], lr: number, mu: number, wd: number, nesterov: boolean): number[] {
  const v = p.map(() => 0);
  const out = [...p];
  for (const grad of g) {
    for (let i = 0; i < out.length; i++) {
      const d = (grad[i] ?? 0) + wd * (out[i] ?? 0);
      v[i] = mu * (v[i] ?? 0) + d;
      out[i] = (out[i] ?? 0) - lr * (nesterov ? d + mu * (v[i] ?? 0) : (v[i] ?? 0));
    }
  }
  return out;
}

/** torch.nn.utils.clip_grad_norm_ on plain numbers: every gradient scaled by min(1, c / (‖g‖ + 1e-6)). */
function clippedByHand(g: number[], clipNorm: number | null): number[] {
  if (clipNorm === null) return g;
  const norm = Math.sqrt(g.reduce((a, x) => a + x * x, 0));
  return g.map((x) => x * Math.min(1, clipNorm / (norm + 1e-6)));
}

describe('gradient clipping', () => {
  test('the global norm is over all tensors as one vector', () => {
    const grads = new Map<string, tf.Tensor>([
      ['a', tf.tensor1d([3, 0])],
      ['b', tf.tensor2d([[0], [4]])],
    ]);
    expect(globalGradNorm(grads)).toBeCloseTo(5, 6);
    expect(clipScale(grads, 2)).toBeCloseTo(2 / (5 + 1e-6), 7);
    expect(clipScale(grads, 5)).toBeCloseTo(5 / (5 + 1e-6), 7);
    expect(clipScale(grads, 6)).toBe(1);
    expect(clipScale(grads, null)).toBe(1);
    expect(globalGradNorm(new Map())).toBe(0);
    tf.dispose([...grads.values()]);
  });

  test('steps with clipNorm equal the hand computation on clipped gradients (weight and bias clipped together, decay not clipped)', () => {
    const small = fc.double({ min: -2, max: 2, noNaN: true });
    fc.assert(
      fc.property(
        fc.array(small, { minLength: 6, maxLength: 6 }),
        fc.array(fc.array(small, { minLength: 6, maxLength: 6 }), { minLength: 1, maxLength: 3 }),
        fc.constantFrom(null, 0.05, 0.5, 1, 10),
        fc.constantFrom(0, 0.9),
        fc.constantFrom(0, 0.1),
        (p0, gs, clipNorm, mu, wd) => {
          const spec = sequential('net', [dense('fc', { inFeatures: 2, outFeatures: 2, bias: true })]);
          const params = new Map<string, tf.Variable>([
            ['net.fc/weight', tf.variable(tf.tensor2d(p0.slice(0, 4), [2, 2]))],
            ['net.fc/bias', tf.variable(tf.tensor1d(p0.slice(4)))],
          ]);
          const state = createSgdState(params);
          for (const g of gs) {
            const grads = new Map<string, tf.Tensor>([
              ['net.fc/weight', tf.tensor2d(g.slice(0, 4), [2, 2])],
              ['net.fc/bias', tf.tensor1d(g.slice(4))],
            ]);
            sgdStep({ spec, params }, grads, state, 0.1, { momentum: mu, nesterov: true, weightDecay: wd, decayAll: true, clipNorm });
            tf.dispose([...grads.values()]);
          }
          const got = [
            ...Array.from(params.get('net.fc/weight')?.dataSync() ?? []),
            ...Array.from(params.get('net.fc/bias')?.dataSync() ?? []),
          ];
          const want = byHand(
            p0,
            gs.map((g) => clippedByHand(g, clipNorm)),
            0.1,
            mu,
            wd,
            true,
          );
          got.forEach((x, i) => expect(x).toBeCloseTo(want[i] ?? NaN, 4));
          disposeSgdState(state);
          params.forEach((v) => v.dispose());
        },
      ),
      { numRuns: 60 },
    );
  });
});

describe('sgdStep', () => {
  test('steps of SGD with momentum, Nesterov and weight decay equal the hand computation', () => {
    const small = fc.double({ min: -2, max: 2, noNaN: true });
    fc.assert(
      fc.property(
        fc.array(small, { minLength: 4, maxLength: 4 }),
        fc.array(fc.array(small, { minLength: 4, maxLength: 4 }), { minLength: 1, maxLength: 3 }),
        fc.double({ min: 0.001, max: 0.5, noNaN: true }),
        fc.constantFrom(0, 0.9),
        fc.constantFrom(0, 5e-4, 0.1),
        fc.boolean(),
        (p0, gs, lr, mu, wd, nesterov) => {
          const spec = sequential('net', [dense('fc', { inFeatures: 2, outFeatures: 2, bias: false })]);
          const params = new Map([['net.fc/weight', tf.variable(tf.tensor2d(p0, [2, 2]))]]);
          const state = createSgdState(params);
          for (const g of gs) {
            const grads = new Map([['net.fc/weight', tf.tensor2d(g, [2, 2])]]);
            sgdStep({ spec, params }, grads, state, lr, { momentum: mu, nesterov, weightDecay: wd });
            tf.dispose([...grads.values()]);
          }
          const got = Array.from(params.get('net.fc/weight')?.dataSync() ?? []);
          const want = byHand(p0, gs, lr, mu, wd, nesterov);
          got.forEach((x, i) => expect(x).toBeCloseTo(want[i] ?? NaN, 4));
          disposeSgdState(state);
          params.forEach((v) => v.dispose());
        },
      ),
      { numRuns: 50 },
    );
  });

  test('weight decay follows the weight schema: conv and dense weights decay, biases and batch-norm parameters only with decayAll', () => {
    const spec = sequential('net', [
      conv2d('conv', { inChannels: 1, outChannels: 2, kernel: 1, bias: true }),
      batchNorm('bn', { channels: 2 }),
      globalAvgPool('pool'),
      dense('fc', { inFeatures: 2, outFeatures: 2 }),
    ]);
    const params = onesOf(spec);
    const zero = new Map([...params].map(([k, v]) => [k, tf.zerosLike(v)]));
    const state = createSgdState(params);
    const halved = () => [...params].filter(([, v]) => v.dataSync().every((x) => x === 0.5)).map(([k]) => k);
    const untouched = () => [...params].filter(([, v]) => v.dataSync().every((x) => x === 1)).map(([k]) => k);
    sgdStep({ spec, params }, zero, state, 1, { momentum: 0, nesterov: false, weightDecay: 0.5 });
    expect(halved()).toEqual(['net.conv/weight', 'net.fc/weight']);
    expect(untouched()).toEqual(['net.conv/bias', 'net.bn/weight', 'net.bn/bias', 'net.fc/bias']);
    sgdStep({ spec, params }, zero, state, 1, { momentum: 0, nesterov: false, weightDecay: 0.5, decayAll: true });
    expect(halved()).toEqual(['net.conv/bias', 'net.bn/weight', 'net.bn/bias', 'net.fc/bias']);
    tf.dispose([...zero.values()]);
    disposeSgdState(state);
    params.forEach((v) => v.dispose());
  });

  test('a parameter the spec’s weight schema does not list is an error naming it', () => {
    const spec = sequential('net', [dense('fc', { inFeatures: 1, outFeatures: 2 })]);
    const params = new Map([['net.other/weight', tf.variable(tf.ones([1, 2]))]]);
    const grads = new Map([['net.other/weight', tf.ones([1, 2])]]);
    const state = createSgdState(params);
    const step = () => sgdStep({ spec, params }, grads, state, 0.1, { momentum: 0, nesterov: false, weightDecay: 1e-4 });
    expect(step).toThrow('parameter "net.other/weight" is not in the weight schema of spec "net"');
    tf.dispose([...grads.values()]);
    disposeSgdState(state);
    params.forEach((v) => v.dispose());
  });

  test('a step allocates no tensor that outlives it', () => {
    const spec = dense('w', { inFeatures: 3, outFeatures: 3, bias: false });
    const params = new Map([['w/weight', tf.variable(tf.ones([3, 3]))]]);
    const grads = new Map([['w/weight', tf.ones([3, 3])]]);
    const state = createSgdState(params);
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) sgdStep({ spec, params }, grads, state, 0.1, { momentum: 0.9, nesterov: true, weightDecay: 1e-4 });
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([...grads.values()]);
    disposeSgdState(state);
    params.forEach((v) => v.dispose());
  });

  test('a missing gradient is an error naming the parameter', () => {
    const spec = sequential('net', [conv2d('conv', { inChannels: 1, outChannels: 1, kernel: 1 })]);
    const params = new Map([['net.conv/weight', tf.variable(tf.ones([1, 1, 1, 1]))]]);
    const state = createSgdState(params);
    const step = () => sgdStep({ spec, params }, new Map(), state, 0.1, { momentum: 0.9, nesterov: false, weightDecay: 0 });
    expect(step).toThrow('no gradient for parameter "net.conv/weight"');
    disposeSgdState(state);
    params.forEach((v) => v.dispose());
  });
});
