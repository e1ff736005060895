/**
 * How the train apps show a run: its events as lines, its failures as messages that name
 * flags and commands (the libs report typed errors without them), and Ctrl-C turned into a
 * checkpoint record. serve and sweep use all of it; evaluate and export use runErrorMessage.
 */
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { absurd } from 'fp-ts/function';
import { formatGb } from '@resnet/format';
import type { StopRequests } from '@resnet/cli';
import { describeSystemError, LOCK_DIR } from '@resnet/files';
import { writeStopRecord, type RunError } from '@resnet/run-dir';
import { type RunEvent, type RunFailure, type TrainError } from '@resnet/training';
import { progressReporter } from './progress.ts';

/**
 * The lines a run prints for its events; the progress bar is ended before each line. A stop
 * goes to stderr with `continueWith(dir)`, the one command that continues (a sweep's own, in a sweep).
 */
export function eventPrinter(options: { readonly stream?: NodeJS.WriteStream; readonly continueWith?: (dir: string) => string } = {}): {
  readonly onEvent: (e: RunEvent) => void;
  readonly bar: ReturnType<typeof progressReporter>;
} {
  const stream = options.stream ?? process.stdout;
  const continueWith = options.continueWith ?? resumeCommand;
  const bar = progressReporter(stream);
  const say = (line: string, to: NodeJS.WriteStream = stream) => {
    bar.done();
    to.write(`${line}\n`);
  };
  const onEvent = (e: RunEvent): void => {
    switch (e._tag) {
      case 'TookOver':
        return say(
          `${e.dir} was locked by pid ${e.from.pid} (${e.from.command}, since ${e.from.startedAt}), which is no longer running: taking the run over`,
        );
      case 'Restarted':
        return say(
          `${e.dir} has no checkpoint yet (it stopped before its first epoch ended): starting it again from scratch with the settings in its config.json`,
        );
      case 'RepairedMetrics':
        return say(
          e.dropped.length === 0
            ? `${e.dir}/metrics.jsonl: nothing to cut (it holds the checkpoint's ${e.kept} epochs)`
            : `${e.dir}/metrics.jsonl cut back to the checkpoint's ${e.kept} epoch${e.kept === 1 ? '' : 's'}; dropped ${e.dropped.join('; ')}`,
        );
      case 'Resumed':
        return say(`resuming ${e.dir} at epoch ${e.epoch + 1}${e.step > 0 ? `, step ${e.step + 1}` : ''} (${e.planned} epochs planned)`);
      case 'Started': {
        const c = e.config;
        return say(
          `ResNet-${c.variant} ${c.version} (${c.stem} stem), protocol ${c.protocol}: ${c.epochs} epochs, batch ${c.batchSize}, ${c.imageSize}×${c.imageSize}, ${e.trainCount} train / ${e.testCount} test images → ${e.dir}` +
            (e.memory.estimateBytes === null
              ? ''
              : `\nmemory: a training step needs about ${formatGb(e.memory.estimateBytes)} (estimated from the spec; the epoch lines give the real peak); this machine has ${formatGb(e.memory.machineBytes)}`),
        );
      }
      case 'Epoch': {
        const m = e.metrics;
        return say(
          `epoch ${m.epoch}/${e.planned}: loss ${m.loss.toFixed(4)}, train acc ${m.trainAcc.toFixed(3)}, test acc ${m.testAcc.toFixed(3)}, ${m.examplesPerSec.toFixed(1)} examples/sec, lr ${m.lr.toFixed(4)}, ${m.seconds.toFixed(1)} s${m.peakRssBytes === undefined ? '' : `, peak memory ${formatGb(m.peakRssBytes)}`}`,
        );
      }
      case 'Interrupted':
        return say(
          `saved a checkpoint after ${e.progress.step} steps of epoch ${e.progress.epoch + 1} in ${e.dir}; continue with: ${continueWith(e.dir)}`,
          process.stderr,
        );
      case 'SavedModel':
        return e.fromCheckpoint
          ? say(`${e.dir} had finished training but not saved its final model: saved it from the last checkpoint`)
          : undefined;
      default:
        return absurd(e);
    }
  };
  return { onEvent, bar };
}

/** The exit codes of the apps that train, beyond every app's. */
export const INTERRUPTED_EXIT: Readonly<Record<number, string>> = {
  130: "stopped by a signal (Ctrl-C, SIGTERM, SIGHUP) or by its launcher's death (npx or nx killed), after saving a checkpoint; the run's stopped.json says how to continue",
};

/**
 * `onEvent` that also writes the run's stopped.json when the run stops on request: why
 * (`stop.reason()`), where, and `continueWith(dir)`.
 * @example const onEvent = recordingStops(printer.onEvent, stop, resumeCommand)
 */
export function recordingStops(
  onEvent: (e: RunEvent) => void,
  stop: Pick<StopRequests, 'reason'>,
  continueWith: (dir: string) => string,
): (e: RunEvent) => void {
  return (e) => {
    if (e._tag === 'Interrupted')
      writeStopRecord(e.dir, {
        reason: stop.reason() ?? 'a stop request',
        epoch: e.progress.epoch,
        step: e.progress.step,
        continueWith: continueWith(e.dir),
      });
    onEvent(e);
  };
}

/** A failure as one line that says what to do, and its exit code (2: the command line, 1: the data). */
export function failureMessage(f: RunFailure): { readonly message: string; readonly code: number } {
  switch (f._tag) {
    case 'RunDir':
      return {
        message: runErrorMessage(f.error),
        code: f.error._tag === 'Corrupt' || f.error._tag === 'Io' || f.error._tag === 'Busy' ? 1 : 2,
      };
    case 'Spec':
      return { message: f.error.message, code: 2 };
    case 'NothingToExtend':
      return {
        message: `${f.dir} has not finished an epoch yet, so there is nothing to extend (start a new run for ${f.epochs} epochs); continue it as planned with: ${resumeCommand(f.dir)}`,
        code: 2,
      };
    case 'AlreadyTrained':
      return {
        message: `${f.dir} has already trained ${f.epochsDone} epochs; pass --epochs=N with N > ${f.epochsDone} to train further`,
        code: 2,
      };
    case 'NotResumable':
      return {
        message: `${f.dir} is a reference run made by ${f.madeBy}, not by train:serve: it cannot be resumed; train our run into a new directory with npx nx run train:serve --out=<dir>`,
        code: 2,
      };
    case 'Unrepairable':
      return { message: f.message, code: 1 };
    case 'Precision':
      return {
        message: `${f.dir} trains in ${f.recorded} (its config.json), but the backend computes in ${f.active}: select the backend with precision ${f.recorded} (train:serve and train:sweep do so from the run's config.json)`,
        code: 1,
      };
    case 'Memory': {
      const fix =
        f.fits > 0
          ? `batch ${f.fits} fits: add --mini-batch=${f.fits} (or a smaller --image-size)`
          : 'not even batch 1 fits: use a smaller --image-size or a shallower --variant';
      return {
        message: `ResNet-${f.variant} at ${f.imageSize}×${f.imageSize}, batch ${f.batchSize}: a training step needs about ${formatGb(f.estimateBytes)} (estimated from the spec), more than this machine's ${formatGb(f.machineBytes)}; ${fix}. Nothing was written to ${f.dir}`,
        code: 1,
      };
    }
    case 'Training':
      return { message: trainErrorMessage(f.error), code: 1 };
    case 'Write': {
      const after =
        f.checkpoint === null
          ? `no checkpoint was written yet: once that is fixed, start the run again with the same command`
          : `the run's last checkpoint (epoch ${f.checkpoint.epoch}${f.checkpoint.step > 0 ? `, step ${f.checkpoint.step}` : ''}) and the metrics up to it are intact: once that is fixed, continue with: ${resumeCommand(f.dir)}`;
      return { message: `${describeSystemError(f.error)}; ${after}`, code: 1 };
    }
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
      return e.holds === 'run'
        ? `${e.message}: choose another --out, or continue that run with: ${resumeCommand(e.dir)}`
        : `${e.message}: choose an empty or new --out`;
    case 'Corrupt':
      // A damaged metrics line names its file and line, which is the fix; a damaged checkpoint is replaced by training again.
      return e.part === 'metrics' ? e.message : `${e.message}. ${freshStart(e.dir)}`;
    case 'Busy':
      if (e.owner === null) return `${e.message}: try again in a moment`;
      return e.sameHost
        ? `${e.message}: wait for it to end, or stop it (kill ${e.owner.pid} saves a checkpoint), then continue with: ${resumeCommand(e.dir)}`
        : `${e.message}: if that process is gone (its machine restarted, its job killed), release the run with rm -r ${join(e.dir, LOCK_DIR)} and continue with: ${resumeCommand(e.dir)}`;
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

/** The machine a run was made on, for reports: CPU model and count, memory, OS. */
export function describeMachine(): {
  readonly cpus: number;
  readonly cpuModel: string;
  readonly memoryGiB: number;
  readonly platform: string;
} {
  const list = cpus();
  return {
    cpus: list.length,
    cpuModel: list[0]?.model ?? 'unknown',
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    platform: `${process.platform}-${process.arch}`,
  };
}
