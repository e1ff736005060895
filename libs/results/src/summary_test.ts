import * as E from 'fp-ts/Either';
import { memoryRun } from './testing.ts';
import { buildRows, chartNames, cpuShare, protocolDifferences, type RunRow } from './summary.ts';
import { seedGroups } from './spread.ts';

function rows(...runs: Parameters<typeof buildRows>[0]): readonly RunRow[] {
  const r = buildRows(runs);
  if (E.isLeft(r)) throw new Error(r.left);
  return r.right;
}

describe('report rows', () => {
  const [r18, r50] = rows(memoryRun('runs/resnet18', 18, { epochs: 3 }), memoryRun('runs/resnet50', 50, { epochs: 2 }));

  test('parameters come from the specs: 11,175,370 for ResNet-18 and 23,522,250 for ResNet-50 (1 channel, 10 classes)', () => {
    expect([r18?.params, r50?.params]).toEqual([11_175_370, 23_522_250]);
    expect([r18?.block, r50?.block]).toEqual(['basic', 'bottleneck']);
    expect(r50?.macs).toBeGreaterThan(r18?.macs ?? Infinity);
  });

  test('final is the last epoch, best the highest test accuracy; speed is the mean, wall time the sum', () => {
    expect(r18?.last).toMatchObject({ epoch: 3, loss: 1 / 3, trainAcc: 0.73, testAcc: 0.71 });
    expect(r18?.best.epoch).toBe(3);
    expect(r18?.meanExamplesPerSec).toBeCloseTo(40, 10);
    expect(r18?.wallSeconds).toBe(4500);
  });

  test('a run continued past its config.json epochs (--resume --epochs=N) counts the epochs done as planned', () => {
    expect(rows(memoryRun('r', 18, { overrides: { epochs: 1 }, epochs: 2 }))[0]?.plannedEpochs).toBe(2);
    expect(r50?.plannedEpochs).toBe(10);
  });

  test('the best epoch is not always the last', () => {
    const run = memoryRun('r', 18, { epochs: 3 });
    const dip = { ...run, metrics: run.metrics.map((m) => (m.epoch === 3 ? { ...m, testAcc: 0.5 } : m)) };
    expect(rows(dip)[0]?.best.epoch).toBe(2);
  });
});

describe('chart names', () => {
  test('are resnet<depth>, with the folder name when two runs share a depth, and a counter if that repeats', () => {
    expect(chartNames([memoryRun('a/resnet18', 18), memoryRun('a/resnet50', 50)])).toEqual(['resnet18', 'resnet50']);
    expect(chartNames([memoryRun('a/seed run', 18), memoryRun('b/default', 18), memoryRun('c/resnet50', 50)])).toEqual([
      'resnet18-seed_run',
      'resnet18-default',
      'resnet50',
    ]);
    expect(chartNames([memoryRun('a/x', 18), memoryRun('b/x', 18)])).toEqual(['resnet18-x-1', 'resnet18-x-2']);
  });

  test('series names tell runs of one depth apart by folder', () => {
    expect(rows(memoryRun('a/seed', 18), memoryRun('b/default', 18)).map((r) => r.seriesName)).toEqual([
      'ResNet-18 (seed)',
      'ResNet-18 (default)',
    ]);
  });

  test('a PyTorch reference run is named as one, in its series and its chart, beside our run of its depth', () => {
    const runs = [memoryRun('s/resnet18', 18), memoryRun('s/pytorch-resnet18', 18, { reference: true }), memoryRun('s/resnet50', 50)];
    expect(rows(...runs).map((r) => r.seriesName)).toEqual(['ResNet-18', 'ResNet-18 (PyTorch reference)', 'ResNet-50']);
    expect(chartNames(runs)).toEqual(['resnet18', 'resnet18-pytorch', 'resnet50']);
    const two = [memoryRun('a/ref', 18, { reference: true }), memoryRun('b/ref2', 18, { reference: true })];
    expect(rows(...two).map((r) => r.seriesName)).toEqual(['ResNet-18 (PyTorch reference, ref)', 'ResNet-18 (PyTorch reference, ref2)']);
    expect(chartNames(two)).toEqual(['resnet18-pytorch-ref', 'resnet18-pytorch-ref2']);
  });

  test('a run of the seed’s own code is its own kind: named so, charted apart, with the parameters its script counted', () => {
    const seedProtocol = { protocol: 'seed', imageSize: 96, version: 'v1', clipNorm: null };
    const seedCode = (dir: string, parameters: number | null) =>
      memoryRun(dir, 18, {
        reference: true,
        overrides: {
          ...seedProtocol,
          reference: { framework: 'pytorch', version: '1.13.0a0', script: 'tools/torch_reference.py', code: 'seed', parameters },
        },
      });
    const runs = [
      memoryRun('s/resnet18', 18, { overrides: seedProtocol }),
      memoryRun('s/pytorch', 18, { reference: true, overrides: seedProtocol }),
      seedCode('s/seed-code', 11178378),
    ];
    const built = rows(...runs);
    expect(built.map((r) => [r.seriesName, r.params])).toEqual([
      ['ResNet-18 (seed protocol)', 11175370],
      ['ResNet-18 (PyTorch reference, seed protocol)', 11175370],
      ['ResNet-18 (seed’s code, PyTorch, seed protocol)', 11178378],
    ]);
    expect(chartNames(runs)).toEqual(['resnet18-seed', 'resnet18-pytorch-seed', 'resnet18-pytorch-seedcode-seed']);
    expect(rows(seedCode('s/old', null)).map((r) => r.params)).toEqual([null]);
  });
});

describe('a run of the seed report’s protocol', () => {
  test('is named by its protocol beside a default-protocol run of its depth, in its series and its chart; two of them by folder too', () => {
    const seed = (dir: string) => memoryRun(dir, 18, { overrides: { protocol: 'seed', imageSize: 96, version: 'v1', clipNorm: null } });
    const runs = [memoryRun('s/resnet18', 18), seed('s/resnet18-seed-protocol'), memoryRun('s/resnet50', 50)];
    expect(rows(...runs).map((r) => r.seriesName)).toEqual(['ResNet-18', 'ResNet-18 (seed protocol)', 'ResNet-50']);
    expect(chartNames(runs)).toEqual(['resnet18', 'resnet18-seed', 'resnet50']);
    const two = [seed('a/one'), seed('b/two')];
    expect(rows(...two).map((r) => r.seriesName)).toEqual(['ResNet-18 (seed protocol, one)', 'ResNet-18 (seed protocol, two)']);
    expect(chartNames(two)).toEqual(['resnet18-seed-one', 'resnet18-seed-two']);
  });
});

describe('gradient clipping in names', () => {
  test('a run clipped as its protocol clips is named plainly; otherwise by its clip norm or "no clipping", in its series, its chart and its seed group', () => {
    const clipped = (dir: string, clipNorm: number | null, seed = 0) => memoryRun(dir, 50, { overrides: { clipNorm, seed } });
    const runs = [memoryRun('s/resnet50', 50), clipped('s/resnet50-unclipped', null), clipped('s/resnet50-clip1', 1)];
    expect(rows(...runs).map((r) => r.seriesName)).toEqual(['ResNet-50', 'ResNet-50 (no clipping)', 'ResNet-50 (clip 1)']);
    expect(chartNames(runs)).toEqual(['resnet50', 'resnet50-noclip', 'resnet50-clip1']);
    expect(seedGroups(rows(...runs, clipped('s/resnet50-unclipped-seed1', null, 1))).map((g) => [g.label, g.seeds])).toEqual([
      ['ResNet-50', [0]],
      ['ResNet-50 (no clipping)', [0, 1]],
      ['ResNet-50 (clip 1)', [0]],
    ]);
    expect(protocolDifferences(rows(...runs)).map((d) => [d.setting, d.values.map((v) => v.value)])).toEqual([
      ['gradient clipping', ['global gradient norm clipped to 2', 'none', 'global gradient norm clipped to 1']],
    ]);
    // The seed protocol does not clip: there, clipping is what is named.
    const seed = (dir: string, clipNorm: number | null) =>
      memoryRun(dir, 18, { overrides: { protocol: 'seed', imageSize: 96, version: 'v1', clipNorm } });
    expect(rows(seed('t/a', null), seed('t/b', 2)).map((r) => r.seriesName)).toEqual([
      'ResNet-18 (seed protocol)',
      'ResNet-18 (seed protocol, clip 2)',
    ]);
  });
});

describe('protocol differences', () => {
  test('runs trained alike have none', () => {
    expect(protocolDifferences(rows(memoryRun('a', 18), memoryRun('b', 50)))).toEqual([]);
  });

  test('a PyTorch reference of the same protocol differs from ours in backend only, which is no protocol difference', () => {
    expect(protocolDifferences(rows(memoryRun('a', 18), memoryRun('b', 18, { reference: true })))).toEqual([]);
    expect(
      protocolDifferences(rows(memoryRun('a', 18), memoryRun('b', 18, { reference: true, overrides: { trainLimit: 256 } }))).map(
        (d) => d.setting,
      ),
    ).toEqual(['training images']);
  });

  test('each differing setting lists its values with the runs that have them', () => {
    const diffs = protocolDifferences(
      rows(
        memoryRun('a', 18),
        memoryRun('b', 50, { overrides: { protocol: 'seed', version: 'v1', imageSize: 96, batchSize: 256, epochs: 5 } }),
      ),
    );
    expect(diffs.map((d) => d.setting)).toEqual(['protocol', 'version', 'input size', 'batch size', 'gradient clipping', 'planned epochs']);
    expect(diffs.find((d) => d.setting === 'input size')?.values).toEqual([
      { value: '28×28', runs: ['ResNet-18 (a)'] },
      { value: '96×96', runs: ['ResNet-50 (b)'] },
    ]);
  });

  test('runs of one protocol at different lengths differ only in planned epochs, though their warmups differ', () => {
    const ten = memoryRun('a', 18);
    const three = memoryRun('b', 34, { overrides: { epochs: 3, schedule: { _tag: 'Cosine', lr: 0.1, warmupEpochs: 0.3, floor: 0 } } });
    const one = memoryRun('c', 50, { overrides: { epochs: 1, schedule: { _tag: 'Cosine', lr: 0.1, warmupEpochs: 0.1, floor: 0 } } });
    expect(protocolDifferences(rows(ten, three, one)).map((d) => d.setting)).toEqual(['planned epochs']);
    // A re-planned run is judged by the length it was first planned for.
    const replanned = memoryRun('d', 34, {
      overrides: {
        epochs: 3,
        schedule: { _tag: 'Cosine', lr: 0.1, warmupEpochs: 0.1, floor: 0 },
        replanned: [{ afterEpoch: 1, afterStep: 0, from: 1, to: 3, at: 'x' }],
      },
    });
    expect(protocolDifferences(rows(ten, replanned)).map((d) => d.setting)).toEqual(['planned epochs']);
    // An explicit warmup is a different schedule; then the schedules themselves are compared.
    const explicit = memoryRun('e', 34, { overrides: { schedule: { _tag: 'Cosine', lr: 0.1, warmupEpochs: 0.5, floor: 0 } } });
    expect(protocolDifferences(rows(ten, explicit))).toEqual([
      {
        setting: 'schedule',
        values: [
          { value: 'cosine from lr 0.1 to 0, 1 epoch warmup', runs: ['ResNet-18 (a)'] },
          { value: 'cosine from lr 0.1 to 0, 0.5 epochs warmup', runs: ['ResNet-34 (e)'] },
        ],
      },
    ]);
  });

  test('schedule, augmentation and limits are compared too', () => {
    const other = memoryRun('b', 18, {
      overrides: {
        schedule: { _tag: 'Constant', lr: 0.1 },
        augment: { crop: false, flip: false },
        trainLimit: 256,
        momentum: 0,
        nesterov: false,
        weightDecay: 0,
        labelSmoothing: 0.1,
        clipNorm: null,
        testLimit: 128,
        stem: 'small',
      },
    });
    expect(protocolDifferences(rows(memoryRun('a', 18), other)).map((d) => d.setting)).toEqual([
      'stem',
      'schedule',
      'momentum',
      'Nesterov',
      'weight decay',
      'label smoothing',
      'gradient clipping',
      'augmentation',
      'training images',
      'test images',
    ]);
  });
});

describe('CPU share', () => {
  const epoch = (seconds: number, cpuSeconds?: number) => ({
    epoch: 1,
    loss: 1,
    trainAcc: 0.5,
    testAcc: 0.5,
    examplesPerSec: 100,
    lr: 0.1,
    seconds,
    ...(cpuSeconds === undefined ? {} : { cpuSeconds }),
  });
  test('CPU seconds over wall seconds × CPUs, over the epochs that recorded CPU time only', () => {
    expect(cpuShare([epoch(100, 190), epoch(300, 300)], 2)).toBeCloseTo(490 / 800, 12);
    expect(cpuShare([epoch(100, 190), epoch(999)], 2)).toBeCloseTo(0.95, 12);
  });
  test('unknown without an epoch that recorded it, or without the machine', () => {
    expect(cpuShare([epoch(100)], 2)).toBeNull();
    expect(cpuShare([], 2)).toBeNull();
    expect(cpuShare([epoch(100, 190)], null)).toBeNull();
  });
});
