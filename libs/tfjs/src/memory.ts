/**
 * How much memory a training step of a spec takes, before any tensor exists: the training
 * pass of `gradients.ts` replayed on shapes alone (from the spec's `trace` fold), every tensor
 * it makes, holds and frees in the same order, with tfjs's byte count at the highest point;
 * then the SGD update (`SGD_CHUNK_ELEMENTS` at a time, as sgd.ts does) and what the process
 * holds beside its tensors. `memory_test.ts` checks the replay against tfjs's own count of
 * real steps.
 */
import * as E from 'fp-ts/Either';
import { SGD_CHUNK_ELEMENTS } from '@resnet/kernels';
import { childPath, countParams, trace, type Layer, type Shape, type SpecError, type Trace } from '@resnet/spec';

/** What one training step needs, bytes. */
export interface StepMemory {
  /** Trainable parameters (float32). */
  readonly paramBytes: number;
  /** Parameters, SGD velocities and batch-norm running statistics: what lives between steps. */
  readonly modelBytes: number;
  /** Activations saved for the backward pass when the forward pass ends. */
  readonly savedBytes: number;
  /** tfjs's tensor bytes at the step's highest point: model, batch, saved activations, gradients in flight. */
  readonly peakTensorBytes: number;
  /** The largest single activation of the step (one layer's output), bytes. */
  readonly largestActivationBytes: number;
  /** The whole process at its peak (resident memory): tensors plus what the process holds beside them ({@link PROCESS_OVERHEAD}). */
  readonly peakRssBytes: number;
}

/**
 * What a training process holds beside its tensors, fitted to measured peaks (bench:serve's
 * `peak RSS` against this replay, ResNet-18 to 152 at 28×28 batch 128 and 96×96 batch 256;
 * libs/onednn/README.md, Memory): Node, tfjs and the addon (`fixedBytes`); spare output
 * buffers of the onednn backend's pool, which are reused by exact length, so some wait while
 * others are allocated (`perTensorByte` of the tensor peak); and oneDNN's scratch arena, whose
 * slots (blocked copies, workspaces, im2col) grow to a few of the largest activations
 * (`perLargestActivation`).
 */
export const PROCESS_OVERHEAD = { fixedBytes: 0.25e9, perTensorByte: 0.1, perLargestActivation: 4 } as const;

/**
 * Estimates a training step's memory for `spec` on `[batch, height, width, channels]` inputs
 * (fused kernels, as on the onednn backend).
 * @example estimateStepMemory(resnet152Net, [256, 96, 96, 1]) // Right({ peakRssBytes: 9.9e9, … })
 */
export function estimateStepMemory(spec: Layer, input: Shape): E.Either<SpecError, StepMemory> {
  return E.map((traced: Trace) => {
    const shapes = new Map<string, Shape>(traced.entries.map((entry) => [entry.path, entry.output]));
    const largestActivationBytes = Math.max(
      4 * input.reduce((a, b) => a * b, 1),
      ...[...shapes.values()].map((shape) => 4 * shape.reduce((a, b) => a * b, 1)),
    );
    const params = countParams(spec);
    const paramBytes = 4 * params.trainable;
    const modelBytes = 4 * (2 * params.trainable + params.nonTrainable);
    const replay = new Replay(modelBytes);
    const x = replay.make(input, 2); // the caller's batch: never freed here
    const labels = replay.make([input[0] ?? 1], 1);
    const [logits, backward] = pass(replay, shapes, spec, spec.name, x, false);
    const savedBytes = replay.live - modelBytes - x.bytes - labels.bytes - logits.bytes;
    const dlogits = replay.make(logits.shape);
    replay.make([]); // the loss
    backward(dlogits);
    // SGD: each chunk's new weights and velocities exist beside the old ones until assigned.
    replay.peakWith(Math.min(SGD_CHUNK_ELEMENTS, Math.max(params.trainable, 1)) * 2 * 4);
    const peakTensorBytes = replay.peak;
    const { fixedBytes, perTensorByte, perLargestActivation } = PROCESS_OVERHEAD;
    const peakRssBytes = fixedBytes + (1 + perTensorByte) * peakTensorBytes + perLargestActivation * largestActivationBytes;
    return { paramBytes, modelBytes, savedBytes, peakTensorBytes, largestActivationBytes, peakRssBytes };
  })(trace(spec, input));
}

/**
 * The largest batch (≤ `batch`) whose estimated peak fits in `bytes`, or 0 when not even 1 fits.
 * @example largestBatch(spec, [256, 96, 96, 1], 16e9) // 384 (say)
 */
export function largestBatch(spec: Layer, input: Shape, bytes: number): number {
  const fits = (b: number): boolean => {
    const m = estimateStepMemory(spec, [b, ...input.slice(1)]);
    return E.isRight(m) && m.right.peakRssBytes <= bytes;
  };
  let [lo, hi] = [0, input[0] ?? 1];
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (fits(mid)) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

interface Tensor {
  readonly shape: Shape;
  readonly bytes: number;
  claims: number;
}

// Live tensor bytes, their highest value, and tensors with claims (as gradients.ts's holds).
class Replay {
  live: number;
  peak: number;
  constructor(modelBytes: number) {
    this.live = modelBytes;
    this.peak = modelBytes;
  }
  make(shape: Shape, claims = 1): Tensor {
    const bytes = 4 * shape.reduce((a, b) => a * b, 1);
    this.live += bytes;
    this.peak = Math.max(this.peak, this.live);
    return { shape, bytes, claims };
  }
  /** A temporary of `bytes` that exists for a moment. */
  peakWith(bytes: number): void {
    this.peak = Math.max(this.peak, this.live + bytes);
  }
  hold(t: Tensor): Tensor {
    t.claims++;
    return t;
  }
  release(...tensors: Tensor[]): void {
    for (const t of tensors) {
      t.claims--;
      if (t.claims === 0) this.live -= t.bytes;
    }
  }
}

type Backward = (dy: Tensor) => Tensor | null;
type Pass = readonly [Tensor, Backward];

function pass(r: Replay, shapes: ReadonlyMap<string, Shape>, layer: Layer, path: string, x: Tensor, needDx: boolean): Pass {
  const out = (): Shape => shapes.get(path) ?? x.shape;
  switch (layer._tag) {
    case 'Conv2d':
    case 'Dense': {
      const y = r.make(out());
      const saved = r.hold(x);
      const weights =
        layer._tag === 'Conv2d' ? layer.kernel * layer.kernel * layer.inChannels * layer.outChannels : layer.inFeatures * layer.outFeatures;
      return [
        y,
        (dy) => {
          r.make([weights]); // the weight gradient, kept until the update
          if (layer.bias) r.make([layer._tag === 'Conv2d' ? layer.outChannels : layer.outFeatures]);
          const dx = needDx ? r.make(x.shape) : null;
          r.release(saved, dy);
          return dx;
        },
      ];
    }
    case 'BatchNorm': {
      const y = r.make(out());
      const stats = [r.make([layer.channels]), r.make([layer.channels])];
      const saved = r.hold(x);
      return [
        y,
        (dy) => {
          const dx = r.make(x.shape);
          r.make([layer.channels]);
          r.make([layer.channels]);
          r.release(saved, dy, ...stats);
          if (needDx) return dx;
          r.release(dx);
          return null;
        },
      ];
    }
    case 'Relu':
    case 'MaxPool': {
      const y = r.make(out());
      const saved = layer._tag === 'MaxPool' ? [r.hold(x), r.hold(y)] : [r.hold(y)];
      return [
        y,
        (dy) => {
          const dx = needDx ? r.make(x.shape) : null;
          r.release(...saved, dy);
          return dx;
        },
      ];
    }
    case 'GlobalAvgPool':
      return [
        r.make(out()),
        (dy) => {
          // broadcastTo, then the scaled copy: two maps of the input's size for a moment.
          if (needDx) r.peakWith(x.bytes);
          const dx = needDx ? r.make(x.shape) : null;
          r.release(dy);
          return dx;
        },
      ];
    case 'Sequential':
      return chain(r, shapes, layer.layers, path, x, needDx);
    case 'Residual': {
      const [main, mainBackward] = chain(r, shapes, layer.main, path, x, needDx);
      const [shortcut, shortcutBackward] = chain(r, shapes, layer.shortcut, path, x, needDx);
      const y = r.make(main.shape);
      for (const t of [main, shortcut]) if (t !== x) r.release(t);
      const relu = layer.activation === 'relu';
      if (relu) r.hold(y);
      return [
        y,
        (dy) => {
          const g = relu ? r.make(dy.shape) : dy;
          if (relu) r.release(y, dy);
          r.hold(g);
          const dMain = mainBackward(g);
          const dShortcut = shortcutBackward(g);
          if (dMain === null || dShortcut === null) {
            r.release(...[dMain, dShortcut].filter((t): t is Tensor => t !== null));
            return null;
          }
          const dx = r.make(x.shape);
          r.release(dMain, dShortcut);
          return dx;
        },
      ];
    }
    default:
      return absurd(layer);
  }
}

function chain(r: Replay, shapes: ReadonlyMap<string, Shape>, layers: readonly Layer[], path: string, x: Tensor, needDx: boolean): Pass {
  const backwards: Backward[] = [];
  let h = x;
  for (let i = 0; i < layers.length; i++) {
    const layer = layers[i] as Layer;
    const childNeedDx = i === 0 ? needDx : true;
    // A batch norm and its ReLU run as one kernel (gradients.ts): one output, saved for ReLU's gradient.
    const withRelu = layer._tag === 'BatchNorm' && layers[i + 1]?._tag === 'Relu';
    const [y, backward] = withRelu
      ? batchNormRelu(r, shapes, layer, childPath(path, layer.name), h, childNeedDx)
      : pass(r, shapes, layer, childPath(path, layer.name), h, childNeedDx);
    if (withRelu) i++;
    if (h !== x) r.release(h);
    h = y;
    backwards.push(backward);
  }
  return [
    h,
    (dy) => {
      let g: Tensor | null = dy;
      for (let i = backwards.length - 1; i >= 0 && g !== null; i--) g = (backwards[i] as Backward)(g);
      return g;
    },
  ];
}

function batchNormRelu(r: Replay, shapes: ReadonlyMap<string, Shape>, layer: Layer, path: string, x: Tensor, needDx: boolean): Pass {
  const [y, backward] = pass(r, shapes, layer, path, x, needDx);
  r.hold(y);
  return [
    y,
    (dy) => {
      const dx = backward(dy); // the kernel takes dy through ReLU's gradient itself
      r.release(y);
      return dx;
    },
  ];
}

function absurd(layer: never): never {
  throw new Error(`estimateStepMemory does not know layer ${JSON.stringify(layer)}`);
}
