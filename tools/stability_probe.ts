// Why do the bottleneck variants spike at the peak learning rate (issue 24, item 3)? Trains one
// variant on Fashion-MNIST with the default protocol's pipeline (crop + flip, the same batches,
// seeds and cosine schedule as train:serve) and records, for every step, the batch's loss, the
// global gradient norm, the largest per-tensor gradient norm (and which tensor), and the norms of
// the residual branches' last batch-norm scales (zero at initialisation). Knobs for the candidate
// fixes: the peak rate, the warm-up length, gradient-norm clipping, zero-initialised residuals.
// One JSON line per step, and one per epoch with the test accuracy, into --out.
//
//   TSX_TSCONFIG_PATH=tsconfig.base.json npx tsx tools/stability_probe.ts --variant 50 --epochs 3 --out runs/stability/r50-base.jsonl
//   … --lr 0.05 | --warmup-epochs 3 | --clip 2 | --no-zero-init | --seed 1
import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import * as E from 'fp-ts/Either';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../libs/backend/src/mod.ts';
import { loadFashionMnist } from '../libs/fashion-mnist/src/mod.ts';
import { learningRate, type Schedule } from '../libs/recipe/src/mod.ts';
import { disposeModel, initModel, modelGradients } from '../libs/tfjs/src/mod.ts';
import {
  accuracyCount,
  createSgdState,
  crossEntropyWithGradient,
  disposeSgdState,
  epochOrder,
  evaluate,
  makeBatch,
  planBatches,
  sgdStep,
} from '../libs/training/src/mod.ts';
import { resnet } from '../libs/variants/src/mod.ts';
import { weightSchema } from '../libs/spec/src/mod.ts';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(name);
  return i >= 0 ? (process.argv[i + 1] ?? fallback) : fallback;
}

async function main(): Promise<void> {
  const variant = Number(arg('--variant', '50'));
  const epochs = Number(arg('--epochs', '3'));
  const totalEpochs = Number(arg('--total-epochs', '10')); // the schedule's length (the probe may stop early)
  const peak = Number(arg('--lr', '0.1'));
  const warmupEpochs = Number(arg('--warmup-epochs', '1'));
  const clip = Number(arg('--clip', '0')); // 0: no clipping
  const seed = Number(arg('--seed', '0'));
  const batchSize = Number(arg('--mini-batch', '128'));
  const trainLimit = Number(arg('--train-limit', '60000'));
  const zeroInitResidual = !process.argv.includes('--no-zero-init');
  const out = arg('--out', `runs/stability/r${variant}.jsonl`);
  // Norms cost a reduction over every gradient (23M numbers for ResNet-50, ~3× a step's time here):
  // every --norm-every steps, and every step when clipping needs them.
  const normEvery = clip > 0 ? 1 : Number(arg('--norm-every', '10'));

  const chosen = await selectBackend('onednn', { precision: 'fp32' });
  if (E.isLeft(chosen)) throw new Error(chosen.left.message);
  const data = await loadFashionMnist();
  if (E.isLeft(data)) throw new Error(data.left.message);
  const trainSet = { ...data.right.train, count: Math.min(trainLimit, data.right.train.count) };
  const testSet = data.right.test;
  const spec = resnet(variant, { version: 'v1.5', inChannels: 1, classes: 10, stem: 'imagenet' });
  if (E.isLeft(spec)) throw new Error(spec.left.message);
  const model = initModel(spec.right.net, { seed, zeroInitResidual });
  const sgd = createSgdState(model.params);
  const sgdConfig = { momentum: 0.9, nesterov: true, weightDecay: 5e-4 };
  const schedule: Schedule = { _tag: 'Cosine', lr: peak, warmupEpochs, floor: 0 };
  const augment = { crop: true, flip: true };
  const lossOptions = { numClasses: 10, labelSmoothing: 0 };
  // The residual branches' last batch-norm scales: the ones zero-initialised.
  const keys = [...model.params.keys()];
  const lastGammas = weightSchema(spec.right.net)
    .filter((w) => w.role._tag === 'BatchNormScale' && w.role.closesResidual)
    .map((w) => w.name);

  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(
    out,
    JSON.stringify({
      kind: 'config',
      variant,
      epochs,
      totalEpochs,
      peak,
      warmupEpochs,
      clip,
      seed,
      batchSize,
      trainLimit,
      zeroInitResidual,
      device: chosen.right.device,
      lastGammas: lastGammas.length,
    }) + '\n',
  );
  const began = performance.now();
  for (let epoch = 0; epoch < epochs; epoch++) {
    const batches = planBatches(epochOrder(trainSet.count, { seed, epoch, shuffle: true }), batchSize, { dropLast: false });
    let lossSum = 0;
    let correctSum = 0;
    let seen = 0;
    for (let step = 0; step < batches.length; step++) {
      const indices = batches[step]!;
      const lr = learningRate(schedule, { epoch, step, stepsPerEpoch: batches.length, totalEpochs });
      const { x, y } = makeBatch(trainSet, indices, { imageSize: 28, augment, seed, epoch, step });
      const { loss, logits, grads } = modelGradients(model, x, (z) => crossEntropyWithGradient(z, y, lossOptions));
      const measure = step % normEvery === 0;
      const norms: ArrayLike<number> = measure ? tf.tidy(() => tf.stack([...grads.values()].map((g) => tf.norm(g))).dataSync()) : [];
      const total = Math.sqrt(Array.from(norms).reduce((a, n) => a + n * n, 0));
      let largest = 0;
      for (let i = 1; i < norms.length; i++) if ((norms[i] ?? 0) > (norms[largest] ?? 0)) largest = i;
      const scale = clip > 0 && total > clip ? clip / total : 1;
      const used = scale === 1 ? grads : new Map([...grads].map(([k, g]) => [k, tf.tidy(() => tf.mul(g, scale))] as [string, tf.Tensor]));
      sgdStep(model, used, sgd, lr, sgdConfig);
      const correct = tf.tidy(() => accuracyCount(logits, y).dataSync()[0] ?? NaN);
      const lossValue = loss.dataSync()[0] ?? NaN;
      const gammaNorm = measure
        ? tf.tidy(() => Math.sqrt(lastGammas.reduce((a, k) => a + (tf.sum(tf.square(model.params.get(k)!)).dataSync()[0] ?? 0), 0)))
        : null;
      tf.dispose([loss, logits, x, y, ...grads.values(), ...(scale === 1 ? [] : used.values())]);
      lossSum += lossValue * indices.length;
      correctSum += correct;
      seen += indices.length;
      appendFileSync(
        out,
        JSON.stringify({
          kind: 'step',
          epoch: epoch + 1,
          step: step + 1,
          lr,
          loss: lossValue,
          acc: correct / indices.length,
          gradNorm: measure ? total : null,
          largest: measure ? norms[largest] : null,
          largestName: measure ? keys[largest] : null,
          clipped: scale !== 1,
          lastGammaNorm: gammaNorm,
        }) + '\n',
      );
      if (step % 50 === 0)
        console.error(
          `epoch ${epoch + 1} step ${step + 1}/${batches.length} loss ${lossValue.toFixed(3)} |g| ${measure ? total.toFixed(2) : '-'} lr ${lr.toFixed(4)} ${((performance.now() - began) / 1000).toFixed(0)} s`,
        );
    }
    const test = evaluate(model, testSet, { batchSize, imageSize: 28, classes: 10 });
    const line = {
      kind: 'epoch',
      epoch: epoch + 1,
      loss: lossSum / seen,
      trainAcc: correctSum / seen,
      testAcc: test.correct / test.count,
      seconds: (performance.now() - began) / 1000,
    };
    appendFileSync(out, JSON.stringify(line) + '\n');
    console.error(JSON.stringify(line));
  }
  disposeSgdState(sgd);
  disposeModel(model);
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? (e.stack ?? e.message) : String(e));
  process.exit(1);
});
