/**
 * How train:serve and train:sweep show a run: its events as lines, its failures as messages
 * that name flags and commands, and Ctrl-C turned into a checkpoint. Shared by both apps.
 */
import { cpus, totalmem } from 'node:os';
import { absurd } from 'fp-ts/function';
import type { RunEvent, RunFailure } from '@resnet/training';
import { progressReporter } from './progress.ts';

/** The lines a run prints for its events; the progress bar is ended before each line. */
export function eventPrinter(stream: NodeJS.WriteStream = process.stdout): { readonly onEvent: (e: RunEvent) => void; readonly bar: ReturnType<typeof progressReporter> } {
  const bar = progressReporter(stream);
  const say = (line: string) => {
    bar.done();
    stream.write(`${line}\n`);
  };
  const onEvent = (e: RunEvent): void => {
    switch (e._tag) {
      case 'Restarted':
        return say(`${e.dir} has no checkpoint yet (it stopped before its first epoch ended): starting it again from scratch with the settings in its config.json`);
      case 'Resumed':
        return say(`resuming ${e.dir} at epoch ${e.epoch + 1}${e.step > 0 ? `, step ${e.step + 1}` : ''} (${e.planned} epochs planned)`);
      case 'Started': {
        const c = e.config;
        return say(`ResNet-${c.variant} ${c.version} (${c.stem} stem), protocol ${c.protocol}: ${c.epochs} epochs, batch ${c.batchSize}, ${c.imageSize}×${c.imageSize}, ${e.trainCount} train / ${e.testCount} test images → ${e.dir}`);
      }
      case 'Epoch': {
        const m = e.metrics;
        return say(`epoch ${m.epoch}/${e.planned}: loss ${m.loss.toFixed(4)}, train acc ${m.trainAcc.toFixed(3)}, test acc ${m.testAcc.toFixed(3)}, ${m.examplesPerSec.toFixed(1)} examples/sec, lr ${m.lr.toFixed(4)}, ${m.seconds.toFixed(1)} s`);
      }
      case 'Interrupted':
        return say(`saved a checkpoint after ${e.progress.step} steps of epoch ${e.progress.epoch + 1}; continue with: npx nx run train:serve --resume=${e.dir}`);
      case 'SavedModel':
        return e.fromCheckpoint ? say(`${e.dir} had finished training but not saved its final model: saved it from the last checkpoint`) : undefined;
      default:
        return absurd(e);
    }
  };
  return { onEvent, bar };
}

/** A failure as one line that says what to do, and its exit code (2: the command line, 1: the data). */
export function failureMessage(f: RunFailure): { readonly message: string; readonly code: number } {
  switch (f._tag) {
    case 'RunDir':
      return { message: f.error.message, code: f.error._tag === 'Corrupt' || f.error._tag === 'Io' ? 1 : 2 };
    case 'Spec':
      return { message: f.error.message, code: 2 };
    case 'NothingToExtend':
      return { message: `${f.dir} has not finished an epoch yet, so there is nothing to extend (start a new run for ${f.epochs} epochs); continue it as planned with: npx nx run train:serve --resume=${f.dir}`, code: 2 };
    case 'AlreadyTrained':
      return { message: `${f.dir} has already trained ${f.epochsDone} epochs; pass --epochs=N with N > ${f.epochsDone} to train further`, code: 2 };
    case 'Training':
      return { message: f.error.message, code: 1 };
    default:
      return absurd(f);
  }
}

/**
 * Ctrl-C (or SIGTERM) asks the run to stop after the current step and save a checkpoint; a
 * second one more than 2 s later quits at once (nx and the terminal may deliver one Ctrl-C
 * twice: SIGINT, then SIGTERM). Apps run under `node --import tsx`: the tsx CLI wrapper
 * SIGKILLs a child that does not answer a relayed signal within 30 ms, which a busy step cannot.
 * @example const signals = stopOnSignals(); … trainRun(plan, { shouldStop: signals.requested }); signals.release();
 */
export function stopOnSignals(): { readonly requested: () => boolean; readonly release: () => void } {
  let stop = false;
  let stoppedAt = 0;
  const onSignal = () => {
    if (stop && Date.now() - stoppedAt > 2000) process.exit(130);
    if (stop) return;
    stop = true;
    stoppedAt = Date.now();
    console.error('\ninterrupted: finishing this step and saving a checkpoint (Ctrl-C again to quit without saving)');
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    requested: () => stop,
    release: () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}

/** The machine a run was made on, for reports: CPU model and count, memory, OS. */
export function describeMachine(): { readonly cpus: number; readonly cpuModel: string; readonly memoryGiB: number; readonly platform: string } {
  const list = cpus();
  return { cpus: list.length, cpuModel: list[0]?.model ?? 'unknown', memoryGiB: Math.round(totalmem() / 2 ** 30), platform: `${process.platform}-${process.arch}` };
}
