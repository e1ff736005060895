import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as E from 'fp-ts/Either';
import { PROGRESS_FILE, progressRecord, readProgress, writeProgress } from './progress.ts';

const report = { epoch: 2, epochs: 4, step: 10, steps: 40, loss: 0.5, trainAcc: 0.8, examplesPerSec: 100, lr: 0.05, seconds: 20 };

describe('progress.json', () => {
  test('the ETA is the steps left (this epoch and the later ones) at the pace so far', () => {
    // 2 s a step; 30 steps left in epoch 2 and 2 × 40 after it.
    expect(progressRecord('training', report).etaSeconds).toBe(220);
    expect(progressRecord('finished', report).etaSeconds).toBe(0);
    expect(progressRecord('failed', { ...report, loss: NaN }, 'loss is NaN').loss).toBeNull();
  });

  test('what is written is read back; a damaged or foreign record is an error naming the file and the field', () => {
    const dir = mkdtempSync(join(tmpdir(), 'progress-'));
    expect(readProgress(dir)).toEqual(E.left({ _tag: 'Missing' }));
    const record = progressRecord('failed', { ...report, loss: Infinity }, 'a non-finite loss at step 10');
    writeProgress(dir, record);
    expect(readProgress(dir)).toEqual(E.right(record));
    writeFileSync(join(dir, PROGRESS_FILE), '{"format":"resnet-ts/progress@1","state":"training"');
    expect(readProgress(dir)).toMatchObject(
      E.left({ _tag: 'Invalid', message: expect.stringContaining(`${join(dir, PROGRESS_FILE)}: `) as unknown }),
    );
    writeFileSync(join(dir, PROGRESS_FILE), JSON.stringify({ ...record, epoch: '2' }));
    expect(readProgress(dir)).toEqual(
      E.left({ _tag: 'Invalid', message: `${join(dir, PROGRESS_FILE)}: "epoch" must be a number, got "2"` }),
    );
  });
});
