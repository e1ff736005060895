import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as E from 'fp-ts/Either';
import { confusionMatrix, epochs, evaluationOf, referenceConfig, runConfig, tempDir, writeRun, writeRunEvaluation } from './testing.ts';
import { findRunDirs, loadRun, loadRuns, type LoadError } from './load.ts';

function error<T>(r: E.Either<LoadError, T>): LoadError {
  if (E.isRight(r)) throw new Error('expected an error');
  return r.left;
}

describe('finding run directories', () => {
  test('a run directory is itself; a folder gives its subfolders that hold config.json, sorted', () => {
    const root = tempDir();
    writeRun(join(root, 'b50'), runConfig(50), epochs(1));
    writeRun(join(root, 'a18'), runConfig(18), epochs(1));
    mkdirSync(join(root, 'notes'));
    expect(findRunDirs([root])).toEqual(E.right([join(root, 'a18'), join(root, 'b50')]));
    expect(findRunDirs([join(root, 'b50'), root])).toEqual(E.right([join(root, 'b50'), join(root, 'a18')]));
  });

  test('a missing path, a file and a folder without runs are errors that say what to pass', () => {
    const root = tempDir();
    writeFileSync(join(root, 'file.txt'), 'x');
    expect(error(findRunDirs([join(root, 'nope')]))).toMatchObject({
      _tag: 'BadPath',
      message: expect.stringContaining(`${join(root, 'nope')} does not exist`),
    });
    expect(error(findRunDirs([join(root, 'file.txt')]))).toMatchObject({
      _tag: 'BadPath',
      message: expect.stringContaining('is a file, not a directory'),
    });
    expect(error(findRunDirs([root]))).toEqual({
      _tag: 'NoRuns',
      path: root,
      message: `no run directories in ${root}: expected config.json in ${root} or its subfolders`,
    });
  });
});

describe('loading runs', () => {
  test('a corrupt metrics line is reported as file:line', () => {
    const dir = writeRun(join(tempDir(), 'r'), runConfig(18), `${JSON.stringify(epochs(1)[0])}\n{"epoch": 2, "loss"\n`);
    expect(error(loadRun(dir))).toMatchObject({
      _tag: 'CorruptMetrics',
      message: expect.stringMatching(new RegExp(`^${join(dir, 'metrics.jsonl')}:2: not a metrics record`)),
    });
  });

  test('a record without a number the report shows names the field and the line, counting blank lines', () => {
    const [first, second] = epochs(2);
    const dir = writeRun(
      join(tempDir(), 'r'),
      runConfig(18),
      `${JSON.stringify(first)}\n\n${JSON.stringify({ ...second, testAcc: undefined })}\n`,
    );
    expect(error(loadRun(dir)).message).toBe(
      `${join(dir, 'metrics.jsonl')}:3: not a metrics record ("testAcc" must be a number, got nothing); to cut the file back to the run's last checkpoint and continue: npx nx run train:serve --resume=${dir} --repair-metrics`,
    );
  });

  test('config.json that is not JSON, or not a run config, is named', () => {
    const bad = writeRun(join(tempDir(), 'r'), '{ not json', epochs(1));
    expect(error(loadRun(bad))).toMatchObject({
      _tag: 'BadConfig',
      message: expect.stringContaining(`${join(bad, 'config.json')}: not valid JSON`),
    });
    const other = writeRun(join(tempDir(), 'r'), runConfig(19), epochs(1));
    expect(error(loadRun(other)).message).toContain(`${join(other, 'config.json')}: "variant" must be one of`);
  });

  test('runs are ordered by depth, then path; runs with no finished epoch are set aside', () => {
    const root = tempDir();
    writeRun(join(root, 'z18'), runConfig(18), epochs(2));
    writeRun(join(root, 'a50'), runConfig(50), epochs(1));
    writeRun(join(root, 'b18'), runConfig(18), epochs(1));
    writeRun(join(root, 'c34'), runConfig(34), null);
    writeRun(join(root, 'd34'), runConfig(34), '');
    const loaded = loadRuns([root]);
    if (E.isLeft(loaded)) throw new Error(loaded.left.message);
    expect(loaded.right.runs.map((r) => r.dir)).toEqual([join(root, 'b18'), join(root, 'z18'), join(root, 'a50')]);
    expect(loaded.right.unfinished.map((r) => r.dir)).toEqual([join(root, 'c34'), join(root, 'd34')]);
  });

  test('a reference run comes after ours at its depth; evaluation.json is read with its run', () => {
    const root = tempDir();
    const reference = writeRun(join(root, 'a-pytorch'), referenceConfig(18), epochs(2));
    writeRunEvaluation(reference, evaluationOf(referenceConfig(18), confusionMatrix([90, 90, 90, 90, 90, 90, 90, 90, 90, 80])));
    writeRun(join(root, 'z18'), runConfig(18), epochs(2));
    writeRun(join(root, 'b34'), runConfig(34), epochs(1));
    const loaded = loadRuns([root]);
    if (E.isLeft(loaded)) throw new Error(loaded.left.message);
    expect(loaded.right.runs.map((r) => [r.dir, r.config.reference?.framework ?? 'ours', r.evaluation?.accuracy ?? null])).toEqual([
      [join(root, 'z18'), 'ours', null],
      [join(root, 'a-pytorch'), 'pytorch', 0.89],
      [join(root, 'b34'), 'ours', null],
    ]);
  });

  test('an evaluation.json that is damaged or belongs to another run is an error naming the file', () => {
    const dir = writeRun(join(tempDir(), 'r'), runConfig(18), epochs(1));
    writeRunEvaluation(dir, evaluationOf(runConfig(34), confusionMatrix([90, 90, 90, 90, 90, 90, 90, 90, 90, 80])));
    expect(error(loadRun(dir))).toMatchObject({
      _tag: 'BadEvaluation',
      message: expect.stringContaining(`${join(dir, 'evaluation.json')} belongs to another run`),
    });
    writeFileSync(
      join(dir, 'evaluation.json'),
      JSON.stringify({ ...evaluationOf(runConfig(18), confusionMatrix([90, 90, 90, 90, 90, 90, 90, 90, 90, 80])), correct: 1 }),
    );
    expect(error(loadRun(dir)).message).toContain(`${join(dir, 'evaluation.json')}: "correct" must be the matrix's diagonal 890, got 1`);
  });

  test('no run with a finished epoch is an error naming the metrics files', () => {
    const root = tempDir();
    writeRun(join(root, 'r'), runConfig(18), null);
    expect(error(loadRuns([root]))).toMatchObject({
      _tag: 'NoFinishedEpoch',
      message: expect.stringContaining(`${join(root, 'r', 'metrics.jsonl')} missing or empty`),
    });
  });
});
