/**
 * `nx run train:evaluate --run=<dir>` — test accuracy, per-class accuracy and the
 * confusion matrix of a run's saved model (its final model/, else its last checkpoint).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import * as E from 'fp-ts/Either';
import { appArgs, helpText, parseFlags, runApp, type Schema } from '@resnet/cli';
import { selectBackend, BACKEND_CHOICES } from '@resnet/backend';
import { CLASS_NAMES, describeSource, loadFashionMnist } from '@resnet/fashion-mnist';
import { initModel } from '@resnet/tfjs';
import { evaluate, openRun, restoreTensors } from '@resnet/training';
import { resnet } from '@resnet/variants';
import type { TrainConfig } from './config.ts';
import { limitSplit } from './limit.ts';

const FLAGS = {
  run: { kind: 'string', default: null, help: 'run directory written by train:serve (required)' },
  'batch-size': { kind: 'int', min: 1, max: 65_536, default: 256, help: 'examples per inference batch' },
  'test-limit': { kind: 'int', min: 1, max: 10_000, default: null, help: 'evaluate only the first N test images' },
  'data-dir': { kind: 'string', default: null, help: 'folder with the four Fashion-MNIST .gz files' },
  backend: { kind: 'enum', values: BACKEND_CHOICES, default: 'auto', help: 'tfjs backend' },
} as const satisfies Schema;

async function main(args: readonly string[]): Promise<number> {
  const parsed = parseFlags(args, FLAGS);
  if (E.isLeft(parsed)) {
    if (parsed.left._tag === 'Help') {
      console.log(helpText('npx nx run train:evaluate -- --run=<dir>', "Evaluates a run's saved model on the Fashion-MNIST test set.", FLAGS));
      return 0;
    }
    return fail(parsed.left.message, 2);
  }
  const flags = parsed.right;
  if (flags.run === null) return fail('--run=<dir> is required: the run directory written by train:serve', 2);
  const run = openRun<TrainConfig>(flags.run);
  if (E.isLeft(run)) return fail(run.left.message, 2);
  const config = run.right.config;
  const final = join(flags.run, 'model');
  const latest = run.right.latest;
  const weightsDir = existsSync(final) ? final : latest === null ? null : join(flags.run, 'checkpoints', latest.checkpoint);
  if (weightsDir === null) return fail(`${flags.run} has no saved model or checkpoint yet`, 2);
  const spec = resnet(config.variant, { version: config.version, inChannels: 1, classes: config.classes, stem: config.stem });
  if (E.isLeft(spec)) return fail(spec.left.message, 2);

  const backend = await selectBackend(flags.backend, { purpose: 'inference' });
  if (E.isLeft(backend)) return fail(backend.left.message, 1);
  const data = await loadFashionMnist({ ...(flags['data-dir'] === null ? {} : { dataDir: flags['data-dir'] }), download: true });
  if (E.isLeft(data)) return fail(data.left.message, 1);
  const testSet = limitSplit(data.right.test, flags['test-limit']);

  const model = initModel(spec.right.net);
  const restored = restoreTensors(weightsDir, { params: model.params, state: model.state });
  if (E.isLeft(restored)) return fail(restored.left, 1);
  console.log(`backend: ${backend.right.reason}`);
  console.log(describeSource(data.right.source));
  console.log(`model: ResNet-${config.variant} ${config.version} from ${weightsDir}`);

  const result = evaluate(model, testSet, { batchSize: flags['batch-size'], imageSize: config.imageSize, classes: config.classes });
  console.log(`test acc ${(result.correct / result.count).toFixed(4)} (${result.correct}/${result.count})`);
  console.log('');
  console.log('per-class accuracy:');
  result.confusion.forEach((row, i) => {
    const total = row.reduce((a, b) => a + b, 0);
    console.log(`  ${String(i)} ${(CLASS_NAMES[i] ?? '').padEnd(12)} ${total === 0 ? '   -  ' : ((row[i] ?? 0) / total).toFixed(4)}  (${row[i] ?? 0}/${total})`);
  });
  console.log('');
  console.log('confusion matrix (rows: true class, columns: predicted):');
  const width = Math.max(4, ...result.confusion.flat().map((n) => String(n).length + 1));
  console.log(`      ${result.confusion.map((_, j) => String(j).padStart(width)).join('')}`);
  result.confusion.forEach((row, i) => console.log(`  ${String(i).padStart(2)}  ${row.map((n) => String(n).padStart(width)).join('')}`));
  return 0;
}

function fail(message: string, code: number): number {
  console.error(`evaluate: ${message}`);
  return code;
}

runApp('evaluate', () => main(appArgs(process.argv.slice(2), 'train:evaluate')));
