/**
 * `nx run train:serve --variant=34` as a function of parsed flags: trains a ResNet on
 * Fashion-MNIST. Wires the data, backend, spec, interpreter and training libs, prints
 * progress and the seed report's two summary lines. main.ts runs it.
 */
import { existsSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import * as E from 'fp-ts/Either';
import { commandLine, type Command } from '@resnet/cli';
import { describeBackend, selectBackend } from '@resnet/backend';
import { CLASS_NAMES, describeSource, loadFashionMnist } from '@resnet/fashion-mnist';
import { initModel } from '@resnet/tfjs';
import { appendMetrics, createRun, createSgdState, FRESH, loadCheckpoint, openRun, restartRun, saveCheckpoint, saveModel, train, truncateMetrics, withReplan, writeAtomic, type EpochMetrics } from '@resnet/training';
import { resnet } from '@resnet/variants';
import { checkResumeFlags, resolveConfig, TRAIN_FLAGS, type TrainConfig, type TrainFlags } from './config.ts';
import { limitSplit } from './limit.ts';
import { progressReporter } from './progress.ts';

/** `npx nx run train:serve`. */
export const SERVE: Command<typeof TRAIN_FLAGS> = {
  target: 'train:serve',
  name: 'train',
  summary: [
    'Trains ResNet-18/34/50/101/152 (He et al. 2016) on Fashion-MNIST and writes a run directory (config.json, metrics.jsonl, checkpoints, model/).',
    'Interrupted (Ctrl-C, a crash, a kill)? Continue with --resume=<dir>; a run stopped before its first checkpoint starts again from scratch.',
  ].join('\n'),
  flags: TRAIN_FLAGS,
};

/**
 * Trains (or resumes) a run; returns the exit code: 0 done, 1 failure, 2 bad command line, 130 interrupted.
 * @example await serve(flags, ['--variant=18', '--epochs=1'])
 */
export async function serve(flags: TrainFlags, args: readonly string[]): Promise<number> {

  // 1. The run's config: from --resume's config.json, or from the protocol and flags.
  let config: TrainConfig;
  let runDir: string;
  let resumed: { readonly metrics: readonly EpochMetrics[] } | null = null;
  if (flags.resume !== null) {
    const allowed = checkResumeFlags(args);
    if (E.isLeft(allowed)) return fail(allowed.left, 2);
    const run = openRun<TrainConfig>(flags.resume);
    if (E.isLeft(run)) return fail(run.left.message, 2);
    runDir = flags.resume;
    config = run.right.config;
    if (run.right.latest === null) {
      if (flags.epochs !== null && flags.epochs !== config.epochs) return fail(`${runDir} has not finished an epoch yet, so there is nothing to extend: continue it without --epochs (npx nx run train:serve --resume=${runDir}), or start a new run`, 2);
      const restarted = restartRun(runDir);
      if (E.isLeft(restarted)) return fail(restarted.left.message, 1);
      console.log(`${runDir} has no checkpoint yet (it stopped before its first epoch ended): starting it again from scratch with the settings in its config.json`);
    } else {
      resumed = { metrics: run.right.metrics };
    }
  } else {
    const resolved = resolveConfig(flags);
    if (E.isLeft(resolved)) return fail(resolved.left, 2);
    config = resolved.right;
    runDir = flags.out ?? join('runs', `${config.variant}-${new Date().toISOString().replace(/[:.]/g, '-')}`);
  }
  const spec = resnet(config.variant, { version: config.version, inChannels: 1, classes: config.classes, stem: config.stem });
  if (E.isLeft(spec)) return fail(spec.left.message, 2);

  // 2. Backend and data, before anything is written.
  const backend = await selectBackend(flags.backend, { purpose: 'training' });
  if (E.isLeft(backend)) return fail(backend.left.message, 1);
  console.log(`backend: ${backend.right.reason}`);
  const data = await loadFashionMnist({ ...(flags['data-dir'] === null ? {} : { dataDir: flags['data-dir'] }), download: true });
  if (E.isLeft(data)) return fail(data.left.message, 1);
  console.log(describeSource(data.right.source));
  const trainSet = limitSplit(data.right.train, config.trainLimit);
  const testSet = limitSplit(data.right.test, config.testLimit);

  // 3. Model and optimizer; a new run directory or the last checkpoint.
  const model = initModel(spec.right.net, { seed: config.seed, zeroInitResidual: config.zeroInitResidual });
  const sgd = createSgdState(model.params);
  let start = FRESH;
  if (resumed !== null) {
    const progress = loadCheckpoint(runDir, model, sgd);
    if (E.isLeft(progress)) return fail(progress.left.message, 1);
    start = progress.right;
    truncateMetrics(runDir, start.epoch);
    const target = flags.epochs ?? config.epochs;
    if (start.epoch >= target && start.epoch === config.epochs && !existsSync(join(runDir, 'model', 'manifest.json'))) {
      // Stopped after its last checkpoint but before the final model was written.
      await saveModel(runDir, model, { spec: spec.right, classNames: CLASS_NAMES, imageSize: config.imageSize, epochs: config.epochs });
      console.log(`${runDir} had finished training but not saved its final model: saved it from the last checkpoint`);
      return 0;
    }
    if (start.epoch >= target) return fail(`${runDir} has already trained ${start.epoch} epochs; pass --epochs=N with N > ${start.epoch} to train further`, 2);
    // A new plan is written to config.json with when it changed (reports read both).
    // (config is the whole config.json as read, bookkeeping fields included.)
    if (target !== config.epochs) {
      config = withReplan(config, { afterEpoch: start.epoch, afterStep: start.step, from: config.epochs, to: target, at: new Date().toISOString() });
      writeAtomic(join(runDir, 'config.json'), `${JSON.stringify(config, null, 2)}\n`);
    }
    console.log(`resuming ${runDir} at epoch ${start.epoch + 1}${start.step > 0 ? `, step ${start.step + 1}` : ''} (${config.epochs} epochs planned)`);
  } else {
    const created = createRun(runDir, { ...config, createdAt: new Date().toISOString(), backend: describeBackend(), machine: describeMachine(), dataSource: data.right.source.dir, command: commandLine('train:serve', args) });
    if (E.isLeft(created)) return fail(created.left.message, 2);
    if (created.right === 'Restarted') console.log(`${runDir} held this run with no checkpoint yet (it stopped before its first epoch ended): starting it again from scratch`);
  }
  console.log(
    `ResNet-${config.variant} ${config.version} (${config.stem} stem), protocol ${config.protocol}: ${config.epochs} epochs, batch ${config.batchSize}, ${config.imageSize}×${config.imageSize}, ` +
      `${trainSet.count} train / ${testSet.count} test images → ${runDir}`,
  );

  // 4. Train. Ctrl-C (or SIGTERM) stops after the current step and saves a checkpoint; a second
  // one exits at once. (Run under `node --import tsx`: the tsx CLI wrapper SIGKILLs a child
  // that does not answer a relayed signal within 30 ms, which a busy training step cannot.)
  let stop = false;
  let stoppedAt = 0;
  const onSigint = () => {
    // nx and the terminal may deliver one Ctrl-C twice (SIGINT, then SIGTERM from nx): only a
    // second request more than 2 s later means "quit now".
    if (stop && Date.now() - stoppedAt > 2000) process.exit(130);
    if (stop) return;
    stop = true;
    stoppedAt = Date.now();
    console.error('\ninterrupted: finishing this step and saving a checkpoint (Ctrl-C again to quit without saving)');
  };
  process.on('SIGINT', onSigint);
  process.on('SIGTERM', onSigint);
  const bar = progressReporter(process.stdout);
  const history: EpochMetrics[] = [...(resumed?.metrics.filter((m) => m.epoch <= start.epoch) ?? [])];
  const outcome = await train({
    model,
    sgd,
    trainSet,
    testSet,
    start,
    options: {
      epochs: config.epochs,
      batchSize: config.batchSize,
      schedule: config.schedule,
      sgd: { momentum: config.momentum, nesterov: config.nesterov, weightDecay: config.weightDecay },
      labelSmoothing: config.labelSmoothing,
      imageSize: config.imageSize,
      augment: config.augment,
      seed: config.seed,
      classes: config.classes,
    },
    hooks: {
      onProgress: bar.update,
      shouldStop: () => stop,
      onEpoch: async (metrics, progress) => {
        bar.done();
        // Metrics first: a crash before the checkpoint is written resumes from the previous
        // one, which drops this line (truncateMetrics) and trains the epoch again.
        appendMetrics(runDir, metrics);
        await saveCheckpoint(runDir, model, sgd, progress);
        history.push(metrics);
        console.log(
          `epoch ${metrics.epoch}/${config.epochs}: loss ${metrics.loss.toFixed(4)}, train acc ${metrics.trainAcc.toFixed(3)}, test acc ${metrics.testAcc.toFixed(3)}, ` +
            `${metrics.examplesPerSec.toFixed(1)} examples/sec, lr ${metrics.lr.toFixed(4)}, ${metrics.seconds.toFixed(1)} s`,
        );
      },
      onInterrupt: async (progress) => {
        bar.done();
        await saveCheckpoint(runDir, model, sgd, progress);
        console.log(`saved a checkpoint after ${progress.step} steps of epoch ${progress.epoch + 1}; continue with: npx nx run train:serve --resume=${runDir}`);
      },
    },
  });
  process.off('SIGINT', onSigint);
  process.off('SIGTERM', onSigint);
  bar.done();
  if (E.isLeft(outcome)) return fail(outcome.left.message, 1);
  if (outcome.right.interrupted) return 130;

  await saveModel(runDir, model, { spec: spec.right, classNames: CLASS_NAMES, imageSize: config.imageSize, epochs: config.epochs });
  const last = history[history.length - 1];
  if (last !== undefined) {
    // The seed report's two summary lines (d2l's train_ch6 format).
    console.log(`loss ${last.loss.toFixed(3)}, train acc ${last.trainAcc.toFixed(3)}, test acc ${last.testAcc.toFixed(3)}`);
    const rate = history.reduce((s, m) => s + m.examplesPerSec, 0) / history.length;
    console.log(`${rate.toFixed(1)} examples/sec on ${backend.right.device}`);
  }
  console.log(`run directory: ${runDir} (evaluate with: npx nx run train:evaluate --run=${runDir})`);
  return 0;
}

function fail(message: string, code: number): number {
  console.error(`train: ${message}`);
  return code;
}

/** The machine a run was made on, for reports: CPU model and count, memory, OS. */
function describeMachine(): { readonly cpus: number; readonly cpuModel: string; readonly memoryGiB: number; readonly platform: string } {
  const list = cpus();
  return { cpus: list.length, cpuModel: list[0]?.model ?? 'unknown', memoryGiB: Math.round(totalmem() / 2 ** 30), platform: `${process.platform}-${process.arch}` };
}

