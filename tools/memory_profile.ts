// Where a training step's memory goes, by kind: the process before any model, the model
// (weights, SGD velocities, batch-norm statistics), the batch, the activations saved for the
// backward pass (estimateStepMemory's replay), tfjs's tensor peak (counted over a real step, and
// as the replay predicts it), the onednn backend's spare output buffers, oneDNN's scratch arena
// and bf16 copies, and the process's resident peak. libs/onednn/README.md (Memory) quotes it.
//
//   TSX_TSCONFIG_PATH=tsconfig.base.json npx tsx tools/memory_profile.ts --variant 152 --image-size 96 --mini-batch 256
//   TSX_TSCONFIG_PATH=tsconfig.base.json npx tsx tools/memory_profile.ts --variant 18 --precision bf16
import * as E from 'fp-ts/Either';
import * as tf from '@tensorflow/tfjs';
import { processMemory, resetPeakRss, selectBackend } from '../libs/backend/src/mod.ts';
import { formatGb } from '../libs/format/src/mod.ts';
import type { Precision } from '../libs/recipe/src/mod.ts';
import { onednnStats, onednnStatus } from '../libs/onednn/src/mod.ts';
import { disposeModel, estimateStepMemory, initModel } from '../libs/tfjs/src/mod.ts';
import { createSgdState, disposeSgdState, trainStep } from '../libs/training/src/mod.ts';
import { resnet } from '../libs/variants/src/mod.ts';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(name);
  return i >= 0 ? (process.argv[i + 1] ?? fallback) : fallback;
}

async function main(): Promise<void> {
  const variant = Number(arg('--variant', '152'));
  const size = Number(arg('--image-size', '28'));
  const batch = Number(arg('--mini-batch', '128'));
  const steps = Number(arg('--steps', '2'));
  const precision = arg('--precision', 'fp32') as Precision;
  const chosen = await selectBackend('onednn', { precision });
  if (E.isLeft(chosen)) throw new Error(chosen.left.message);
  const spec = resnet(variant, { version: 'v1.5', inChannels: 1, classes: 10, stem: 'imagenet' });
  if (E.isLeft(spec)) throw new Error(spec.left.message);
  const estimate = estimateStepMemory(spec.right.net, [batch, size, size, 1]);
  if (E.isLeft(estimate)) throw new Error(estimate.left.message);
  resetPeakRss();
  const process0 = processMemory()?.rssBytes ?? NaN;

  const model = initModel(spec.right.net, { seed: 0, zeroInitResidual: true });
  const sgd = createSgdState(model.params);
  const x = tf.randomNormal([batch, size, size, 1], 0, 1, 'float32', 1) as tf.Tensor4D;
  const y = tf.tensor1d(
    Array.from({ length: batch }, (_, i) => i % 10),
    'int32',
  );
  const modelBytes = tf.memory().numBytes - 4 * (x.size + y.size);
  const step = () => {
    const r = trainStep({
      model,
      sgd,
      x,
      y,
      lr: 0.01,
      options: { sgd: { momentum: 0.9, nesterov: true, weightDecay: 5e-4 }, classes: 10, labelSmoothing: 0 },
    });
    r.loss.dataSync();
    tf.dispose([r.loss, r.correct]);
  };
  for (let i = 0; i < steps; i++) {
    const began = performance.now();
    step();
    console.error(
      `step ${i + 1}/${steps}: ${((performance.now() - began) / 1000).toFixed(1)} s, peak RSS so far ${formatGb(processMemory()?.peakRssBytes ?? NaN)}`,
    );
  }
  const tensorPeak = (await tf.profile(step)).peakBytes;
  const info = onednnStatus();
  const spare = onednnStats().buffers.pooledBytes;
  const peak = processMemory()?.peakRssBytes ?? NaN;
  const e = estimate.right;
  const line = (what: string, bytes: number, note = '') => console.log(`| ${what} | ${formatGb(bytes)} | ${note} |`);
  console.log(`ResNet-${variant} ${size}×${size} batch ${batch}, ${precision}, ${chosen.right.device}; ${steps + 1} steps\n`);
  console.log('| kind | bytes | how known |\n|---|---:|---|');
  line('Node, tfjs and the addon before the model', process0, 'VmRSS');
  line('model: weights, SGD velocities, batch-norm statistics', modelBytes, 'tfjs count');
  line('the batch', 4 * (x.size + y.size), 'tfjs count');
  line('activations saved for the backward pass (end of forward)', e.savedBytes, 'estimateStepMemory replay');
  line('tensors at the step’s peak', tensorPeak, `tfjs count (replay: ${formatGb(e.peakTensorBytes)})`);
  line('spare output buffers of the onednn pool (after the step)', spare, 'onednnStats().buffers.pooledBytes');
  line('oneDNN scratch arena', info.ok ? info.info.arenaBytes : NaN, 'addon info().arenaBytes');
  line('bf16 copies kept for reuse', info.ok ? info.info.convertedBytes : NaN, 'addon info().convertedBytes');
  line('process peak (resident)', peak, `VmHWM (estimate: ${formatGb(e.peakRssBytes)})`);
  tf.dispose([x, y]);
  disposeSgdState(sgd);
  disposeModel(model);
}

void main();
