/**
 * The classifier's model for the page: the ONNX export (@resnet/onnx, the lowering that
 * train:export uses) of a run's final model, else its latest checkpoint, written beside
 * site.json at build/serve time.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as E from 'fp-ts/Either';
import { toOnnx, ONNX_INPUT, ONNX_OUTPUT } from '@resnet/onnx';
import { runSpec } from '@resnet/recipe';
import { modelTensors, openRun, runWeights, type RunError } from '@resnet/run-dir';
import type { SiteModel } from './site_data.ts';

/** The way out when --runs does not name a run, in the web app's flags. */
export const RUN_HINT = 'pass a run directory written by train:serve (e.g. --runs=runs/smoke)';

/**
 * A run the web app cannot read, as one line in its own flags (the lib's errors name none).
 * @example runProblem({ _tag: 'NotARun', dir: 'x', exists: false, message: 'x does not exist' }) // 'x does not exist: pass a run directory written by train:serve (e.g. --runs=runs/smoke)'
 */
export function runProblem(e: RunError): string {
  return e._tag === 'NotARun' ? `${e.message}: ${RUN_HINT}` : e.message;
}

/** The file name of the model in the site. */
export const MODEL_FILE = 'model.onnx';

/**
 * Exports the first run that has weights to `dir/model.onnx` (or `options.file`, a path inside `dir`), or says why none can be.
 * @example exportModel(['runs/smoke'], 'public') // Right({ file: 'model.onnx', label: 'ResNet-18 v1.5', imageSize: 28, … })
 */
export function exportModel(
  runs: readonly string[],
  dir: string,
  options: { readonly file?: string } = {},
): E.Either<string, Omit<SiteModel, 'mean' | 'std'>> {
  const file = options.file ?? MODEL_FILE;
  for (const run of runs) {
    const opened = openRun(run);
    if (E.isLeft(opened)) return E.left(runProblem(opened.left));
    const weights = runWeights(run, opened.right);
    if (weights === null) continue;
    const config = opened.right.config;
    // The page feeds Fashion-MNIST's 28×28 images as they are; other sizes were resized in training.
    if (config.imageSize !== 28)
      return E.left(
        `No classifier: ${run} was trained at ${config.imageSize}×${config.imageSize} (protocol ${config.protocol}); the page classifies 28×28 images, so use a run of the default protocol.`,
      );
    const spec = runSpec(config);
    if (E.isLeft(spec)) return E.left(`${run}: ${spec.left.message}`);
    const tensors = modelTensors(weights.dir);
    if (E.isLeft(tensors)) return E.left(tensors.left);
    const bytes = toOnnx(spec.right.net, tensors.right, {
      inChannels: 1,
      imageSize: 28,
      metadata: { run, variant: String(config.variant), version: config.version },
    });
    if (E.isLeft(bytes)) return E.left(`${weights.dir}: ONNX export failed: ${bytes.left.message}`);
    writeFileSync(join(dir, file), bytes.right);
    const source = weights.final
      ? run
      : `${run} (latest checkpoint: epoch ${weights.latest?.epoch ?? '?'}, step ${weights.latest?.step ?? '?'})`;
    return E.right({
      file,
      run: source,
      label: `ResNet-${config.variant} ${config.version}`,
      imageSize: 28,
      input: ONNX_INPUT,
      output: ONNX_OUTPUT,
    });
  }
  if (runs.length === 0)
    return E.left(
      'No classifier: no run with a finished epoch yet (its model or checkpoint is what the page classifies with; restart web:serve once one has).',
    );
  return E.left(`No classifier: ${runs.join(', ')} has no saved model or checkpoint yet (train:serve writes one per epoch).`);
}
