import * as E from 'fp-ts/Either';
import { runConfig } from './_test_runs.ts';
import { parseConfig } from './run_config.ts';

function message(value: unknown): string {
  const r = parseConfig(value, 'runs/a/config.json');
  return E.isLeft(r) ? r.left : 'accepted';
}

describe('parseConfig', () => {
  test('accepts what train:serve writes and keeps the settings', () => {
    const r = parseConfig(runConfig(50), 'runs/a/config.json');
    expect(r).toMatchObject(E.right({ variant: 50, version: 'v1.5', epochs: 10, augment: { crop: true, flip: true }, machine: { cpus: 2 }, command: 'npx nx run train:serve --variant=50 --epochs=10 --out=runs/report/resnet50' }));
    // Older runs recorded flags since renamed (nx swallows --version and --batch-size): spelled anew, so the line can be pasted.
    expect(parseConfig(JSON.parse(JSON.stringify({ ...runConfig(18), command: 'train:serve --variant=18 --version=v1 --batch-size=64 --lr=0.1' })), 'x')).toMatchObject(E.right({ command: 'npx nx run train:serve --variant=18 --block-version=v1 --mini-batch=64 --lr=0.1' }));
  });

  test('older runs without machine, backend or command still load, with those as null', () => {
    const old = { ...runConfig(18), machine: undefined, backend: undefined, command: undefined };
    expect(parseConfig(JSON.parse(JSON.stringify(old)), 'x')).toMatchObject(E.right({ machine: null, backend: null, command: null }));
  });

  test('re-plans written by --resume --epochs=N are kept; runs without them get an empty list', () => {
    const change = { afterEpoch: 1, afterStep: 0, from: 1, to: 3, at: '2026-11-28T09:00:00Z' };
    expect(parseConfig(runConfig(34, { epochs: 3, replanned: [change] }), 'x')).toMatchObject(E.right({ epochs: 3, replanned: [change] }));
    expect(parseConfig(runConfig(34), 'x')).toMatchObject(E.right({ replanned: [] }));
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

  test('a JSON value that is not an object is refused', () => {
    expect(message([1, 2])).toContain('must be a JSON object');
  });
});
