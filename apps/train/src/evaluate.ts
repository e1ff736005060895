/**
 * `nx run train:evaluate --run=<dir>` as a function of parsed flags — test accuracy,
 * per-class accuracy and the confusion matrix of a run's saved model (its final model/,
 * else its last checkpoint), optionally written as the run's evaluation.json (`--json`, which
 * report:serve shows), and optionally every image's prediction as JSON.
 * evaluate_main.ts runs it.
 */
import { existsSync } from 'node:fs';
import { dirname } from 'node:path';
import * as E from 'fp-ts/Either';
import { command, commandLine, type Command, type Parsed, type Schema } from '@resnet/cli';
import { writeFileAtomic } from '@resnet/files';
import { selectBackend, BACKEND_CHOICES } from '@resnet/backend';
import { CLASS_NAMES, describeSource, loadFashionMnist } from '@resnet/fashion-mnist';
import { initModel } from '@resnet/tfjs';
import { runSpec } from '@resnet/recipe';
import {
  EVALUATION_FILE,
  evaluationFile,
  openRun,
  perClassAccuracy,
  runWeights,
  writeEvaluation,
  type EvaluatedWeights,
} from '@resnet/run-dir';
import { evaluate, limitSplit, restoreTensors } from '@resnet/training';
import { formatDuration } from '@resnet/format';
import { dataOptions } from './config.ts';
import { runErrorMessage } from './run_output.ts';

const FLAGS = {
  run: { kind: 'string', default: null, help: 'run directory written by train:serve (required)' },
  'mini-batch': { kind: 'int', min: 1, max: 65_536, default: 256, help: 'examples per inference batch' },
  'test-limit': { kind: 'int', min: 1, max: 10_000, default: null, help: 'evaluate only the first N test images (default: all 10,000)' },
  json: {
    kind: 'string',
    default: null,
    help: `also write the accuracy, per-class accuracy and confusion matrix to this JSON file; report:serve shows <run>/${EVALUATION_FILE}`,
    output: 'file',
  },
  predictions: {
    kind: 'string',
    default: null,
    help: "also write every evaluated image's label, predicted class and class probabilities to this JSON file",
    output: 'file',
  },
  'data-dir': { kind: 'string', default: null, help: 'folder with the four Fashion-MNIST .gz files' },
  backend: { kind: 'enum', values: BACKEND_CHOICES, default: 'auto', help: 'tfjs backend' },
} as const satisfies Schema;

/** `npx nx run train:evaluate`. */
export const EVALUATE: Command<typeof FLAGS> = command('train:evaluate', {
  summary: "Evaluates a run's saved model (or its last checkpoint) on the Fashion-MNIST test set: accuracy, per class, confusion matrix.",
  flags: FLAGS,
});

/** What `--predictions` writes. */
export interface PredictionsFile {
  readonly run: string;
  readonly weights: string;
  readonly classNames: readonly string[];
  readonly predictions: readonly {
    readonly index: number;
    readonly label: number;
    readonly predicted: number;
    readonly probabilities: readonly number[];
  }[];
}

/**
 * Evaluates; returns the exit code (0 done, 1 bad run data or backend, 2 bad command line).
 * `args`, the command line as given, is recorded in the `--json` file.
 * @example await evaluateRun({ ...defaults, run: 'runs/smoke' }, ['--run=runs/smoke']) // 0
 */
export async function evaluateRun(flags: Parsed<typeof FLAGS>, args: readonly string[] = []): Promise<number> {
  if (flags.run === null) return fail('--run=<dir> is required: the run directory written by train:serve', 2);
  // --json and --predictions were checked with the flags (a folder that can take the file); their folder must exist.
  for (const [flag, path] of [
    ['predictions', flags.predictions],
    ['json', flags.json],
  ] as const) {
    if (path !== null && !existsSync(dirname(path) || '.')) return fail(`--${flag}=${path}: the folder ${dirname(path)} does not exist`, 2);
  }
  const run = openRun(flags.run);
  if (E.isLeft(run)) return fail(runErrorMessage(run.left), 2);
  const config = run.right.config;
  if (config.reference !== null)
    return fail(
      `${flags.run} is a reference run made by ${config.reference.script ?? config.reference.framework}: it keeps no weights for train:evaluate; its ${EVALUATION_FILE} holds the final model's evaluation`,
      2,
    );
  const weights = runWeights(flags.run, run.right);
  if (weights === null)
    return fail(
      `${flags.run} has no saved model or checkpoint yet (it has not finished an epoch); continue training it with: npx nx run train:serve --resume=${flags.run}`,
      2,
    );
  const spec = runSpec(config);
  if (E.isLeft(spec)) return fail(spec.left.message, 2);

  const backend = await selectBackend(flags.backend, { purpose: 'inference' });
  if (E.isLeft(backend)) return fail(backend.left.message, 1);
  const data = await loadFashionMnist(dataOptions(flags['data-dir']));
  if (E.isLeft(data)) return fail(data.left.message, 1);
  const testSet = limitSplit(data.right.test, flags['test-limit']);

  const model = initModel(spec.right.net);
  const restored = restoreTensors(weights.dir, { params: model.params, state: model.state });
  if (E.isLeft(restored)) return fail(restored.left, 1);
  const evaluated = evaluatedWeights(weights, restored.right, run.right.metrics.length);
  console.log(`backend: ${backend.right.reason}`);
  console.log(describeSource(data.right.source));
  console.log(
    `model: ResNet-${config.variant} ${config.version} from ${weights.dir}${weights.final ? '' : ' (the run has no final model yet: its last checkpoint)'}`,
  );
  // A run that has not finished an epoch has no test accuracy of its own to compare with.
  if (run.right.metrics.length > 0 && config.testLimit !== flags['test-limit']) {
    const theirs = config.testLimit === null ? 'all 10,000 test images' : `the first ${config.testLimit} test images`;
    console.log(
      `note: the run's test accuracy was measured on ${theirs} (--test-limit); this evaluation uses ${flags['test-limit'] === null ? 'all 10,000' : `the first ${flags['test-limit']}`}, so the numbers can differ`,
    );
  }

  const started = Date.now();
  const tty = process.stderr.isTTY === true;
  let lastDecile = -1;
  const result = evaluate(model, testSet, {
    batchSize: flags['mini-batch'],
    imageSize: config.imageSize,
    classes: config.classes,
    predictions: flags.predictions !== null,
    onProgress: (done, total) => {
      const seconds = (Date.now() - started) / 1000;
      const eta = formatDuration((seconds / done) * (total - done), { style: 'compact' });
      const line = `evaluating ${done}/${total} images, ${(done / Math.max(seconds, 1e-3)).toFixed(0)} images/s, ETA ${eta}`;
      if (tty) process.stderr.write(`\r${line}\x1b[K${done === total ? '\n' : ''}`);
      else if (Math.floor((done / total) * 10) !== lastDecile) {
        lastDecile = Math.floor((done / total) * 10);
        process.stderr.write(`${line}\n`);
      }
    },
  });
  console.log(`test acc ${(result.correct / result.count).toFixed(4)} (${result.correct}/${result.count})`);
  console.log('');
  console.log('per-class accuracy:');
  const perClass = perClassAccuracy(result.confusion);
  result.confusion.forEach((row, i) => {
    const total = row.reduce((a, b) => a + b, 0);
    const accuracy = perClass[i] ?? null;
    console.log(
      `  ${String(i)} ${(CLASS_NAMES[i] ?? '').padEnd(12)} ${accuracy === null ? '   -  ' : accuracy.toFixed(4)}  (${row[i] ?? 0}/${total})`,
    );
  });
  console.log('');
  console.log('confusion matrix (rows: true class, columns: predicted):');
  const width = Math.max(4, ...result.confusion.flat().map((n) => String(n).length + 1));
  console.log(`      ${result.confusion.map((_, j) => String(j).padStart(width)).join('')}`);
  result.confusion.forEach((row, i) => console.log(`  ${String(i).padStart(2)}  ${row.map((n) => String(n).padStart(width)).join('')}`));
  if (flags.json !== null) {
    writeEvaluation(
      flags.json,
      evaluationFile({ config, weights: evaluated, confusion: result.confusion, command: commandLine('train:evaluate', args) }),
    );
    console.log(`\nevaluation of ${result.count} images: ${flags.json}`);
  }
  if (flags.predictions !== null && result.predictions !== null) {
    const file: PredictionsFile = { run: flags.run, weights: weights.dir, classNames: CLASS_NAMES, predictions: result.predictions };
    writeFileAtomic(flags.predictions, `${JSON.stringify(file)}\n`);
    console.log(`\npredictions of ${result.predictions.length} images: ${flags.predictions}`);
  }
  return 0;
}

/** Which weights were evaluated: the final model (its manifest records its epochs), or the latest checkpoint. */
function evaluatedWeights(
  weights: { readonly final: boolean; readonly latest: { readonly epoch: number; readonly step: number } | null },
  meta: unknown,
  epochsDone: number,
): EvaluatedWeights {
  if (!weights.final && weights.latest !== null) return { _tag: 'Checkpoint', epoch: weights.latest.epoch, step: weights.latest.step };
  const epochs = (meta as { readonly epochs?: unknown } | null)?.epochs;
  return { _tag: 'Final', epoch: typeof epochs === 'number' && Number.isInteger(epochs) ? epochs : epochsDone };
}

function fail(message: string, code: number): number {
  console.error(`evaluate: ${message}`);
  return code;
}
