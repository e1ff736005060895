import * as E from 'fp-ts/Either';
import { parseFlags } from '@resnet/cli';
import { resolveConfig, TRAIN_FLAGS, type TrainConfig, type TrainFlags } from './config.ts';
import { describeStep, parseSeeds, planRun, runDir, sweepRuns, type RunState } from './sweep_plan.ts';

function flags(...args: string[]): TrainFlags {
  const parsed = parseFlags(args, TRAIN_FLAGS);
  if (E.isLeft(parsed)) throw new Error(JSON.stringify(parsed.left));
  return parsed.right;
}

function config(variant: number, ...args: string[]): TrainConfig {
  const c = resolveConfig({ ...flags(...args), variant: `${variant}` as TrainFlags['variant'] });
  if (E.isLeft(c)) throw new Error(c.left);
  return { ...c.right, createdAt: '2026-01-01', command: 'train:serve …' } as TrainConfig;
}

/** planRun for a sweep without --seeds, positional for brevity. */
const planVariant = (
  out: string,
  variant: number,
  state: RunState,
  f: TrainFlags,
  passthrough: readonly string[],
  resumePassthrough: readonly string[],
) => planRun({ variant, seed: null, dir: runDir(out, variant, null) }, state, { flags: f, passthrough, resumePassthrough });

const run = (c: TrainConfig, epochsDone: number, hasCheckpoint = true): RunState => ({ _tag: 'Run', config: c, epochsDone, hasCheckpoint });

describe('sweepRuns and --seeds', () => {
  test('a sweep over seeds is seed by seed, each in --variants order, one directory per (variant, seed)', () => {
    expect(sweepRuns('o/', [50, 18], [2, 1])).toEqual([
      { variant: 50, seed: 2, dir: 'o/resnet50-seed2' },
      { variant: 18, seed: 2, dir: 'o/resnet18-seed2' },
      { variant: 50, seed: 1, dir: 'o/resnet50-seed1' },
      { variant: 18, seed: 1, dir: 'o/resnet18-seed1' },
    ]);
    expect(sweepRuns('o', [18, 34], null)).toEqual([
      { variant: 18, seed: null, dir: 'o/resnet18' },
      { variant: 34, seed: null, dir: 'o/resnet34' },
    ]);
  });

  test('--seeds takes distinct non-negative integers, and says what is wrong otherwise', () => {
    expect(parseSeeds('1, 2,3')).toEqual(E.right([1, 2, 3]));
    expect(parseSeeds('1,x')).toEqual(E.left('--seeds takes comma-separated integers from 0 to 2147483647, got "x"'));
    expect(parseSeeds('-1')).toEqual(E.left('--seeds takes comma-separated integers from 0 to 2147483647, got "-1"'));
    expect(parseSeeds('2147483648')).toMatchObject(E.left(expect.stringContaining('got "2147483648"') as unknown));
    expect(parseSeeds('1,2,1')).toEqual(E.left('--seeds lists 1 twice: each seed is one run per variant'));
  });

  test('a seeded run trains with its seed, and a run of another seed in its directory is refused', () => {
    const target = { variant: 18, seed: 3, dir: 'o/resnet18-seed3' };
    const context = { flags: flags('--epochs=2'), passthrough: ['--epochs=2'], resumePassthrough: [] };
    const fresh = planRun(target, { _tag: 'Absent' }, context);
    expect(fresh).toEqual(
      E.right({ _tag: 'Fresh', ...target, args: ['--variant=18', '--out=o/resnet18-seed3', '--epochs=2', '--seed=3'], epochs: 2 }),
    );
    if (E.isRight(fresh)) expect(describeStep(fresh.right)).toBe('ResNet-18 seed 3: new run in o/resnet18-seed3 (2 epochs)');
    expect(planRun(target, run(config(18, '--epochs=2', '--seed=3'), 2), context)).toMatchObject(E.right({ _tag: 'Skip', done: 2 }));
    expect(planRun(target, run(config(18, '--epochs=2', '--seed=4'), 2), context)).toEqual(
      E.left(expect.stringContaining('(--seed: 4 in the run, 3 here)') as unknown),
    );
  });
});

describe('planRun', () => {
  test('an absent directory is a fresh run with the given flags', () => {
    expect(planVariant('runs/s/', 34, { _tag: 'Absent' }, flags('--epochs=2'), ['--epochs=2'], [])).toEqual(
      E.right({
        _tag: 'Fresh',
        variant: 34,
        seed: null,
        dir: 'runs/s/resnet34',
        args: ['--variant=34', '--out=runs/s/resnet34', '--epochs=2'],
        epochs: 2,
      }),
    );
    expect(runDir('runs/s', 152, null)).toBe('runs/s/resnet152');
  });

  test('a finished run is skipped; one with fewer epochs than asked resumes to the new total', () => {
    const c = config(50, '--epochs=2');
    expect(planVariant('o', 50, run(c, 2), flags('--epochs=2'), ['--epochs=2'], [])).toEqual(
      E.right({ _tag: 'Skip', variant: 50, seed: null, dir: 'o/resnet50', done: 2 }),
    );
    expect(planVariant('o', 50, run(c, 2), flags(), [], [])).toMatchObject(E.right({ _tag: 'Skip' }));
    expect(
      planVariant('o', 50, run(c, 2), flags('--epochs=5', '--backend=onednn'), ['--epochs=5', '--backend=onednn'], ['--backend=onednn']),
    ).toEqual(
      E.right({
        _tag: 'Resume',
        variant: 50,
        seed: null,
        dir: 'o/resnet50',
        args: ['--resume=o/resnet50', '--epochs=5', '--backend=onednn'],
        from: 2,
        planned: 2,
        epochs: 5,
      }),
    );
  });

  test('an interrupted run resumes from its checkpoint; one without a checkpoint starts again', () => {
    const c = config(18, '--epochs=3');
    const resume = planVariant('o', 18, run(c, 1), flags('--epochs=3'), ['--epochs=3'], []);
    expect(resume).toMatchObject(E.right({ _tag: 'Resume', from: 1, planned: 3, epochs: 3 }));
    if (E.isRight(resume))
      expect(describeStep(resume.right)).toBe('ResNet-18: resuming o/resnet18 from its checkpoint (1 of 3 epochs done)');
    expect(planVariant('o', 18, run(c, 0, false), flags('--epochs=3'), ['--epochs=3'], [])).toMatchObject(
      E.right({ _tag: 'Restart', args: ['--variant=18', '--out=o/resnet18', '--epochs=3'] }),
    );
    expect(planVariant('o', 18, { _tag: 'Unstarted', config: c }, flags(), [], [])).toMatchObject(E.right({ _tag: 'Restart' }));
  });

  test('a run made with other settings is refused, naming them; a folder that is not a run is refused', () => {
    const c = config(18, '--epochs=3', '--mini-batch=64');
    const r = planVariant('o', 18, run(c, 1), flags('--epochs=3'), ['--epochs=3'], []);
    expect(r).toEqual(
      E.left(
        expect.stringContaining(
          'o/resnet18 holds a ResNet-18 run made with other settings (--mini-batch: 64 in the run, 128 here',
        ) as unknown,
      ),
    );
    expect(planVariant('o', 18, { _tag: 'NotARun', reason: 'not empty' }, flags(), [], [])).toEqual(E.left('o/resnet18: not empty'));
  });

  test('another precision is other settings: a bf16 run is not resumed or skipped by an fp32 sweep, nor the reverse', () => {
    const bf16 = config(18, '--epochs=2', '--precision=bf16');
    expect(planVariant('o', 18, run(bf16, 1), flags('--epochs=2'), ['--epochs=2'], [])).toEqual(
      E.left(expect.stringContaining('made with other settings (--precision: "bf16" in the run, "fp32" here)') as unknown),
    );
    expect(
      planVariant(
        'o',
        18,
        run(config(18, '--epochs=2'), 2),
        flags('--epochs=2', '--precision=bf16'),
        ['--epochs=2', '--precision=bf16'],
        [],
      ),
    ).toEqual(E.left(expect.stringContaining('(--precision: "fp32" in the run, "bf16" here)') as unknown));
    expect(
      planVariant('o', 18, run(bf16, 2), flags('--epochs=2', '--precision=bf16'), ['--epochs=2', '--precision=bf16'], []),
    ).toMatchObject(E.right({ _tag: 'Skip' }));
  });

  test('a run of ours as the reader returns it (reference: null) matches its flags; a reference run (PyTorch) does not', () => {
    const c = config(18, '--epochs=2');
    expect(planVariant('o', 18, run({ ...c, reference: null } as TrainConfig, 2), flags('--epochs=2'), ['--epochs=2'], [])).toMatchObject(
      E.right({ _tag: 'Skip' }),
    );
    const reference = { ...c, reference: { framework: 'pytorch', version: '1.13.0a0', script: 'tools/torch_reference.py' } } as TrainConfig;
    expect(planVariant('o', 18, run(reference, 2), flags('--epochs=2'), ['--epochs=2'], [])).toEqual(
      E.left(expect.stringContaining('made with other settings (reference: {"framework":"pytorch"') as unknown),
    );
  });

  test('bookkeeping fields and the epoch-dependent warmup do not count as other settings', () => {
    const c = {
      ...config(34, '--epochs=1'),
      backend: { name: 'onednn' },
      machine: { cpus: 2 },
      dataSource: '/x',
      replanned: [{ afterEpoch: 1, afterStep: 0, from: 1, to: 2, at: 'x' }],
    } as unknown as TrainConfig;
    expect(planVariant('o', 34, run(c, 1), flags('--epochs=4'), ['--epochs=4'], [])).toMatchObject(
      E.right({ _tag: 'Resume', from: 1, epochs: 4 }),
    );
  });

  test('a run extended by --resume (epochs raised, warmup from the old total) still matches its flags', () => {
    // As train:serve --resume --epochs=2 leaves config.json: the new total, and the old one under `replanned`.
    const c = {
      ...config(18, '--epochs=1'),
      epochs: 2,
      replanned: [{ afterEpoch: 1, afterStep: 0, from: 1, to: 2, at: 'x' }],
    } as TrainConfig;
    expect(planVariant('o', 18, run(c, 2), flags('--epochs=2'), ['--epochs=2'], [])).toMatchObject(E.right({ _tag: 'Skip', done: 2 }));
    expect(planVariant('o', 18, run(c, 2), flags('--epochs=2', '--warmup=0.5'), [], [])).toMatchObject(
      E.left(expect.stringContaining('schedule') as unknown),
    );
    // A step schedule's decay points derive from the planned length too.
    const step = {
      ...config(50, '--epochs=3', '--schedule=step'),
      epochs: 9,
      replanned: [{ afterEpoch: 3, afterStep: 0, from: 3, to: 9, at: 'x' }],
    } as TrainConfig;
    expect(planVariant('o', 50, run(step, 9), flags('--epochs=9', '--schedule=step'), [], [])).toMatchObject(
      E.right({ _tag: 'Skip', done: 9 }),
    );
  });

  test('every step has a one-line description', () => {
    expect(describeStep({ _tag: 'Skip', variant: 18, seed: null, dir: 'o/resnet18', done: 10 })).toBe(
      'ResNet-18: o/resnet18 has finished 10 epochs; skipped',
    );
    expect(
      describeStep({ _tag: 'Resume', variant: 34, seed: null, dir: 'o/resnet34', args: [], from: 1, planned: 1, epochs: 3 }),
    ).toContain(
      'resuming o/resnet34 from its checkpoint (1 epochs done), re-planned from 1 to 3 epochs; an epoch-dependent schedule is recomputed',
    );
  });
});
