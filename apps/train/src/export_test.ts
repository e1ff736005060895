/**
 * @jest-environment ../../tools/jest/ort_environment.cjs
 */
// train:export end to end, in-process: a tiny run trained by the training lib, exported by
// the app function, then run by ONNX Runtime and by tfjs's own loader (over HTTP, as a web
// page would); and every refusal: one line, exit code 2, nothing written.
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import * as E from 'fp-ts/Either';
import * as ort from 'onnxruntime-node';
import { selectBackend } from '@resnet/backend';
import { parseCommand, parseFlags } from '@resnet/cli';
import { loadFashionMnist, type Split } from '@resnet/fashion-mnist';
import { disposeModel, forward, initModel, type Model } from '@resnet/tfjs';
import { appendMetrics, createRun, FRESH } from '@resnet/run-dir';
import { createSgdState, disposeSgdState, makeBatch, NO_AUGMENT, restoreTensors, saveCheckpoint, saveModel, train } from '@resnet/training';
import { resnet } from '@resnet/variants';
import { resolveConfig, TRAIN_FLAGS, type TrainConfig } from './config.ts';
import { EVALUATE, evaluateRun, type PredictionsFile } from './evaluate.ts';
import { EXPORT, exportRun, EXPORT_FORMAT, type ExportRecord } from './export.ts';

// As the other apps' tests: skipped with a notice without the real data, except on CI, which installs it.
const REAL_DATA = existsSync('/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz') || process.env['CI'] === 'true';
if (!REAL_DATA)
  console.log('skipped: the first-100-test-images check (no Fashion-MNIST at /usr/share/datasets; apt-get install dataset-fashion-mnist)');
const TOLERANCE = 1e-4;

let root: string;
let run: string;
let config: TrainConfig;
let testSet: Split;
/** The backend the run trained on (onednn when its addon is built): the 100-image check predicts there. */
let trainedOn: string;

/** A synthetic split: seeded noise images, labels cycling through the classes. */
function syntheticSplit(count: number, seed: number): Split {
  let s = seed;
  const images = Uint8Array.from({ length: count * 28 * 28 }, () => ((s = (s * 1103515245 + 12345) >>> 0) >>> 24) & 255);
  return { images, labels: Uint8Array.from({ length: count }, (_, i) => i % 10), count, height: 28, width: 28 };
}

function flags(args: readonly string[]) {
  const parsed = parseCommand(EXPORT, args, { log: () => undefined, error: () => undefined });
  if (E.isLeft(parsed)) throw new Error(`bad test flags ${args.join(' ')}`);
  return parsed.right;
}

/** Runs the app function, capturing what it prints. */
async function exportWith(args: readonly string[]): Promise<{ readonly code: number; readonly stdout: string; readonly stderr: string }> {
  const stdout: string[] = [];
  const stderr: string[] = [];
  const log = jest.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void stdout.push(a.join(' ')));
  const error = jest.spyOn(console, 'error').mockImplementation((...a: unknown[]) => void stderr.push(a.join(' ')));
  try {
    const code = await exportRun(flags(args));
    return { code, stdout: stdout.join('\n'), stderr: stderr.join('\n') };
  } finally {
    log.mockRestore();
    error.mockRestore();
  }
}

/** The run's own model, restored from `weights`, as the reference. */
function restored(weights: string): Model {
  const spec = resnet(config.variant, { version: config.version, inChannels: 1, classes: config.classes, stem: config.stem });
  if (E.isLeft(spec)) throw new Error(spec.left.message);
  const model = initModel(spec.right.net);
  const ok = restoreTensors(weights, { params: model.params, state: model.state });
  if (E.isLeft(ok)) throw new Error(ok.left);
  return model;
}

function testImages(split: Split, count: number): tf.Tensor4D {
  const { x, y } = makeBatch(
    split,
    Int32Array.from({ length: count }, (_, i) => i),
    { imageSize: config.imageSize, augment: NO_AUGMENT, seed: 0, epoch: 0, step: 0 },
  );
  y.dispose();
  return x;
}

/**
 * tf.loadLayersModel over HTTP from `url`. Under jest, JSON parsed by Node's own fetch
 * holds arrays of another realm, which tfjs-layers' `instanceof Array` checks reject, so
 * the body is fetched for real and parsed here; outside jest tfjs's default fetch does this.
 */
function loadOverHttp(url: string): Promise<tf.LayersModel> {
  const fetchFunc = async (input: string | URL | Request): Promise<Response> => {
    const response = await fetch(input);
    const body = await response.arrayBuffer();
    return {
      ok: response.ok,
      status: response.status,
      json: async () => JSON.parse(new TextDecoder().decode(body)) as unknown,
      arrayBuffer: async () => body,
    } as unknown as Response;
  };
  return tf.loadLayersModel(tf.io.http(url, { fetchFunc }));
}

async function onnxRun(session: ort.InferenceSession, x: tf.Tensor4D): Promise<Float32Array> {
  const [n, h, w, c] = x.shape;
  const nchw = tf.tidy(() => tf.transpose(x, [0, 3, 1, 2]).dataSync() as Float32Array);
  const out = await session.run({ input: new ort.Tensor('float32', Float32Array.from(nchw), [n, c, h, w]) });
  return Float32Array.from((out['logits']?.data ?? []) as Float32Array);
}

function maxDiff(a: Float32Array, b: Float32Array): { readonly diff: number; readonly scale: number } {
  expect(b.length).toBe(a.length);
  return {
    diff: a.reduce((m, v, i) => Math.max(m, Math.abs(v - (b[i] ?? NaN))), 0),
    scale: a.reduce((m, v) => Math.max(m, Math.abs(v)), 0),
  };
}

function argmax(logits: Float32Array, classes: number): number[] {
  return Array.from({ length: logits.length / classes }, (_, i) => {
    const row = logits.subarray(i * classes, (i + 1) * classes);
    return row.indexOf(Math.max(...row));
  });
}

/** Serves `dir` on 127.0.0.1 (any free port), as a static web server would. */
async function serve(dir: string): Promise<{ readonly url: string; readonly server: Server }> {
  const server = createServer((req, res) => {
    const file = join(dir, (req.url ?? '/').split('?')[0] ?? '/');
    if (!existsSync(file)) {
      res.writeHead(404).end();
      return;
    }
    res
      .writeHead(200, { 'content-type': file.endsWith('.json') ? 'application/json' : 'application/octet-stream' })
      .end(readFileSync(file));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return { url: `http://127.0.0.1:${address.port}`, server };
}

beforeAll(async () => {
  // Training is fast on the onednn backend (when its addon is built); on the pure-JS backend
  // two steps of ResNet-18 at 28×28 take a minute, so there the run trains at 8×8.
  const backend = await selectBackend('auto', { purpose: 'training' });
  if (E.isLeft(backend)) throw new Error(backend.left.message);
  const imageSize = tf.getBackend() === 'cpu' ? 8 : 28;
  root = mkdtempSync(join(tmpdir(), 'train-export-'));
  run = join(root, 'run');
  const parsed = parseFlags(
    ['--variant=18', '--epochs=1', '--mini-batch=8', '--train-limit=16', '--test-limit=8', `--image-size=${imageSize}`],
    TRAIN_FLAGS,
  );
  if (E.isLeft(parsed)) throw new Error('bad train flags');
  const resolved = resolveConfig(parsed.right);
  if (E.isLeft(resolved)) throw new Error(resolved.left);
  config = resolved.right;
  const created = createRun(run, config);
  if (E.isLeft(created)) throw new Error(created.left.message);
  // Two SGD steps on synthetic images: enough to move every weight and batch-norm statistic.
  const spec = resnet(config.variant, { version: config.version, inChannels: 1, classes: config.classes, stem: config.stem });
  if (E.isLeft(spec)) throw new Error(spec.left.message);
  const model = initModel(spec.right.net, { seed: 1, zeroInitResidual: config.zeroInitResidual });
  const sgd = createSgdState(model.params);
  testSet = syntheticSplit(8, 2);
  const trained = await train({
    model,
    sgd,
    trainSet: syntheticSplit(16, 1),
    testSet,
    options: { ...config, sgd: { momentum: config.momentum, nesterov: config.nesterov, weightDecay: config.weightDecay } },
    start: FRESH,
    hooks: {
      onEpoch: async (metrics, progress) => {
        appendMetrics(run, metrics);
        await saveCheckpoint(run, model, sgd, progress);
      },
    },
  });
  if (E.isLeft(trained)) throw new Error(trained.left.message);
  await saveModel(run, model, { spec: spec.right });
  disposeSgdState(sgd);
  disposeModel(model);
  trainedOn = tf.getBackend();
  await tf.setBackend('cpu');
  (tf.backend() as unknown as { firstUse?: boolean }).firstUse = false;
}, 120_000);

afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('train:export of a tiny trained run', () => {
  test('--format=onnx writes model.onnx and export.json; ONNX Runtime gives the logits of the tfjs forward pass at batch 1 and 7', async () => {
    const out = join(root, 'onnx');
    const r = await exportWith([`--run=${run}`, '--format=onnx', `--out=${out}`]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`wrote ${join(out, 'model.onnx')}`);
    expect(readdirSync(out).sort()).toEqual(['export.json', 'model.onnx']);
    const record = JSON.parse(readFileSync(join(out, 'export.json'), 'utf8')) as ExportRecord;
    expect(record).toMatchObject({
      format: EXPORT_FORMAT,
      exported: 'onnx',
      weights: join(run, 'model'),
      input: { name: 'input', layout: 'NCHW', shape: ['batch', 1, config.imageSize, config.imageSize] },
      output: { name: 'logits' },
    });

    const session = await ort.InferenceSession.create(readFileSync(join(out, 'model.onnx')));
    const model = restored(join(run, 'model'));
    for (const batch of [1, 7]) {
      const x = testImages(testSet, batch);
      const reference = tf.tidy(() => forward(model, x, { training: false }).dataSync() as Float32Array);
      const { diff, scale } = maxDiff(reference, await onnxRun(session, x));
      expect(diff).toBeLessThanOrEqual(TOLERANCE * scale);
      x.dispose();
    }
    disposeModel(model);
    await session.release();
  });

  test('--format=tfjs writes model.json and weights.bin that tf.loadLayersModel reads over HTTP, with the same logits at batch 1 and 7', async () => {
    const out = join(root, 'tfjs');
    const r = await exportWith([`--run=${run}`, '--format=tfjs', `--out=${out}`]);
    expect(r.code).toBe(0);
    expect(readdirSync(out).sort()).toEqual(['export.json', 'model.json', 'weights.bin']);
    const { url, server } = await serve(out);
    try {
      const loaded = await loadOverHttp(`${url}/model.json`);
      const model = restored(join(run, 'model'));
      for (const batch of [1, 7]) {
        const x = testImages(testSet, batch);
        const reference = tf.tidy(() => forward(model, x, { training: false }).dataSync() as Float32Array);
        const { diff, scale } = maxDiff(
          reference,
          tf.tidy(() => (loaded.predict(x) as tf.Tensor).dataSync() as Float32Array),
        );
        expect(diff).toBeLessThanOrEqual(TOLERANCE * scale);
        x.dispose();
      }
      loaded.dispose();
      disposeModel(model);
    } finally {
      server.close();
    }
  });

  test('a run with a checkpoint but no final model is exported from its checkpoint, with a notice', async () => {
    const partial = join(root, 'partial');
    cpSync(run, partial, { recursive: true });
    rmSync(join(partial, 'model'), { recursive: true });
    const r = await exportWith([`--run=${partial}`, '--format=onnx', `--out=${join(root, 'partial-onnx')}`]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^notice: .* has no final model yet; exporting its latest checkpoint \(epoch 1, step 0\)/m);
    expect((JSON.parse(readFileSync(join(root, 'partial-onnx', 'export.json'), 'utf8')) as ExportRecord).weights).toContain(
      join(partial, 'checkpoints'),
    );
  });

  test('exporting again into a previous export replaces it and leaves no temporary folders', async () => {
    const out = join(root, 'again');
    expect((await exportWith([`--run=${run}`, '--format=tfjs', `--out=${out}`])).code).toBe(0);
    expect((await exportWith([`--run=${run}`, '--format=onnx', `--out=${out}`])).code).toBe(0);
    expect(readdirSync(out).sort()).toEqual(['export.json', 'model.onnx']);
    expect(readdirSync(root).filter((f) => f.includes('.tmp-') || f.includes('.old-'))).toEqual([]);
  });

  (REAL_DATA ? test : test.skip)(
    'the first 100 Fashion-MNIST test images get the same class from ONNX Runtime, from the tfjs export and from train:evaluate',
    async () => {
      const predictionsFile = join(root, 'predictions.json');
      const quiet = jest.spyOn(console, 'log').mockImplementation(() => undefined);
      const evaluated = parseCommand(EVALUATE, [`--run=${run}`, '--test-limit=100', `--predictions=${predictionsFile}`]);
      if (E.isLeft(evaluated)) throw new Error('bad evaluate flags');
      const code = await evaluateRun(evaluated.right);
      quiet.mockRestore();
      expect(code).toBe(0);
      // The exported model on the backend the run trained on: on pure-JS cpu, 100 forward passes
      // of ResNet-18 at 28×28 took 45 of this test's 55 s; what is checked is the export, not a backend.
      await tf.setBackend(trainedOn);
      const predicted = (JSON.parse(readFileSync(predictionsFile, 'utf8')) as PredictionsFile).predictions.map((p) => p.predicted);
      expect(predicted).toHaveLength(100);

      const data = await loadFashionMnist({ download: false });
      if (E.isLeft(data)) throw new Error(data.left.message);
      const x = testImages(data.right.test, 100);
      const session = await ort.InferenceSession.create(readFileSync(join(root, 'onnx', 'model.onnx')));
      const viaOnnx = await onnxRun(session, x);
      const { url, server } = await serve(join(root, 'tfjs'));
      const fromHttp = await loadOverHttp(`${url}/model.json`);
      const viaHttp = tf.tidy(() => (fromHttp.predict(x) as tf.Tensor).dataSync() as Float32Array);
      server.close();
      expect(argmax(viaOnnx, 10)).toEqual(predicted);
      expect(argmax(viaHttp, 10)).toEqual(predicted);
      const { diff, scale } = maxDiff(viaHttp, viaOnnx);
      expect(diff).toBeLessThanOrEqual(TOLERANCE * scale);
      console.log(
        `first 100 test images: same class in ONNX Runtime, the tfjs export and train:evaluate; largest logit difference ONNX vs tfjs export ${diff.toExponential(2)} (logits up to ${scale.toFixed(2)})`,
      );
      x.dispose();
      fromHttp.dispose();
      await session.release();
      await tf.setBackend('cpu');
    },
  );
});

describe('train:export refuses bad input with one line, exit code 2 and nothing written', () => {
  test('no such run', async () => {
    const out = join(root, 'none-out');
    const r = await exportWith([`--run=${join(root, 'no-such-run')}`, `--out=${out}`]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(`export: ${join(root, 'no-such-run')} does not exist: pass a directory written by train:serve --out`);
    expect(existsSync(out)).toBe(false);
  });

  test('a run without any weights', async () => {
    const empty = join(root, 'empty-run');
    const created = createRun(empty, config);
    if (E.isLeft(created)) throw new Error(created.left.message);
    const out = join(root, 'empty-out');
    const r = await exportWith([`--run=${empty}`, `--out=${out}`]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      /^export: .*empty-run has no saved model or checkpoint yet, so there are no weights to export: let it finish an epoch \(npx nx run train:serve --resume=.*\)$/,
    );
    expect(existsSync(out)).toBe(false);
  });

  test('an --out that exists and is not a previous export', async () => {
    const out = join(root, 'precious');
    mkdirSync(out);
    writeFileSync(join(out, 'notes.txt'), 'keep me');
    const r = await exportWith([`--run=${run}`, `--out=${out}`]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      `export: --out=${out} exists and is not a previous export (no ${EXPORT_FORMAT} export.json): choose another --out, or remove it`,
    );
    expect(readdirSync(out)).toEqual(['notes.txt']);
  });

  test('an unknown format', () => {
    const errors: string[] = [];
    const parsed = parseCommand(EXPORT, [`--run=${run}`, '--format=keras', `--out=${join(root, 'keras')}`], {
      log: () => undefined,
      error: (line: string) => void errors.push(line),
    });
    expect(parsed).toEqual(E.left(2));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/^export: --format must be one of onnx, tfjs, got "keras"/);
    expect(existsSync(join(root, 'keras'))).toBe(false);
  });
});
