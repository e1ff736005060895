import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as E from 'fp-ts/Either';
import { createRun, openRun, type RunError, type RunSettings } from '@resnet/run-dir';
import { eventPrinter, failureMessage, runErrorMessage } from './run_output.ts';

const dir = 'runs/r';
const resume = `npx nx run train:serve --resume=${dir}`;
const fresh = `To start the run again from scratch, remove ${dir}/latest.json and ${dir}/checkpoints, then run: ${resume}`;

describe("runErrorMessage: a run directory's problem in train's flags", () => {
  test.each<[string, RunError, string]>([
    [
      'no such directory',
      { _tag: 'NotARun', dir, exists: false, message: `${dir} does not exist` },
      `${dir} does not exist: pass a directory written by train:serve --out`,
    ],
    [
      'a directory with no config.json',
      { _tag: 'NotARun', dir, exists: true, message: `${dir} is not a run directory (no config.json)` },
      `${dir} is not a run directory (no config.json): pass a directory written by train:serve --out`,
    ],
    [
      'an --out that is a file',
      { _tag: 'NotADirectory', dir, message: `${dir} is a file, not a directory` },
      `--out=${dir} is a file, not a directory: choose another --out`,
    ],
    [
      'this run, already started',
      { _tag: 'AlreadyStarted', dir, message: `${dir} already holds this run` },
      `${dir} already holds this run (choose another --out for a new one); continue it with: ${resume}`,
    ],
    [
      'another run',
      { _tag: 'DifferentRun', dir, holds: 'run', message: `${dir} already holds a different run (its config.json differs)` },
      `${dir} already holds a different run (its config.json differs): choose another --out, or continue that run with: ${resume}`,
    ],
    [
      'other files',
      { _tag: 'DifferentRun', dir, holds: 'files', message: `${dir} is not empty and is not a run directory` },
      `${dir} is not empty and is not a run directory: choose an empty or new --out`,
    ],
    [
      'a damaged latest.json',
      {
        _tag: 'Corrupt',
        dir,
        part: 'latest',
        file: `${dir}/latest.json`,
        reason: 'not valid JSON',
        message: `${dir}/latest.json is damaged (not valid JSON)`,
      },
      `${dir}/latest.json is damaged (not valid JSON). ${fresh}`,
    ],
    [
      'a damaged checkpoint',
      {
        _tag: 'Corrupt',
        dir,
        part: 'checkpoint',
        file: `${dir}/checkpoints/c`,
        reason: 'x',
        message: 'the latest checkpoint is damaged: x',
      },
      `the latest checkpoint is damaged: x. ${fresh}`,
    ],
    [
      'a damaged metrics line (its file and line are the fix)',
      {
        _tag: 'Corrupt',
        dir,
        part: 'metrics',
        file: `${dir}/metrics.jsonl`,
        line: 2,
        reason: 'x',
        message: `${dir}/metrics.jsonl:2: not a metrics record (x)`,
      },
      `${dir}/metrics.jsonl:2: not a metrics record (x)`,
    ],
    [
      'a bad config.json (its field is the fix)',
      { _tag: 'BadConfig', dir, file: `${dir}/config.json`, reason: 'r', message: `${dir}/config.json: r` },
      `${dir}/config.json: r`,
    ],
    [
      'no checkpoint',
      { _tag: 'NoCheckpoint', dir, message: `${dir} has no checkpoint yet (no latest.json)` },
      `${dir} has no checkpoint yet (no latest.json)`,
    ],
    [
      'a refusing file system',
      { _tag: 'Io', dir, reason: 'EACCES', message: `cannot write ${dir}: EACCES` },
      `cannot write ${dir}: EACCES`,
    ],
  ])('%s', (_, error, message) => {
    expect(runErrorMessage(error)).toBe(message);
  });

  test("the lib's own errors come out with the way out", () => {
    const root = mkdtempSync(join(tmpdir(), 'run-output-'));
    const file = join(root, 'notes.txt');
    writeFileSync(file, 'x');
    const created = createRun(file, {});
    expect(E.isLeft(created) && runErrorMessage(created.left)).toBe(`--out=${file} is a file, not a directory: choose another --out`);
    const opened = openRun(join(root, 'nope'));
    expect(E.isLeft(opened) && runErrorMessage(opened.left)).toBe(
      `${join(root, 'nope')} does not exist: pass a directory written by train:serve --out`,
    );
  });
});

describe('failureMessage: why a run could not be trained, and the exit code', () => {
  test('a damaged run is a data problem (1); a run that cannot be continued is a command-line problem (2)', () => {
    expect(
      failureMessage({
        _tag: 'RunDir',
        error: { _tag: 'Corrupt', dir, part: 'latest', file: `${dir}/latest.json`, reason: 'r', message: 'm' },
      }),
    ).toEqual({ message: `m. ${fresh}`, code: 1 });
    expect(failureMessage({ _tag: 'RunDir', error: { _tag: 'NotARun', dir, exists: false, message: 'm' } })).toEqual({
      message: 'm: pass a directory written by train:serve --out',
      code: 2,
    });
    expect(failureMessage({ _tag: 'NotResumable', dir, madeBy: 'tools/torch_reference.py (pytorch 1.13.0a0)' })).toEqual({
      message: `${dir} is a reference run made by tools/torch_reference.py (pytorch 1.13.0a0), not by train:serve: it cannot be resumed; train our run into a new directory with npx nx run train:serve --out=<dir>`,
      code: 2,
    });
  });

  test('a step too big for the machine: one line with the estimate, the machine’s memory and the batch that fits (or what to change when none does)', () => {
    const memory = {
      _tag: 'Memory',
      dir,
      variant: 152,
      imageSize: 96,
      batchSize: 512,
      estimateBytes: 20.4e9,
      machineBytes: 16e9,
      fits: 384,
    } as const;
    expect(failureMessage(memory)).toEqual({
      message: `ResNet-152 at 96×96, batch 512: a training step needs about 20.4 GB (estimated from the spec), more than this machine's 16.0 GB; batch 384 fits: add --mini-batch=384 (or a smaller --image-size). Nothing was written to ${dir}`,
      code: 1,
    });
    expect(failureMessage({ ...memory, fits: 0 }).message).toContain(
      'not even batch 1 fits: use a smaller --image-size or a shallower --variant',
    );
  });

  test('a loss that became NaN names the flags that help', () => {
    expect(
      failureMessage({ _tag: 'Training', error: { _tag: 'NonFinite', epoch: 2, step: 3, message: 'the training loss became NaN' } }),
    ).toEqual({
      message: 'the training loss became NaN. Lower --lr or add warmup (--schedule=cosine)',
      code: 1,
    });
  });

  test('a write the file system refused: one line with the file, the reason, and the way on from what is on disk', () => {
    const error = { _tag: 'SystemError', code: 'ENOSPC', syscall: 'write', target: 'runs/r/metrics.jsonl' } as const;
    expect(failureMessage({ _tag: 'Write', dir: 'runs/r', error, checkpoint: { epoch: 2, step: 0 } })).toEqual({
      message:
        "runs/r/metrics.jsonl: no space left on the device (ENOSPC, write); the run's last checkpoint (epoch 2) and the metrics up to it are intact: once that is fixed, continue with: npx nx run train:serve --resume=runs/r",
      code: 1,
    });
    expect(failureMessage({ _tag: 'Write', dir: 'runs/r', error, checkpoint: { epoch: 0, step: 40 } }).message).toContain(
      '(epoch 0, step 40)',
    );
    expect(failureMessage({ _tag: 'Write', dir: 'runs/r', error, checkpoint: null }).message).toBe(
      'runs/r/metrics.jsonl: no space left on the device (ENOSPC, write); no checkpoint was written yet: once that is fixed, start the run again with the same command',
    );
  });
});

describe('eventPrinter: what a run says as it goes', () => {
  test('the start names the step’s estimated memory against the machine’s (and says nothing of it when there is no estimate)', () => {
    const written: string[] = [];
    const stream = { write: (s: string) => written.push(s) > 0, isTTY: false } as unknown as NodeJS.WriteStream;
    const { onEvent } = eventPrinter({ stream });
    const config = {
      variant: 50,
      version: 'v1.5',
      stem: 'imagenet',
      protocol: 'default',
      epochs: 10,
      batchSize: 128,
      imageSize: 28,
    } as RunSettings;
    const started = { _tag: 'Started', dir, config, trainCount: 60000, testCount: 10000 } as const;
    onEvent({ ...started, memory: { estimateBytes: 0.76e9, machineBytes: 25.3e9 } });
    onEvent({ ...started, memory: { estimateBytes: null, machineBytes: 25.3e9 } });
    expect(written.join('')).toBe(
      `ResNet-50 v1.5 (imagenet stem), protocol default: 10 epochs, batch 128, 28×28, 60000 train / 10000 test images → ${dir}\n` +
        'memory: a training step needs about 0.76 GB (estimated from the spec; the epoch lines give the real peak); this machine has 25.3 GB\n' +
        `ResNet-50 v1.5 (imagenet stem), protocol default: 10 epochs, batch 128, 28×28, 60000 train / 10000 test images → ${dir}\n`,
    );
  });
});
