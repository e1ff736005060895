import { mkdirSync, mkdtempSync, readdirSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as E from 'fp-ts/Either';
import { readCheckpoint, writeCheckpoint } from './checkpoint.ts';
import { RUN_FORMAT, type RunSettings } from './config.ts';
import { createRun, openRun } from './lifecycle.ts';
import { appendMetrics, readMetrics, repairMetrics, truncateMetrics } from './metrics.ts';
import type { TensorGroups } from './tensors.ts';

/** Three groups of tensors with distinct values; 8 kB of weights in all. */
function groups(): TensorGroups {
  const tensor = (shape: number[], from: number) => ({
    shape,
    values: Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => from + i / 7),
  });
  return {
    params: new Map([
      ['net.conv/weight', tensor([3, 3, 1, 100], 1)],
      ['net.fc/bias', tensor([10], 2)],
    ]),
    state: new Map([['net.bn/moving_mean', tensor([100], 3)]]),
    velocity: new Map([
      ['net.conv/weight', tensor([3, 3, 1, 100], 4)],
      ['net.fc/bias', tensor([10], 5)],
    ]),
  };
}

const tmp = () => mkdtempSync(join(tmpdir(), 'run-'));
const config: RunSettings = {
  format: RUN_FORMAT,
  protocol: 'default',
  variant: 18,
  version: 'v1.5',
  stem: 'imagenet',
  epochs: 2,
  batchSize: 8,
  schedule: { _tag: 'Constant', lr: 0.1 },
  momentum: 0.9,
  nesterov: true,
  weightDecay: 5e-4,
  labelSmoothing: 0,
  clipNorm: null,
  imageSize: 28,
  augment: { crop: true, flip: true },
  zeroInitResidual: true,
  trainLimit: null,
  testLimit: null,
  seed: 0,
  classes: 10,
  precision: 'fp32',
};
const metric = (epoch: number) => ({ epoch, loss: 1 / epoch, trainAcc: 0.5, testAcc: 0.5, examplesPerSec: 10, lr: 0.1, seconds: 1 });

describe('run directory', () => {
  test('a new run writes config.json; the same directory again is refused, saying what it holds', () => {
    const dir = join(tmp(), 'r');
    expect(createRun(dir, config)).toEqual(E.right('Created'));
    // Stopped before its first checkpoint: the same command starts it again from scratch.
    appendMetrics(dir, metric(1));
    writeFileSync(join(dir, 'config.json.tmp-123'), '{');
    expect(createRun(dir, config)).toEqual(E.right('Restarted'));
    expect(readdirSync(dir)).toEqual(['config.json']);
    writeFileSync(join(dir, 'latest.json'), '{}');
    expect(createRun(dir, config)).toEqual(E.left({ _tag: 'AlreadyStarted', dir, message: `${dir} already holds this run` }));
    expect(createRun(dir, { ...config, variant: 34 })).toEqual(
      E.left({ _tag: 'DifferentRun', dir, holds: 'run', message: `${dir} already holds a different run (its config.json differs)` }),
    );
    const other = tmp();
    writeFileSync(join(other, 'notes.txt'), 'x');
    expect(createRun(other, config)).toEqual(
      E.left({ _tag: 'DifferentRun', dir: other, holds: 'files', message: `${other} is not empty and is not a run directory` }),
    );
    const file = join(other, 'notes.txt');
    expect(createRun(file, config)).toEqual(E.left({ _tag: 'NotADirectory', dir: file, message: `${file} is a file, not a directory` }));
  });

  test('a directory without config.json is not a run; nor is one that does not exist', () => {
    const dir = tmp();
    expect(openRun(dir)).toEqual(E.left({ _tag: 'NotARun', dir, exists: true, message: `${dir} is not a run directory (no config.json)` }));
    mkdirSync(join(dir, 'x'));
    expect(openRun(join(dir, 'x'))).toMatchObject(E.left({ _tag: 'NotARun', exists: true }));
    const missing = join(dir, 'nope');
    expect(openRun(missing)).toEqual(E.left({ _tag: 'NotARun', dir: missing, exists: false, message: `${missing} does not exist` }));
  });

  test('reading a checkpoint from a run that has none is refused', () => {
    const dir = join(tmp(), 'r');
    createRun(dir, config);
    expect(readCheckpoint(dir)).toEqual(E.left({ _tag: 'NoCheckpoint', dir, message: `${dir} has no checkpoint yet (no latest.json)` }));
  });

  test('metrics round-trip; a corrupt line is reported with file and line number; truncation keeps earlier epochs', () => {
    const dir = join(tmp(), 'r');
    createRun(dir, config);
    appendMetrics(dir, metric(1));
    appendMetrics(dir, metric(2));
    const opened = openRun(dir);
    expect(E.isRight(opened) && opened.right.metrics.length).toBe(2);
    truncateMetrics(dir, 1);
    expect(readMetrics(join(dir, 'metrics.jsonl'))).toEqual(E.right([metric(1)]));
    writeFileSync(join(dir, 'metrics.jsonl'), `${JSON.stringify(metric(1))}\n{oops\n`);
    expect(readMetrics(join(dir, 'metrics.jsonl'))).toMatchObject(
      E.left({
        _tag: 'Corrupt',
        dir,
        part: 'metrics',
        file: join(dir, 'metrics.jsonl'),
        line: 2,
        message: expect.stringContaining('metrics.jsonl:2:'),
      }),
    );
  });

  test.each([
    ['a repeated epoch (two processes once appended to one run: 1, 1, 2, 2)', [1, 1, 2, 2], 2, 'epoch 1 where epoch 2 was expected'],
    ['a skipped epoch (1, 3)', [1, 3], 2, 'epoch 3 where epoch 2 was expected'],
    ['epochs out of order (2, 1)', [2, 1], 1, 'epoch 2 where epoch 1 was expected'],
    ['a fractional epoch', [1, 1.5], 2, '"epoch" must be an integer ≥ 1, got 1.5'],
  ])('metrics with %s are refused at the first line out of order, and the message names the repair', (_, epochs, line, reason) => {
    const dir = join(tmp(), 'r');
    createRun(dir, config);
    writeFileSync(join(dir, 'metrics.jsonl'), epochs.map((e) => `${JSON.stringify(metric(e))}\n`).join(''));
    const r = readMetrics(join(dir, 'metrics.jsonl'));
    expect(r).toMatchObject(E.left({ _tag: 'Corrupt', part: 'metrics', line, reason: expect.stringContaining(reason) as unknown }));
    expect(E.isLeft(r) && r.left.message).toContain(`--resume=${dir} --repair-metrics`);
  });

  // A run directory whose latest.json names a checkpoint after `epochs` finished epochs (the
  // checkpoint's tensors are not read by the repair).
  function withCheckpoint(epochs: number, lines: readonly string[]): string {
    const dir = join(tmp(), 'r');
    createRun(dir, config);
    const id = `epoch-${String(epochs).padStart(4, '0')}-step-000000`;
    mkdirSync(join(dir, 'checkpoints', id), { recursive: true });
    writeFileSync(join(dir, 'checkpoints', id, 'manifest.json'), '{}');
    writeFileSync(join(dir, 'latest.json'), JSON.stringify({ checkpoint: id, epoch: epochs, step: 0 }));
    writeFileSync(join(dir, 'metrics.jsonl'), lines.map((l) => `${l}\n`).join(''));
    return dir;
  }

  test("repairMetrics keeps the checkpoint's epochs and says what it dropped: damaged lines, repeats, epochs after the checkpoint", () => {
    const line = (e: number): string => JSON.stringify(metric(e));
    const dir = withCheckpoint(2, [line(1), '{oops', line(2), line(2), line(3)]);
    const r = repairMetrics(dir);
    expect(r).toMatchObject(E.right({ kept: 2 }));
    const dropped = E.isRight(r) ? r.right.dropped : [];
    expect(dropped).toHaveLength(3);
    expect(dropped[0]).toMatch(/^line 2: /);
    expect(dropped[1]).toBe(
      'line 4: epoch 2 where epoch 3 was expected: epochs run 1, 2, … each once, so this line repeats, skips or misorders one',
    );
    expect(dropped[2]).toBe('line 5: epoch 3, after the checkpoint');
    expect(readMetrics(join(dir, 'metrics.jsonl'))).toEqual(E.right([metric(1), metric(2)]));
    expect(repairMetrics(dir)).toEqual(E.right({ kept: 2, dropped: [] }));
  });

  test('repairMetrics refuses when an epoch the checkpoint has finished lost its line, and leaves the file as it was', () => {
    const lines = [JSON.stringify(metric(1)), '{oops'];
    const dir = withCheckpoint(2, lines);
    const r = repairMetrics(dir);
    expect(E.isLeft(r) && r.left).toMatch(
      /: line 2 is damaged \(.+\), and the last checkpoint has finished epoch 2, so the metrics of epoch 2 are lost: restore the file from a copy, or train the run again into a new directory$/,
    );
    expect(readFileSync(join(dir, 'metrics.jsonl'), 'utf8')).toBe(lines.map((l) => `${l}\n`).join(''));
  });

  test('a checkpoint reads back every group exactly, with its progress, and only the latest is kept', () => {
    const dir = join(tmp(), 'r');
    createRun(dir, config);
    const progress = { epoch: 1, step: 3, partial: { lossSum: 2, correct: 1, seen: 96, seconds: 4 } };
    writeCheckpoint(dir, groups(), { epoch: 1, step: 0, partial: { lossSum: 0, correct: 0, seen: 0, seconds: 0 } });
    writeCheckpoint(dir, groups(), progress);
    expect(readdirSync(join(dir, 'checkpoints'))).toEqual(['epoch-0001-step-000003']);
    const r = readCheckpoint(dir);
    expect(E.isRight(r) && r.right.progress).toEqual(progress);
    const read = E.isRight(r) ? r.right.tensors.groups : new Map();
    expect(E.isRight(r) && r.right.folder).toBe(join(dir, 'checkpoints', 'epoch-0001-step-000003'));
    expect([...read.keys()]).toEqual(['params', 'state', 'velocity']);
    for (const [group, map] of Object.entries(groups())) for (const [key, t] of map) expect(read.get(group)?.get(key)).toEqual(t);
  });

  test('a kill while creating the run leaves only temporary files, which do not block starting it', () => {
    const dir = tmp();
    writeFileSync(join(dir, 'config.json.tmp-4242'), '{"form');
    expect(createRun(dir, config)).toEqual(E.right('Created'));
  });

  test('replaceUnstarted: a run killed before its first checkpoint is replaced, whatever it left (progress, stop record, a half-written checkpoint); one with a checkpoint is not', () => {
    // What a SIGKILLed first epoch leaves: config.json, progress.json, maybe stopped.json and a checkpoint folder whose latest.json never came.
    const dir = join(tmp(), 'r');
    expect(createRun(dir, config)).toEqual(E.right('Created'));
    writeFileSync(join(dir, 'metrics.jsonl'), '');
    writeFileSync(join(dir, 'progress.json'), '{"format":"resnet-ts/progress@1","state":"training","pid":999999}');
    writeFileSync(join(dir, 'stopped.json'), '{}');
    mkdirSync(join(dir, 'checkpoints', '.epoch-0001-step-000000.tmp-999999'), { recursive: true });
    writeFileSync(join(dir, 'latest.json.tmp-999999'), '{');
    const other = { ...config, seed: 7 };
    expect(createRun(dir, other, { replaceUnstarted: true })).toEqual(E.right('Created'));
    expect(readdirSync(dir).sort()).toEqual(['config.json']);
    expect(JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'))).toMatchObject({ seed: 7 });

    const started = join(tmp(), 's');
    createRun(started, config);
    writeCheckpoint(started, groups(), { epoch: 1, step: 0, partial: { lossSum: 0, correct: 0, seen: 0, seconds: 0 } });
    expect(createRun(started, other, { replaceUnstarted: true })).toMatchObject(E.left({ _tag: 'DifferentRun' }));
    expect(readdirSync(started)).toContain('latest.json');
  });

  describe('damaged files are named, with their directory, not crashed on', () => {
    function withCheckpoint() {
      const dir = join(tmp(), 'r');
      createRun(dir, config);
      writeCheckpoint(dir, groups(), { epoch: 1, step: 0, partial: { lossSum: 0, correct: 0, seen: 0, seconds: 0 } });
      const checkpoint = join(dir, 'checkpoints', 'epoch-0001-step-000000');
      return { dir, checkpoint, load: () => readCheckpoint(dir) };
    }

    test.each([
      [
        'a truncated weights.bin (mid-value)',
        (c: string) => truncateSync(join(c, 'weights.bin'), 4001),
        /weights\.bin is truncated: 4001 bytes/,
      ],
      [
        'a truncated weights.bin (whole values)',
        (c: string) => truncateSync(join(c, 'weights.bin'), 4000),
        /weights\.bin is truncated: tensor ".*" needs values up to/,
      ],
      [
        'a weights.bin longer than its manifest says',
        (c: string) => writeFileSync(join(c, 'weights.bin'), Buffer.concat([readFileSync(join(c, 'weights.bin')), Buffer.alloc(8)])),
        /weights\.bin does not match .*manifest\.json/,
      ],
      [
        'a manifest that is not JSON',
        (c: string) => writeFileSync(join(c, 'manifest.json'), '{"format": "resnet-ts/tens'),
        /manifest\.json is not a resnet-ts\/tensors@1 manifest: not valid JSON/,
      ],
      [
        'a manifest entry without a shape',
        (c: string) => {
          const m = JSON.parse(readFileSync(join(c, 'manifest.json'), 'utf8'));
          m.tensors[0].shape = 'big';
          writeFileSync(join(c, 'manifest.json'), JSON.stringify(m));
        },
        /manifest\.json is not a resnet-ts\/tensors@1 manifest: "tensors" must be a list of \{ "group", "key", "shape", "offset" \}, got \[\{"group":"params","key":"net\.conv\/weight","shape":"big"/,
      ],
    ])('%s', async (_, damage, message) => {
      const c = withCheckpoint();
      damage(c.checkpoint);
      const r = c.load();
      expect(r).toMatchObject(E.left({ _tag: 'Corrupt', dir: c.dir, part: 'checkpoint', file: c.checkpoint }));
      if (E.isLeft(r)) {
        expect(r.left.message).toMatch(message);
        expect(r.left.message).toContain(c.checkpoint);
        // The way out (train again from scratch) is the app's to word: runErrorMessage in apps/train.
        expect(r.left.message).not.toContain('--');
      }
    });

    test.each([
      ['not JSON', '{"checkp', /latest\.json is damaged \(not valid JSON \(.+\)\)/],
      [
        'no checkpoint name',
        '{"epoch": 1, "step": 0}',
        /latest\.json is damaged \("checkpoint" must be a checkpoint folder name, got nothing\)/,
      ],
      [
        'a checkpoint that does not exist',
        '{"checkpoint": "epoch-0009-step-000000", "epoch": 9, "step": 0}',
        /latest\.json is damaged \(it names checkpoints\/epoch-0009-step-000000, which does not exist\)/,
      ],
      [
        'JSON that is not an object',
        '["epoch-0001-step-000000"]',
        /latest\.json is damaged \("\(the whole file\)" must be a JSON object, got \["epoch-0001-step-000000"\]\)/,
      ],
      [
        'an epoch that is not a whole number',
        '{"checkpoint": "epoch-0001-step-000000", "epoch": 1.5, "step": 0}',
        /latest\.json is damaged \("epoch" must be a whole number, got 1\.5\)/,
      ],
      [
        'no step',
        '{"checkpoint": "epoch-0001-step-000000", "epoch": 1}',
        /latest\.json is damaged \("step" must be a whole number, got nothing\)/,
      ],
      [
        'a path outside the run',
        '{"checkpoint": "../../etc", "epoch": 1, "step": 0}',
        /"checkpoint" must be a checkpoint folder name, got "\.\.\/\.\.\/etc"/,
      ],
    ])('an invalid latest.json (%s) is named by openRun and loadCheckpoint', async (_, text, message) => {
      const c = withCheckpoint();
      writeFileSync(join(c.dir, 'latest.json'), text);
      for (const r of [openRun(c.dir), c.load()]) {
        expect(r).toMatchObject(E.left({ _tag: 'Corrupt', dir: c.dir, part: 'latest', file: join(c.dir, 'latest.json') }));
        if (E.isLeft(r)) expect(r.left.message).toMatch(message);
      }
    });
  });
});

describe('openRun: the one validating reader of a run directory', () => {
  test('a config.json that is not what train:serve writes is named with the file and the field', () => {
    const dir = join(tmp(), 'r');
    createRun(dir, config);
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ ...config, variant: 35 }));
    const r = openRun(dir);
    expect(r).toMatchObject(E.left({ _tag: 'BadConfig', dir, file: join(dir, 'config.json') }));
    if (E.isLeft(r)) expect(r.left.message).toContain(`${join(dir, 'config.json')}: "variant" must be one of 18, 34, 50, 101, 152, got 35`);
    writeFileSync(join(dir, 'config.json'), '{"format": "resnet-ts/ru');
    expect(openRun(dir)).toMatchObject(
      E.left({
        _tag: 'BadConfig',
        dir,
        file: join(dir, 'config.json'),
        reason: expect.stringMatching(/^not valid JSON/),
        message: expect.stringContaining(`${join(dir, 'config.json')}: not valid JSON`),
      }),
    );
    writeFileSync(join(dir, 'config.json'), '[1, 2]');
    expect(openRun(dir)).toMatchObject(
      E.left({
        _tag: 'BadConfig',
        message: expect.stringContaining(`${join(dir, 'config.json')}: "(the whole file)" must be a JSON object, got [1,2]`),
      }),
    );
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ ...config, epochs: 0 }));
    expect(openRun(dir)).toMatchObject(
      E.left({
        _tag: 'BadConfig',
        message: expect.stringContaining(`${join(dir, 'config.json')}: "epochs" must be an integer ≥ 1, got 0`),
      }),
    );
  });

  test('a metrics line missing a number is named with its file and line', () => {
    const dir = join(tmp(), 'r');
    createRun(dir, config);
    appendMetrics(dir, metric(1));
    writeFileSync(
      join(dir, 'metrics.jsonl'),
      `${readFileSync(join(dir, 'metrics.jsonl'), 'utf8')}${JSON.stringify({ ...metric(2), testAcc: null })}\n`,
    );
    expect(openRun(dir)).toMatchObject(
      E.left({
        _tag: 'Corrupt',
        message: `${join(dir, 'metrics.jsonl')}:2: not a metrics record ("testAcc" must be a number, got null); to cut the file back to the run's last checkpoint and continue: npx nx run train:serve --resume=${dir} --repair-metrics`,
      }),
    );
  });

  test.each([
    [
      'a number too large to be finite',
      `${JSON.stringify(metric(1)).replace('"loss":1', '"loss":1e999')}`,
      '"loss" must be a number, got null',
    ],
    ['JSON that is not an object', '42', '"(the whole line)" must be a JSON object, got 42'],
    ['a torn line', '{"epoch": 1, "lo', /^Unterminated string|^Expected|^Unexpected/],
  ])('a metrics line with %s is named with its file and line', (_, line, reason) => {
    const dir = join(tmp(), 'r');
    createRun(dir, config);
    writeFileSync(join(dir, 'metrics.jsonl'), `${line}\n`);
    const file = join(dir, 'metrics.jsonl');
    expect(openRun(dir)).toMatchObject(
      E.left({
        _tag: 'Corrupt',
        dir,
        part: 'metrics',
        file,
        line: 1,
        reason: typeof reason === 'string' ? reason : expect.stringMatching(reason),
      }),
    );
  });

  test('what train:serve wrote comes back typed, bookkeeping included', () => {
    const dir = join(tmp(), 'r');
    createRun(dir, { ...config, command: 'npx nx run train:serve --variant=18' });
    expect(openRun(dir)).toMatchObject(
      E.right({
        config: { ...config, command: 'npx nx run train:serve --variant=18', machine: null, replanned: [] },
        metrics: [],
        latest: null,
      }),
    );
  });
});
