/**
 * Timing one configuration on the active tfjs backend, on a fixed random batch, `warmup`
 * untimed steps, then the median of `steps` timed ones. A training step is the training
 * loop's own (`trainStep`: forward in training mode, cross-entropy, gradients, SGD update);
 * an inference step is what the test pass (`evaluate`) does per batch: the forward pass in
 * inference mode and the argmax, read back.
 */
import * as tf from '@tensorflow/tfjs';
import { getKernelsForBackend, registerKernel, unregisterKernel, type KernelConfig } from '@tensorflow/tfjs-core';
import * as E from 'fp-ts/Either';
import { resnet } from '@resnet/variants';
import { disposeModel, estimateStepMemory, forward, initModel } from '@resnet/tfjs';
import { createSgdState, disposeSgdState, trainStep, type SgdConfig } from '@resnet/training';
import { median, type BenchConfig } from './plan.ts';

/**
 * The default training protocol's optimiser (Nesterov momentum 0.9, weight decay 5e-4 on conv/dense weights), without
 * its gradient-norm clipping: tools/bench_torch.py's PyTorch step does not clip either, and the README's speed figures
 * were measured so. What clipping adds to a step is measured with `train:serve --clip-norm` (README, train:serve).
 */
export const BENCH_SGD: SgdConfig = { momentum: 0.9, nesterov: true, weightDecay: 5e-4 };

/** How long to measure. */
export interface Timing {
  readonly steps: number;
  readonly warmup: number;
  /** Also time every kernel (a little overhead per call) and report the top ones. */
  readonly profile: boolean;
  /** With `profile`: time convolution kernels per input shape (`Conv2D x[…] filter[…]`). */
  readonly profileShapes?: boolean;
  /** Let the interpreter and optimiser use the backend's fused kernels (default protocol: true). */
  readonly fused: boolean;
  /** Called after each step with its index (warm-up steps are negative) and seconds. */
  readonly onStep?: (step: number, seconds: number) => void;
}

/** Time spent in one kernel per step. */
export interface KernelTime {
  readonly kernel: string;
  readonly msPerStep: number;
  readonly callsPerStep: number;
}

/** A tfjs measurement. */
export interface TfjsResult {
  readonly examplesPerSec: number;
  readonly medianStepMs: number;
  readonly stepMs: readonly number[];
  /** Present with `profile`: kernels by time, largest first. */
  readonly kernels?: readonly KernelTime[];
  /** tfjs's count of tensor bytes at its highest during one more (untimed) step, model and optimizer state included. */
  readonly peakTensorBytes: number;
  /** What `estimateStepMemory` predicts for the process's peak, before any tensor exists (training steps only, else null). */
  readonly estimatedRssBytes: number | null;
}

/**
 * Runs `config` for `warmup + steps` steps on the active backend and returns the median
 * throughput, then one more step for tfjs's peak tensor bytes. Leaves no tensor behind (checked: throws if `tf.memory().numTensors` grew).
 * @example const r = await measureTfjs({ mode: 'train', variant: 18, imageSize: 28, batchSize: 128 }, { steps: 10, warmup: 2, profile: false, fused: true });
 */
export async function measureTfjs(config: BenchConfig, timing: Timing): Promise<TfjsResult> {
  const spec = resnet(config.variant, { version: 'v1.5', inChannels: 1, classes: 10, stem: 'imagenet' });
  if (E.isLeft(spec)) throw new Error(spec.left.message);
  const tensorsBefore = tf.memory().numTensors;
  const model = initModel(spec.right.net, { seed: 0, zeroInitResidual: true });
  const sgd = createSgdState(model.params);
  const x = tf.randomNormal([config.batchSize, config.imageSize, config.imageSize, 1], 0, 1, 'float32', 1) as tf.Tensor4D;
  const y = tf.tensor1d(
    Array.from({ length: config.batchSize }, (_, i) => i % 10),
    'int32',
  );
  const options = { sgd: { ...BENCH_SGD, fused: timing.fused }, classes: 10, labelSmoothing: 0, fused: timing.fused };
  const step = (): number => {
    const began = performance.now();
    if (config.mode === 'infer') {
      const predicted = tf.tidy(() => tf.argMax(forward(model, x, { training: false, fused: timing.fused }), 1));
      predicted.dataSync(); // as evaluate reads each batch's classes, and the PyTorch peer its argmax
      predicted.dispose();
    } else {
      const { loss, correct } = trainStep({ model, sgd, x, y, lr: 0.01, options });
      loss.dataSync(); // wait for the step, as the PyTorch peer's loss.item() does
      tf.dispose([loss, correct]);
    }
    return (performance.now() - began) / 1000;
  };
  let result: TfjsResult;
  try {
    for (let i = 0; i < timing.warmup; i++) timing.onStep?.(i - timing.warmup, step());
    const timer = timing.profile ? startKernelTimer(tf.getBackend(), timing.profileShapes === true) : undefined;
    const seconds: number[] = [];
    try {
      for (let i = 0; i < timing.steps; i++) {
        await new Promise<void>((resolve) => setImmediate(resolve)); // let Ctrl-C through
        seconds.push(step());
        timing.onStep?.(i, seconds[seconds.length - 1] ?? NaN);
      }
    } finally {
      timer?.stop();
    }
    const mid = median(seconds);
    // tf.profile hands back one shared object: keep the number.
    const peakTensorBytes = (await tf.profile(() => void step())).peakBytes;
    const estimate =
      config.mode === 'train' ? estimateStepMemory(spec.right.net, [config.batchSize, config.imageSize, config.imageSize, 1]) : null;
    const estimatedRssBytes = estimate !== null && E.isRight(estimate) ? estimate.right.peakRssBytes : null;
    result = {
      examplesPerSec: config.batchSize / mid,
      medianStepMs: mid * 1000,
      stepMs: seconds.map((s) => s * 1000),
      peakTensorBytes,
      estimatedRssBytes,
      ...(timer === undefined ? {} : { kernels: timer.totals(timing.steps) }),
    };
  } finally {
    tf.dispose([x, y]);
    disposeSgdState(sgd);
    disposeModel(model);
  }
  const leaked = tf.memory().numTensors - tensorsBefore;
  if (leaked !== 0) throw new Error(`${leaked} tensors leaked by ResNet-${config.variant} training steps on ${tf.getBackend()}`);
  return result;
}

/**
 * Wraps every kernel of `backend` with a wall-clock timer until `stop()`. Kernels of the
 * cpu-storage backends (cpu, onednn) are synchronous, so this is their real cost.
 */
function startKernelTimer(backend: string, byShape: boolean): { stop(): void; totals(steps: number): KernelTime[] } {
  const originals: KernelConfig[] = getKernelsForBackend(backend).map((k) => ({ ...k }));
  const totals = new Map<string, { ms: number; calls: number }>();
  for (const k of originals) {
    unregisterKernel(k.kernelName, backend);
    registerKernel({
      ...k,
      kernelFunc: (params) => {
        const began = performance.now();
        try {
          return k.kernelFunc(params);
        } finally {
          const key =
            byShape && k.kernelName.startsWith('Conv2D')
              ? `${k.kernelName} ${Object.entries(params.inputs)
                  .map(([name, t]) => `${name}[${(t?.shape ?? []).join(',')}]`)
                  .join(' ')}`
              : k.kernelName;
          const t = totals.get(key) ?? { ms: 0, calls: 0 };
          t.ms += performance.now() - began;
          t.calls += 1;
          totals.set(key, t);
        }
      },
    });
  }
  return {
    stop: () => {
      for (const k of originals) {
        unregisterKernel(k.kernelName, backend);
        registerKernel(k);
      }
    },
    totals: (steps) =>
      [...totals]
        .map(([kernel, t]) => ({ kernel, msPerStep: t.ms / steps, callsPerStep: t.calls / steps }))
        .sort((a, b) => b.msPerStep - a.msPerStep),
  };
}
