/**
 * How the train apps show a run: its events as lines, its failures as messages that name
 * flags and commands (the libs report typed errors without them), and Ctrl-C turned into a
 * checkpoint. serve and sweep use all of it; evaluate and export use runErrorMessage.
 */
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { absurd } from 'fp-ts/function';
import type { RunError, RunEvent, RunFailure, TrainError } from '@resnet/training';
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
        return say(`saved a checkpoint after ${e.progress.step} steps of epoch ${e.progress.epoch + 1}; continue with: ${resumeCommand(e.dir)}`);
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
      return { message: runErrorMessage(f.error), code: f.error._tag === 'Corrupt' || f.error._tag === 'Io' ? 1 : 2 };
    case 'Spec':
      return { message: f.error.message, code: 2 };
    case 'NothingToExtend':
      return { message: `${f.dir} has not finished an epoch yet, so there is nothing to extend (start a new run for ${f.epochs} epochs); continue it as planned with: ${resumeCommand(f.dir)}`, code: 2 };
    case 'AlreadyTrained':
      return { message: `${f.dir} has already trained ${f.epochsDone} epochs; pass --epochs=N with N > ${f.epochsDone} to train further`, code: 2 };
    case 'NotResumable':
      return { message: `${f.dir} is a reference run made by ${f.madeBy}, not by train:serve: it cannot be resumed; train our run into a new directory with npx nx run train:serve --out=<dir>`, code: 2 };
    case 'Training':
      return { message: trainErrorMessage(f.error), code: 1 };
    default:
      return absurd(f);
  }
}

/**
 * A run directory that cannot be used, as one line with the way out in train's flags and
 * commands (`--out`, `--resume`); every train app that reads or writes runs words it so.
 * @example runErrorMessage({ _tag: 'NotARun', dir: 'runs/x', exists: false, message: 'runs/x does not exist' })
 * // 'runs/x does not exist: pass a directory written by train:serve --out'
 */
export function runErrorMessage(e: RunError): string {
  switch (e._tag) {
    case 'NotARun':
      return `${e.message}: pass a directory written by train:serve --out`;
    case 'NotADirectory':
      return `--out=${e.dir} is a file, not a directory: choose another --out`;
    case 'AlreadyStarted':
      return `${e.message} (choose another --out for a new one); continue it with: ${resumeCommand(e.dir)}`;
    case 'DifferentRun':
      return e.holds === 'run' ? `${e.message}: choose another --out, or continue that run with: ${resumeCommand(e.dir)}` : `${e.message}: choose an empty or new --out`;
    case 'Corrupt':
      // A damaged metrics line names its file and line, which is the fix; a damaged checkpoint is replaced by training again.
      return e.part === 'metrics' ? e.message : `${e.message}. ${freshStart(e.dir)}`;
    case 'BadConfig':
    case 'NoCheckpoint':
    case 'Io':
      return e.message;
    default:
      return absurd(e);
  }
}

function trainErrorMessage(e: TrainError): string {
  switch (e._tag) {
    case 'NonFinite':
      return `${e.message}. Lower --lr or add warmup (--schedule=cosine)`;
    default:
      return absurd(e._tag);
  }
}

/**
 * The command that continues the run in `dir`.
 * @example resumeCommand('runs/smoke') // 'npx nx run train:serve --resume=runs/smoke'
 */
export function resumeCommand(dir: string): string {
  return `npx nx run train:serve --resume=${dir}`;
}

/** How to get going again when the latest checkpoint is unusable. */
function freshStart(dir: string): string {
  return `To start the run again from scratch, remove ${join(dir, 'latest.json')} and ${join(dir, 'checkpoints')}, then run: ${resumeCommand(dir)}`;
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
