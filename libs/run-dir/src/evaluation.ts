/**
 * A run's evaluation.json: the test confusion matrix and per-class accuracy of one set of its
 * weights, written by `train:evaluate --json=FILE` (and by tools/torch_reference.py for its
 * final model), so a report can show them for runs whose weights are not kept (committed runs
 * hold only config.json and metrics.jsonl). Types, the writer and the validating reader.
 *
 *     {
 *       "format": "resnet-ts/evaluation@1",
 *       "run": {"variant":18,"createdAt":"2026-12-02T08:09:31.467Z"},   the run's identity (config.json)
 *       "weights": {"_tag":"Final","epoch":10},                          or {"_tag":"Checkpoint","epoch":3,"step":0}
 *       "testImages": 10000, "correct": 9088, "accuracy": 0.9088,
 *       "perClassAccuracy": [0.85, …],                                   diagonal / row sum; null for a class with no image
 *       "confusion": [[850, 1, …], …],                                   confusion[true][predicted]
 *       "command": "npx nx run train:evaluate --run=… --json=…"
 *     }
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as t from 'io-ts';
import * as E from 'fp-ts/Either';
import { absurd } from 'fp-ts/function';
import { writeFileAtomic } from '@resnet/files';
import { decode, describeFailure, finite, int, named, withDefault } from './codec.ts';
import type { RunConfig } from './config.ts';

/** Format tag of evaluation.json. */
export const EVALUATION_FORMAT = 'resnet-ts/evaluation@1';

/** The file's name inside a run directory, where report:serve looks for it. */
export const EVALUATION_FILE = 'evaluation.json';

/** Which of a run's weights were evaluated. */
export const EvaluatedWeightsCodec = named(
  t.union([
    /** The final model, after `epoch` epochs. */
    t.type({ _tag: t.literal('Final'), epoch: int(0) }),
    /** A checkpoint after `epoch` epochs and `step` steps of the next. */
    t.type({ _tag: t.literal('Checkpoint'), epoch: int(0), step: int(0) }),
  ]),
  '{ "_tag": "Final", "epoch": N } or { "_tag": "Checkpoint", "epoch": N, "step": S }',
);
export type EvaluatedWeights = Readonly<t.TypeOf<typeof EvaluatedWeightsCodec>>;

const isSquareCounts = (u: unknown): u is readonly (readonly number[])[] =>
  Array.isArray(u) &&
  u.length > 0 &&
  u.every((row) => Array.isArray(row) && row.length === u.length && row.every((n) => Number.isInteger(n) && (n as number) >= 0));

/**
 * evaluation.json as written; {@link parseEvaluation} also checks that its numbers agree with
 * each other (counts with the matrix, accuracies with the counts).
 */
export const EvaluationFileCodec = named(
  t.type({
    format: named(t.literal(EVALUATION_FORMAT), `"${EVALUATION_FORMAT}"`),
    /** The run evaluated: its variant and config.json's `createdAt`, which tell one run from another. */
    run: named(
      t.type({ variant: int(1), createdAt: t.union([t.string, t.null]) }),
      '{ "variant": <depth>, "createdAt": <config.json\'s createdAt or null> }',
    ),
    weights: EvaluatedWeightsCodec,
    testImages: finite,
    correct: finite,
    accuracy: finite,
    /** Per true class: correct / images of that class; null when the evaluated images hold none. */
    perClassAccuracy: named(t.readonlyArray(t.union([finite, t.null])), "each class's diagonal / row sum (null for an empty row)"),
    /** `confusion[true][predicted]` counts. */
    confusion: named(
      new t.Type<readonly (readonly number[])[], readonly (readonly number[])[], unknown>(
        'counts',
        isSquareCounts,
        (u, c) => (isSquareCounts(u) ? t.success(u) : t.failure(u, c)),
        t.identity,
      ),
      'a square matrix of counts (rows: true class, columns: predicted)',
    ),
    /** The command that made the file, or null. */
    command: withDefault(named(t.union([t.string, t.null]), 'a string or null'), null),
  }),
  'a JSON object',
);
export type EvaluationFile = Readonly<t.TypeOf<typeof EvaluationFileCodec>>;

/**
 * Per true class, the share of its images predicted right (null for a class with no image).
 * @example perClassAccuracy([[3, 1], [0, 0]]) // [0.75, null]
 */
export function perClassAccuracy(confusion: readonly (readonly number[])[]): readonly (number | null)[] {
  return confusion.map((row, i) => {
    const total = row.reduce((a, b) => a + b, 0);
    return total === 0 ? null : (row[i] ?? 0) / total;
  });
}

/**
 * The file for a confusion matrix of `config`'s run.
 * @example evaluationFile({ config, weights: { _tag: 'Final', epoch: 10 }, confusion, command: 'npx nx run train:evaluate …' })
 */
export function evaluationFile(args: {
  readonly config: { readonly variant: number; readonly createdAt: string | null };
  readonly weights: EvaluatedWeights;
  readonly confusion: readonly (readonly number[])[];
  readonly command: string | null;
}): EvaluationFile {
  const { confusion } = args;
  const testImages = confusion.flat().reduce((a, b) => a + b, 0);
  const correct = confusion.reduce((s, row, i) => s + (row[i] ?? 0), 0);
  return {
    format: EVALUATION_FORMAT,
    run: { variant: args.config.variant, createdAt: args.config.createdAt },
    weights: args.weights,
    testImages,
    correct,
    accuracy: testImages === 0 ? 0 : correct / testImages,
    perClassAccuracy: perClassAccuracy(confusion),
    confusion,
    command: args.command,
  };
}

/**
 * Writes the file atomically: one top-level field per line, values compact.
 * @example writeEvaluation('runs/smoke/evaluation.json', file)
 */
export function writeEvaluation(path: string, file: EvaluationFile): void {
  writeFileAtomic(
    path,
    `{\n${Object.entries(file)
      .map(([k, v]) => `  ${JSON.stringify(k)}: ${JSON.stringify(v)}`)
      .join(',\n')}\n}\n`,
  );
}

/**
 * Why an evaluation.json cannot be used; `message` says what and where (the app adds the way out).
 */
export type EvaluationError =
  /** Not JSON, or a field that is missing, of the wrong kind, or disagrees with the matrix. */
  | { readonly _tag: 'BadEvaluation'; readonly file: string; readonly reason: string; readonly message: string }
  /** A valid file of another run: its variant or createdAt is not the run's. */
  | {
      readonly _tag: 'OtherRun';
      readonly file: string;
      readonly evaluated: EvaluationFile['run'];
      readonly run: EvaluationFile['run'];
      readonly message: string;
    };

function badEvaluation(file: string, reason: string): EvaluationError {
  return { _tag: 'BadEvaluation', file, reason, message: `${file}: ${reason}` };
}

/**
 * Checks a parsed evaluation.json; `path` names the file in the error. The numbers must agree
 * with each other (counts with the matrix, accuracies with the counts).
 * @example parseEvaluation({ format: 'resnet-ts/evaluation@1', … }, 'runs/a/evaluation.json') // Right({ … })
 */
export function parseEvaluation(value: unknown, path: string): E.Either<EvaluationError, EvaluationFile> {
  const decoded = decode(EvaluationFileCodec, value);
  if (E.isLeft(decoded)) return E.left(badEvaluation(path, describeFailure(decoded.left)));
  const f = decoded.right;
  const bad = (field: string, expected: string, got: unknown) => E.left(badEvaluation(path, describeFailure({ field, expected, got })));
  const expected = evaluationFile({ config: f.run, weights: f.weights, confusion: f.confusion, command: f.command });
  if (f.testImages !== expected.testImages) return bad('testImages', `the matrix's total ${expected.testImages}`, f.testImages);
  if (f.correct !== expected.correct) return bad('correct', `the matrix's diagonal ${expected.correct}`, f.correct);
  if (!close(f.accuracy, expected.accuracy)) return bad('accuracy', `correct / testImages = ${expected.accuracy}`, f.accuracy);
  const perClass = f.perClassAccuracy;
  if (
    perClass.length !== f.confusion.length ||
    !perClass.every((a, i) => (a === null ? expected.perClassAccuracy[i] === null : close(a, expected.perClassAccuracy[i])))
  ) {
    return bad('perClassAccuracy', "each class's diagonal / row sum (null for an empty row)", perClass);
  }
  return E.right(expected);
}

/**
 * The evaluation.json of the run in `dir`, or null when there is none. It must belong to that
 * run: same variant and `createdAt` as its config.json (a file copied from another run is refused).
 * @example readRunEvaluation('docs/results/resnet18-seed0', config) // Right({ accuracy: 0.9093, … }) or Right(null)
 */
export function readRunEvaluation(
  dir: string,
  config: Pick<RunConfig, 'variant' | 'createdAt'>,
): E.Either<EvaluationError, EvaluationFile | null> {
  const path = join(dir, EVALUATION_FILE);
  if (!existsSync(path)) return E.right(null);
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    return E.left(badEvaluation(path, `not valid JSON (${(e as Error).message})`));
  }
  const file = parseEvaluation(json, path);
  if (E.isLeft(file)) return file;
  const evaluated = file.right.run;
  if (evaluated.variant !== config.variant || evaluated.createdAt !== config.createdAt) {
    const what = (r: EvaluationFile['run']) => `ResNet-${r.variant} created ${r.createdAt ?? 'at an unrecorded time'}`;
    const run = { variant: config.variant, createdAt: config.createdAt };
    return E.left({
      _tag: 'OtherRun',
      file: path,
      evaluated,
      run,
      message: `${path} belongs to another run (${what(evaluated)}; this run: ${what(run)})`,
    });
  }
  return E.right(file.right);
}

/**
 * The weights in words.
 * @example describeWeights({ _tag: 'Final', epoch: 10 }) // 'the final model (epoch 10)'
 */
export function describeWeights(weights: EvaluatedWeights): string {
  switch (weights._tag) {
    case 'Final':
      return `the final model (epoch ${weights.epoch})`;
    case 'Checkpoint':
      return `the checkpoint after epoch ${weights.epoch}${weights.step > 0 ? ` and ${weights.step} steps` : ''}`;
    default:
      return absurd(weights);
  }
}

function close(a: unknown, b: number | null | undefined): boolean {
  return typeof a === 'number' && typeof b === 'number' && Math.abs(a - b) <= 1e-9;
}
