/**
 * `nx run train:serve --variant=34` as a function of parsed flags: trains a ResNet on
 * Fashion-MNIST. Wires the data, backend, spec, interpreter and training libs, prints
 * progress and the seed report's two summary lines. main.ts runs it.
 */
import { join } from 'node:path';
import * as E from 'fp-ts/Either';
import { command, commandLine, stopRequests } from '@resnet/cli';
import { checkOutputPath, describeOutputPathError } from '@resnet/files';
import { describeBackend, selectBackend } from '@resnet/backend';
import { describeSource, loadFashionMnist } from '@resnet/fashion-mnist';
import { runSpec } from '@resnet/recipe';
import { checkUnowned, readRunConfig } from '@resnet/run-dir';
import { trainRun, type RunPlan } from '@resnet/training';
import { checkResumeFlags, dataOptions, resolveConfig, TRAIN_FLAGS, type TrainConfig, type TrainFlags } from './config.ts';
import {
  describeMachine,
  eventPrinter,
  failureMessage,
  INTERRUPTED_EXIT,
  recordingStops,
  resumeCommand,
  runErrorMessage,
} from './run_output.ts';

/** `npx nx run train:serve`. */
export const SERVE = command('train:serve', {
  summary: [
    'Trains ResNet-18/34/50/101/152 (He et al. 2016) on Fashion-MNIST and writes a run directory (config.json, metrics.jsonl, checkpoints, model/).',
    'Interrupted (Ctrl-C, SIGTERM, SIGHUP, npx or nx killed, a crash)? Continue with --resume=<dir>; a run stopped before its first checkpoint starts again from scratch.',
  ].join('\n'),
  flags: TRAIN_FLAGS,
  exitCodes: INTERRUPTED_EXIT,
});

/**
 * Trains (or resumes) a run; returns the exit code: 0 done, 1 failure, 2 bad command line, 130 interrupted.
 * @example await serve(flags, ['--variant=18', '--epochs=1'])
 */
export async function serve(flags: TrainFlags, args: readonly string[]): Promise<number> {
  // 1. What to train: the run in --resume, or a new one from the protocol and flags.
  let plan: RunPlan | { readonly _tag: 'New'; readonly dir: string; readonly config: TrainConfig };
  if (flags.resume !== null) {
    const allowed = checkResumeFlags(args);
    if (E.isLeft(allowed)) return fail(allowed.left, 2);
    plan = { _tag: 'Continue', dir: flags.resume, epochs: flags.epochs, repairMetrics: flags['repair-metrics'] };
  } else {
    if (flags['repair-metrics']) return fail('--repair-metrics repairs a run being continued: give it with --resume=<run directory>', 2);
    const resolved = resolveConfig(flags);
    if (E.isLeft(resolved)) return fail(resolved.left, 2);
    const spec = runSpec(resolved.right);
    if (E.isLeft(spec)) return fail(spec.left.message, 2);
    plan = {
      _tag: 'New',
      dir: flags.out ?? join('runs', `${resolved.right.variant}-${new Date().toISOString().replace(/[:.]/g, '-')}`),
      config: resolved.right,
    };
    // --out was checked with the flags; the default under runs/ is checked here, before any work.
    const problem = flags.out === null ? checkOutputPath(plan.dir, 'directory') : null;
    if (problem !== null)
      return fail(`cannot create the run directory ${plan.dir}: ${describeOutputPathError(problem)}; choose one with --out`, 2);
  }

  // A run another process trains is refused now, not after the data is loaded.
  const unowned = checkUnowned(plan.dir);
  if (E.isLeft(unowned)) return fail(runErrorMessage(unowned.left), 1);

  // 2. Backend and data, before anything is written. A resumed run keeps the precision its
  // config.json records (a run that cannot be read fails in trainRun, which names the file).
  const resumed = plan._tag === 'Continue' ? readRunConfig(plan.dir) : null;
  const precision = plan._tag === 'New' ? plan.config.precision : resumed !== null && E.isRight(resumed) ? resumed.right.precision : 'fp32';
  const backend = await selectBackend(flags.backend, { purpose: 'training', precision });
  if (E.isLeft(backend)) return fail(`${backend.left.message}${backend.left._tag === 'NoBf16' ? '' : ' (choose one with --backend)'}`, 1);
  console.log(`backend: ${backend.right.reason}`);
  const data = await loadFashionMnist(dataOptions(flags['data-dir']));
  if (E.isLeft(data)) return fail(data.left.message, 1);
  console.log(describeSource(data.right.source));

  // 3. Train; a signal (or npx/nx killed) stops after the current step with a checkpoint.
  const run: RunPlan =
    plan._tag === 'New'
      ? {
          _tag: 'Start',
          dir: plan.dir,
          config: plan.config,
          bookkeeping: {
            createdAt: new Date().toISOString(),
            backend: describeBackend(),
            machine: describeMachine(),
            dataSource: data.right.source.dir,
            command: commandLine('train:serve', args),
          },
        }
      : plan;
  const stop = stopRequests('train', 'finishing this step and saving a checkpoint');
  const printer = eventPrinter();
  const onEvent = recordingStops(printer.onEvent, stop, resumeCommand);
  const result = await trainRun(run, {
    data: data.right,
    onEvent,
    onProgress: printer.bar.update,
    shouldStop: stop.requested,
    checkpointMinutes: flags['checkpoint-minutes'],
    command: commandLine('train:serve', args),
  });
  stop.release();
  printer.bar.done();
  if (E.isLeft(result)) {
    const failure = failureMessage(result.left);
    return fail(failure.message, failure.code);
  }
  if (result.right.interrupted) return 130;
  const { history, dir } = result.right;
  const last = history[history.length - 1];
  if (last !== undefined) {
    // The seed report's two summary lines (d2l's train_ch6 format).
    console.log(`loss ${last.loss.toFixed(3)}, train acc ${last.trainAcc.toFixed(3)}, test acc ${last.testAcc.toFixed(3)}`);
    const rate = history.reduce((s, m) => s + m.examplesPerSec, 0) / history.length;
    console.log(`${rate.toFixed(1)} examples/sec on ${backend.right.device}`);
  }
  console.log(`run directory: ${dir} (evaluate with: npx nx run train:evaluate --run=${dir})`);
  return 0;
}

function fail(message: string, code: number): number {
  console.error(`train: ${message}`);
  return code;
}
