/**
 * `nx run train:export --run=<dir> --format=onnx|tfjs --out=<dir>` as a function of parsed
 * flags: a run's final model (else its latest checkpoint, with a notice) as an ONNX model
 * or a TensorFlow.js layers model. export_main.ts runs it; tests call it in-process.
 *
 * The lowering is in the libs (@resnet/onnx, @resnet/tfjs's toLayersModel): this file
 * reads the run, checks the flags and writes the files atomically.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import * as E from 'fp-ts/Either';
import { command, type Parsed, type Schema } from '@resnet/cli';
import { replaceDirectory } from '@resnet/files';
import { selectBackend } from '@resnet/backend';
import { CLASS_NAMES, FASHION_MNIST_MEAN, FASHION_MNIST_STD } from '@resnet/fashion-mnist';
import { ONNX_INPUT, ONNX_OPSET, ONNX_OUTPUT, toOnnx } from '@resnet/onnx';
import { toLayersModel } from '@resnet/tfjs';
import { runSpec } from '@resnet/recipe';
import { modelTensors, openRun, runWeights } from '@resnet/run-dir';
import { resumeCommand, runErrorMessage } from './run_output.ts';

/** Export formats. */
export const EXPORT_FORMATS = ['onnx', 'tfjs'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

/** Flags of `train:export` (none starts with a name nx claims). */
export const EXPORT_FLAGS = {
  run: { kind: 'string', default: null, help: 'run directory written by train:serve (required)' },
  format: {
    kind: 'enum',
    values: EXPORT_FORMATS,
    default: 'onnx',
    help: 'onnx: model.onnx for ONNX Runtime (NCHW input); tfjs: model.json + weights.bin for tf.loadLayersModel (NHWC input)',
  },
  out: {
    kind: 'string',
    default: null,
    help: 'folder to write (required): created, or a previous export replaced; anything else is refused',
    output: 'directory',
  },
} as const satisfies Schema;

/** `npx nx run train:export`. */
export const EXPORT = command('train:export', {
  summary:
    "Exports a run's final model (else its latest checkpoint, with a notice) as ONNX (model.onnx) or as a TensorFlow.js layers model (model.json + weights.bin), with export.json describing input and output.",
  flags: EXPORT_FLAGS,
});

/** The marker file of an export folder: what it holds and how to feed it. */
export const EXPORT_FORMAT = 'resnet-ts/export@1';

/** What `export.json` records. */
export interface ExportRecord {
  readonly format: typeof EXPORT_FORMAT;
  readonly exported: ExportFormat;
  readonly files: readonly string[];
  readonly run: string;
  readonly weights: string;
  readonly model: { readonly variant: number; readonly version: string; readonly stem: string; readonly classes: number };
  readonly input: {
    readonly name: string;
    readonly layout: 'NCHW' | 'NHWC';
    readonly shape: readonly (number | string)[];
    readonly normalise: string;
  };
  readonly output: { readonly name: string; readonly shape: readonly (number | string)[]; readonly classNames: readonly string[] };
}

/**
 * Exports; returns the exit code (0 written, 1 unreadable run data, 2 bad command line or
 * nothing to export). On any error nothing is written.
 * @example await exportRun({ run: 'runs/smoke', format: 'onnx', out: 'runs/smoke-onnx' }) // 0
 */
export async function exportRun(flags: Parsed<typeof EXPORT_FLAGS>): Promise<number> {
  const out = console;
  const fail = (message: string, code: number): number => {
    out.error(`export: ${message}`);
    return code;
  };
  if (flags.run === null) return fail('--run=<dir> is required: the run directory written by train:serve', 2);
  if (flags.out === null) return fail('--out=<dir> is required: the folder to write the export to', 2);
  const format: ExportFormat = flags.format === 'tfjs' ? 'tfjs' : 'onnx';
  const run = openRun(flags.run);
  if (E.isLeft(run)) return fail(runErrorMessage(run.left), 2);
  const config = run.right.config;
  const weights = runWeights(flags.run, run.right);
  if (weights === null)
    return fail(
      `${flags.run} has no saved model or checkpoint yet, so there are no weights to export: let it finish an epoch (${resumeCommand(flags.run)})`,
      2,
    );
  const outProblem = checkOut(flags.out, flags.run);
  if (outProblem !== null) return fail(outProblem, 2);
  const spec = runSpec(config);
  if (E.isLeft(spec)) return fail(spec.left.message, 2);

  const weightsDir = weights.dir;
  // The exporters check every tensor's key and shape against the spec.
  const tensors = modelTensors(weightsDir);
  if (E.isLeft(tensors)) return fail(tensors.left, 1);
  if (!weights.final && weights.latest !== null)
    out.log(
      `notice: ${flags.run} has no final model yet; exporting its latest checkpoint (epoch ${weights.latest.epoch}, step ${weights.latest.step}): ${weightsDir}`,
    );

  const size = config.imageSize;
  const files = new Map<string, Uint8Array>();
  let names = { input: ONNX_INPUT, output: ONNX_OUTPUT };
  if (format === 'onnx') {
    const bytes = toOnnx(spec.right.net, tensors.right, {
      inChannels: 1,
      imageSize: size,
      metadata: { variant: String(config.variant), version: config.version, stem: config.stem, run: flags.run },
    });
    if (E.isLeft(bytes)) return fail(`${weightsDir}: ${bytes.left.message}`, 1);
    files.set('model.onnx', bytes.right);
  } else {
    // tfjs serialises the layers model; the pure-JS backend is enough for that.
    const backend = await selectBackend('cpu', { purpose: 'inference' });
    if (E.isLeft(backend)) return fail(backend.left.message, 1);
    const artifacts = await toLayersModel(spec.right.net, tensors.right, { inChannels: 1, imageSize: size, weightsPath: 'weights.bin' });
    if (E.isLeft(artifacts)) return fail(`${weightsDir}: ${artifacts.left.message}`, 1);
    files.set('model.json', new TextEncoder().encode(`${JSON.stringify(artifacts.right.modelJson)}\n`));
    files.set('weights.bin', artifacts.right.weightData);
    names = { input: artifacts.right.inputName, output: artifacts.right.outputName };
  }
  const record: ExportRecord = {
    format: EXPORT_FORMAT,
    exported: format,
    files: [...files.keys()],
    run: flags.run,
    weights: weightsDir,
    model: { variant: config.variant, version: config.version, stem: config.stem, classes: config.classes },
    input:
      format === 'onnx'
        ? { name: names.input, layout: 'NCHW', shape: ['batch', 1, size, size], normalise: normaliseNote(size) }
        : { name: names.input, layout: 'NHWC', shape: ['batch', size, size, 1], normalise: normaliseNote(size) },
    output: { name: names.output, shape: ['batch', config.classes], classNames: CLASS_NAMES.slice(0, config.classes) },
  };
  files.set('export.json', new TextEncoder().encode(`${JSON.stringify(record, null, 2)}\n`));
  try {
    replaceDirectory(flags.out, files);
  } catch (e) {
    return fail(`cannot write ${flags.out}: ${(e as Error).message}`, 1);
  }
  const total = [...files.values()].reduce((n, b) => n + b.length, 0);
  const what =
    format === 'onnx'
      ? `ONNX opset ${ONNX_OPSET}, input "${ONNX_INPUT}" NCHW [batch, 1, ${size}, ${size}]`
      : `TensorFlow.js layers model, input NHWC [batch, ${size}, ${size}, 1]`;
  out.log(`export: ResNet-${config.variant} ${config.version} (${config.stem} stem) from ${weightsDir}`);
  out.log(
    `export: wrote ${[...files.keys()].map((f) => join(flags.out ?? '', f)).join(', ')} (${(total / 1e6).toFixed(1)} MB; ${what}, output logits [batch, ${config.classes}])`,
  );
  return 0;
}

function normaliseNote(size: number): string {
  const resize = size === 28 ? '' : `, then resized bilinearly (half-pixel centres) from 28×28 to ${size}×${size}`;
  return `grey values v in [0, 1] → (v − ${FASHION_MNIST_MEAN}) / ${FASHION_MNIST_STD}${resize}`;
}

/** null when `out` may be written: absent, or a previous export (replaced). */
function checkOut(out: string, run: string): string | null {
  if (resolve(out) === resolve(run)) return `--out=${out} is the run directory itself: choose another folder, e.g. --out=${out}-export`;
  if (!existsSync(out)) return existsSync(dirname(resolve(out))) ? null : `--out=${out}: the folder ${dirname(out)} does not exist`;
  if (!statSync(out).isDirectory()) return `--out=${out} exists and is a file, not a previous export: choose another --out`;
  if (!isPreviousExport(out))
    return `--out=${out} exists and is not a previous export (no ${EXPORT_FORMAT} export.json): choose another --out, or remove it`;
  return null;
}

function isPreviousExport(dir: string): boolean {
  try {
    return (JSON.parse(readFileSync(join(dir, 'export.json'), 'utf8')) as { format?: unknown }).format === EXPORT_FORMAT;
  } catch {
    return false;
  }
}
