// What progress.json costs a training run: the time of one atomic replace (write, fsync, rename,
// fsync of the folder — libs/training/src/progress_file.ts), and that as a share of training
// time at one write per PROGRESS_INTERVAL_MS. Not a test: a measurement, printed.
//
//   TSX_TSCONFIG_PATH=tsconfig.base.json npx tsx tools/bench_progress.ts [folder …]   # default: runs/ and the temp folder
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PROGRESS_INTERVAL_MS, progressRecord, writeProgress } from '@resnet/run-dir';

const WRITES = 200;
const report = { epoch: 2, epochs: 10, step: 100, steps: 469, loss: 0.5, trainAcc: 0.8, examplesPerSec: 500, lr: 0.05, seconds: 25 };
const folders = process.argv.slice(2);
for (const parent of folders.length > 0 ? folders : ['runs', tmpdir()]) {
  mkdirSync(parent, { recursive: true });
  const dir = mkdtempSync(join(parent, '.bench-progress-'));
  try {
    const started = performance.now();
    for (let i = 0; i < WRITES; i++) writeProgress(dir, progressRecord('training', report));
    const ms = (performance.now() - started) / WRITES;
    console.log(
      `${parent}: ${ms.toFixed(2)} ms per write (${WRITES} writes); at one write per ${PROGRESS_INTERVAL_MS / 1000} s, ${((ms / PROGRESS_INTERVAL_MS) * 100).toFixed(2)}% of training time`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
