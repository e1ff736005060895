import * as E from 'fp-ts/Either';
import { parseRunConfig, RUN_FORMAT } from './config.ts';

/** config.json of a default-protocol run as train:serve writes it, with `overrides` on top. */
function runConfig(variant: number, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    format: RUN_FORMAT,
    protocol: 'default',
    variant,
    version: 'v1.5',
    stem: 'imagenet',
    epochs: 10,
    batchSize: 128,
    schedule: { _tag: 'Cosine', lr: 0.1, warmupEpochs: 1, floor: 0 },
    momentum: 0.9,
    nesterov: true,
    weightDecay: 0.0005,
    labelSmoothing: 0,
    imageSize: 28,
    augment: { crop: true, flip: true },
    zeroInitResidual: true,
    trainLimit: null,
    testLimit: null,
    seed: 0,
    classes: 10,
    createdAt: '2026-11-28T05:49:03.368Z',
    backend: { name: 'onednn', device: 'cpu (2 threads)' },
    machine: { cpus: 2, cpuModel: 'AMD EPYC', memoryGiB: 24, platform: 'linux-x64' },
    dataSource: '/usr/share/datasets/fashion-mnist',
    command: `npx nx run train:serve --variant=${variant} --epochs=10 --out=runs/report/resnet${variant}`,
    ...overrides,
  };
}

function message(value: unknown): string {
  const r = parseRunConfig(value, 'runs/a/config.json');
  return E.isLeft(r) ? r.left : 'accepted';
}

describe('parseRunConfig', () => {
  test('accepts what train:serve writes and keeps the settings', () => {
    const r = parseRunConfig(runConfig(50), 'runs/a/config.json');
    expect(r).toMatchObject(
      E.right({
        variant: 50,
        version: 'v1.5',
        epochs: 10,
        augment: { crop: true, flip: true },
        machine: { cpus: 2 },
        command: 'npx nx run train:serve --variant=50 --epochs=10 --out=runs/report/resnet50',
      }),
    );
  });

  test('older runs without machine, backend or command still load, with those as null', () => {
    const old = { ...runConfig(18), machine: undefined, backend: undefined, command: undefined };
    expect(parseRunConfig(JSON.parse(JSON.stringify(old)), 'x')).toMatchObject(E.right({ machine: null, backend: null, command: null }));
  });

  test('the precision is kept; runs made before it was recorded are fp32 (they were); anything else names the field', () => {
    expect(parseRunConfig(runConfig(18, { precision: 'bf16' }), 'x')).toMatchObject(E.right({ precision: 'bf16' }));
    expect(parseRunConfig(runConfig(18), 'x')).toMatchObject(E.right({ precision: 'fp32' }));
    expect(message(runConfig(18, { precision: 'fp16' }))).toBe(
      'runs/a/config.json: "precision" must be "fp32" or "bf16", got "fp16": pass a run directory written by train:serve, or fix the file',
    );
  });

  test('re-plans written by --resume --epochs=N are kept; runs without them get an empty list', () => {
    const change = { afterEpoch: 1, afterStep: 0, from: 1, to: 3, at: '2026-11-28T09:00:00Z' };
    expect(parseRunConfig(runConfig(34, { epochs: 3, replanned: [change] }), 'x')).toMatchObject(
      E.right({ epochs: 3, replanned: [change] }),
    );
    expect(parseRunConfig(runConfig(34), 'x')).toMatchObject(E.right({ replanned: [] }));
  });

  test.each([
    [{ replanned: [{ afterEpoch: 1, from: 1, to: 3 }] }, '"replanned" must be a list of { "afterEpoch", "afterStep", "from", "to", "at" }'],
    [{ variant: 35 }, '"variant" must be one of 18, 34, 50, 101, 152, got 35'],
    [{ format: 'other@1' }, '"format" must be "resnet-ts/run@1", got "other@1"'],
    [{ epochs: 0 }, '"epochs" must be an integer ≥ 1, got 0'],
    [{ trainLimit: 'all' }, '"trainLimit" must be null or an integer ≥ 1, got "all"'],
    [{ augment: true }, '"augment" must be { "crop": true|false, "flip": true|false }, got true'],
    [{ schedule: { _tag: 'Cosine', lr: 0.1, warmupEpochs: 1, floor: 0.5 } }, '"schedule": Cosine schedule: floor 0.5 is above lr 0.1'],
  ])('a wrong field %j is named, with the file', (override, expected) => {
    const text = message(runConfig(18, override));
    expect(text).toContain('runs/a/config.json: ');
    expect(text).toContain(expected);
  });

  test('a reference run (tools/torch_reference.py) is marked; runs without the field are ours', () => {
    const reference = { framework: 'pytorch', version: '1.13.0a0', script: 'tools/torch_reference.py' };
    expect(
      parseRunConfig(runConfig(18, { reference, backend: { name: 'pytorch', device: 'cpu (2 threads, torch 1.13.0a0)' } }), 'x'),
    ).toMatchObject(E.right({ reference, backend: { name: 'pytorch' } }));
    expect(parseRunConfig(runConfig(18, { reference: { framework: 'pytorch', version: '2.1' } }), 'x')).toMatchObject(
      E.right({ reference: { framework: 'pytorch', version: '2.1', script: null } }),
    );
    expect(parseRunConfig(runConfig(18), 'x')).toMatchObject(E.right({ reference: null }));
    expect(parseRunConfig(runConfig(18, { reference: null }), 'x')).toMatchObject(E.right({ reference: null }));
  });

  test('a reference records what it trained (our code, or the seed report’s) and its parameter count; older ones are of our code', () => {
    const written = { framework: 'pytorch', version: '1.13.0a0', script: 'tools/torch_reference.py' };
    expect(parseRunConfig(runConfig(18, { reference: written }), 'x')).toMatchObject(
      E.right({ reference: { ...written, code: 'ours', parameters: null } }),
    );
    const seedCode = { ...written, code: 'seed', parameters: 11178378 };
    expect(parseRunConfig(runConfig(18, { protocol: 'seed', reference: seedCode }), 'x')).toMatchObject(E.right({ reference: seedCode }));
  });

  test.each([
    [{ framework: 'jax', version: '0.4' }],
    [{ framework: 'pytorch' }],
    ['pytorch'],
    [{ framework: 'pytorch', version: '2.1', code: 'theirs' }],
    [{ framework: 'pytorch', version: '2.1', parameters: 0 }],
    [{ framework: 'pytorch', version: '2.1', parameters: 1.5 }],
  ])('a reference field %j that is not one is named', (reference) => {
    expect(message(runConfig(18, { reference }))).toContain(
      'runs/a/config.json: "reference" must be absent, null or { "framework": "pytorch", "version": "…", "script": "…", "code": "ours" | "seed", "parameters": N }',
    );
  });

  test('a JSON value that is not an object is refused', () => {
    expect(message([1, 2])).toContain('must be a JSON object');
  });
});
