/**
 * Progress display: a bar with ETA redrawn in place on a terminal, plain lines
 * (about every 10% of an epoch) when the output is a file or a pipe.
 */
import { formatDuration } from '@resnet/format';
import type { StepProgress } from '@resnet/training';

/**
 * One progress line; the ETA extrapolates the epoch's time per step.
 * @example formatProgress({ epoch: 1, step: 50, steps: 100, loss: 0.5, trainAcc: 0.8, examplesPerSec: 200, lr: 0.1, seconds: 10 }, 20)
 * // 'epoch 1 [##########··········]  50/100 loss 0.5000 acc 0.800 200.0 ex/s lr 0.1000 ETA 10s'
 */
export function formatProgress(p: StepProgress, barWidth: number): string {
  const filled = Math.round((p.step / p.steps) * barWidth);
  const bar = `[${'#'.repeat(filled)}${'·'.repeat(barWidth - filled)}]`;
  const count = `${String(p.step).padStart(String(p.steps).length)}/${p.steps}`;
  const eta = p.step > 0 ? (p.seconds / p.step) * (p.steps - p.step) : NaN;
  const metrics = `loss ${p.loss.toFixed(4)} acc ${p.trainAcc.toFixed(3)} ${p.examplesPerSec.toFixed(1)} ex/s lr ${p.lr.toFixed(4)}`;
  return `epoch ${p.epoch} ${bar} ${count} ${metrics} ETA ${formatDuration(eta, { style: 'compact' })}`;
}

/** A progress reporter writing to a stream; `done()` ends the in-place line. */
export function progressReporter(stream: NodeJS.WriteStream): { readonly update: (p: StepProgress) => void; readonly done: () => void } {
  const tty = stream.isTTY === true;
  let lastDecile = -1;
  let open = false;
  return {
    update(p) {
      const line = formatProgress(p, 24);
      if (tty) {
        const width = (stream.columns ?? 120) - 1;
        stream.write(`\r${line.slice(0, width).padEnd(width)}`);
        open = true;
        return;
      }
      const decile = Math.floor((p.step / p.steps) * 10);
      if (decile !== lastDecile) {
        lastDecile = decile;
        stream.write(`${line}\n`);
      }
    },
    done() {
      if (open) stream.write('\r\x1b[K');
      open = false;
      lastDecile = -1;
    },
  };
}
