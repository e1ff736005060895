import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as E from 'fp-ts/Either';
import {
  describeWeights,
  EVALUATION_FILE,
  evaluationFile,
  parseEvaluation,
  perClassAccuracy,
  readRunEvaluation,
  writeEvaluation,
  type EvaluationFile,
} from './evaluation.ts';

const run = { variant: 18, createdAt: '2026-12-02T08:09:31.467Z' } as const;
// 3 classes: 4 + 2 + 0 images, 3 + 1 right.
const confusion = [
  [3, 1, 0],
  [1, 1, 0],
  [0, 0, 0],
];
const file = evaluationFile({
  config: run,
  weights: { _tag: 'Final', epoch: 10 },
  confusion,
  command: 'npx nx run train:evaluate --run=r --json=r/evaluation.json',
});

function message(value: unknown): string {
  const r = parseEvaluation(value, 'runs/a/evaluation.json');
  return E.isLeft(r) ? r.left.message : 'accepted';
}

describe('evaluation.json', () => {
  test('per-class accuracy is the diagonal over the row; a class without images has none', () => {
    expect(perClassAccuracy(confusion)).toEqual([0.75, 0.5, null]);
    expect(file).toMatchObject({
      testImages: 6,
      correct: 4,
      accuracy: 4 / 6,
      perClassAccuracy: [0.75, 0.5, null],
      run,
      weights: { _tag: 'Final', epoch: 10 },
    });
  });

  test('what the writer writes, the reader reads back unchanged, one field per line, with no temporary file left', () => {
    const dir = mkdtempSync(join(tmpdir(), 'evaluation-'));
    writeEvaluation(join(dir, EVALUATION_FILE), file);
    const text = readFileSync(join(dir, EVALUATION_FILE), 'utf8');
    expect(text.split('\n')).toHaveLength(Object.keys(file).length + 3);
    expect(readRunEvaluation(dir, run)).toEqual(E.right(file));
    expect(readdirSync(dir)).toEqual([EVALUATION_FILE]);
  });

  test('a run without the file has none; a file of another run is refused with both runs named', () => {
    const dir = mkdtempSync(join(tmpdir(), 'evaluation-'));
    expect(readRunEvaluation(dir, run)).toEqual(E.right(null));
    const path = join(dir, EVALUATION_FILE);
    writeEvaluation(path, file);
    const other = readRunEvaluation(dir, { variant: 18, createdAt: '2026-12-03T00:00:00.000Z' });
    expect(other).toEqual(
      E.left({
        _tag: 'OtherRun',
        file: path,
        evaluated: run,
        run: { variant: 18, createdAt: '2026-12-03T00:00:00.000Z' },
        message: `${path} belongs to another run (ResNet-18 created 2026-12-02T08:09:31.467Z; this run: ResNet-18 created 2026-12-03T00:00:00.000Z)`,
      }),
    );
    expect(readRunEvaluation(dir, { variant: 34, createdAt: run.createdAt })).toMatchObject(E.left({ _tag: 'OtherRun' }));
    writeFileSync(path, '{ not json');
    expect(readRunEvaluation(dir, run)).toMatchObject(
      E.left({ _tag: 'BadEvaluation', file: path, message: expect.stringContaining(`${path}: not valid JSON`) as unknown }),
    );
  });

  test.each<[string, Partial<Record<keyof EvaluationFile, unknown>>, string]>([
    ['another format', { format: 'resnet-ts/run@1' }, '"format" must be "resnet-ts/evaluation@1"'],
    ['a matrix that is not square', { confusion: [[1, 2], [3]] }, '"confusion" must be a square matrix of counts'],
    [
      'a negative count',
      {
        confusion: [
          [1, -1, 0],
          [0, 1, 0],
          [0, 0, 0],
        ],
      },
      '"confusion" must be a square matrix of counts',
    ],
    ["a total that is not the matrix's", { testImages: 7 }, '"testImages" must be the matrix\'s total 6, got 7'],
    ['a correct count that is not the diagonal', { correct: 5 }, '"correct" must be the matrix\'s diagonal 4, got 5'],
    ['an accuracy that is not correct / total', { accuracy: 0.7 }, '"accuracy" must be correct / testImages'],
    [
      'per-class accuracies that do not match the rows',
      { perClassAccuracy: [0.75, 0.5, 0] },
      '"perClassAccuracy" must be each class\'s diagonal / row sum',
    ],
    [
      'unknown weights',
      { weights: { _tag: 'Latest' } },
      '"weights" must be { "_tag": "Final", "epoch": N } or { "_tag": "Checkpoint", "epoch": N, "step": S }',
    ],
    ['no run identity', { run: { variant: 18 } }, '"run" must be { "variant": <depth>'],
  ])('%s is refused, naming the file and the field (and no command: the app words the way out)', (_name, override, expected) => {
    const text = message({ ...JSON.parse(JSON.stringify(file)), ...override });
    expect(text).toContain('runs/a/evaluation.json: ');
    expect(text).toContain(expected);
    expect(text).not.toContain('npx nx');
  });

  test('the weights are described in words', () => {
    expect(describeWeights({ _tag: 'Final', epoch: 10 })).toBe('the final model (epoch 10)');
    expect(describeWeights({ _tag: 'Checkpoint', epoch: 3, step: 0 })).toBe('the checkpoint after epoch 3');
    expect(describeWeights({ _tag: 'Checkpoint', epoch: 3, step: 40 })).toBe('the checkpoint after epoch 3 and 40 steps');
  });
});
