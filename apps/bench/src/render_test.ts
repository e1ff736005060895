import { combineRounds, median, renderProfiles, renderRounds, renderTable, withRatios, type Measurement } from './render.ts';

const base = {
  mode: 'train' as const,
  imageSize: 28,
  batchSize: 128,
  device: 'cpu',
  medianStepMs: 700,
  steps: 10,
  warmup: 2,
  peakRssBytes: null,
  peakTensorBytes: null,
  estimatedRssBytes: null,
};

describe('withRatios', () => {
  test('divides each row by the PyTorch row of the same configuration, null without one', () => {
    const rows = withRatios([
      { ...base, variant: 18, backend: 'pytorch', examplesPerSec: 100, fused: null, precision: 'fp32' as const },
      { ...base, variant: 18, backend: 'onednn', examplesPerSec: 150, fused: true, precision: 'fp32' as const },
      { ...base, variant: 34, backend: 'onednn', examplesPerSec: 80, fused: true, precision: 'fp32' as const },
      { ...base, variant: 18, batchSize: 64, backend: 'onednn', examplesPerSec: 90, fused: true, precision: 'fp32' as const },
    ]);
    expect(rows.map((r) => r.vsPytorch)).toEqual([1, 1.5, null, null]);
    expect(rows.map((r) => r.vsPytorchBf16)).toEqual([null, null, null, null]);
  });

  test('bf16 rows are divided by PyTorch fp32 and by PyTorch bf16 autocast of the same configuration', () => {
    const rows = withRatios([
      { ...base, variant: 18, backend: 'pytorch', examplesPerSec: 100, fused: null, precision: 'fp32' as const },
      { ...base, variant: 18, backend: 'pytorch', examplesPerSec: 80, fused: null, precision: 'bf16' as const },
      { ...base, variant: 18, backend: 'onednn', examplesPerSec: 120, fused: true, precision: 'fp32' as const },
      { ...base, variant: 18, backend: 'onednn', examplesPerSec: 200, fused: true, precision: 'bf16' as const },
    ]);
    expect(rows.map((r) => [r.vsPytorch, r.vsPytorchBf16])).toEqual([
      [1, 1.25],
      [0.8, 1],
      [1.2, 1.5],
      [2, 2.5],
    ]);
    // Each bf16 row over the fp32 row of its own backend: PyTorch's autocast 0.8×, ours 200 / 120.
    expect(rows.map((r) => r.vsOwnFp32)).toEqual([null, 0.8, null, 200 / 120]);
    const lines = renderTable(rows).split('\n');
    expect(lines[0]).toMatch(/× PyTorch\s+× PyTorch bf16\s+× own fp32\s+peak RSS\s+mem × PyTorch\s+estimate$/);
    expect(lines[3]).toMatch(/pytorch \(baseline\)\s+bf16 \(autocast\)/);
    expect(lines[5]).toMatch(/onednn\s+bf16\s+cpu\s+200\.0\s+700\s+2\.00×\s+2\.50×\s+1\.67×\s+–\s+–\s+–$/);
  });

  test('peak memory is divided by PyTorch fp32’s of the same configuration, null where either is unknown', () => {
    const rows = withRatios([
      { ...base, variant: 18, backend: 'pytorch', examplesPerSec: 100, fused: null, precision: 'fp32' as const, peakRssBytes: 0.4e9 },
      { ...base, variant: 18, backend: 'pytorch', examplesPerSec: 80, fused: null, precision: 'bf16' as const, peakRssBytes: 0.5e9 },
      {
        ...base,
        variant: 18,
        backend: 'onednn',
        examplesPerSec: 120,
        fused: true,
        precision: 'fp32' as const,
        peakRssBytes: 0.5e9,
        peakTensorBytes: 0.2e9,
      },
      { ...base, variant: 18, backend: 'onednn', examplesPerSec: 200, fused: true, precision: 'bf16' as const, peakRssBytes: 0.3e9 },
      { ...base, variant: 34, backend: 'onednn', examplesPerSec: 200, fused: true, precision: 'fp32' as const, peakRssBytes: 0.9e9 },
      { ...base, variant: 34, backend: 'pytorch', examplesPerSec: 100, fused: null, precision: 'fp32' as const },
    ]);
    expect(rows.map((r) => r.memoryVsPytorch)).toEqual([1, 1.25, 1.25, 0.75, null, null]);
    expect(renderTable(rows).split('\n')[4]).toMatch(/0\.50 GB\s+1\.25×\s+–$/);
  });
});

describe('renderTable', () => {
  test('one line per measurement, the baseline labelled, ratios with two decimals', () => {
    const rows: Measurement[] = withRatios([
      { ...base, variant: 18, backend: 'pytorch', examplesPerSec: 171.84, fused: null, precision: 'fp32' as const },
      { ...base, variant: 18, backend: 'onednn', examplesPerSec: 192.7, fused: true, precision: 'fp32' as const },
      { ...base, variant: 18, backend: 'onednn', examplesPerSec: 80.8, fused: false, precision: 'fp32' as const },
    ]);
    const lines = renderTable(rows).split('\n');
    expect(lines).toHaveLength(5);
    expect(lines[0]).toMatch(/× PyTorch\s+peak RSS\s+mem × PyTorch\s+estimate$/);
    expect(lines[2]).toMatch(/^ResNet-18\s+28×28\s+128\s+pytorch \(baseline\)\s+fp32\s+cpu\s+171\.8\s+700\s+1\.00×\s+–\s+–\s+–$/);
    expect(lines[3]).toMatch(/onednn\s+fp32\s+cpu\s+192\.7\s+700\s+1\.12×\s+–\s+–\s+–$/);
    expect(lines[4]).toContain('onednn (unfused)');
  });
});

describe('rounds', () => {
  const round = (torch: number, fp32: number, bf16: number, peak: number) =>
    withRatios([
      { ...base, variant: 18, backend: 'pytorch', examplesPerSec: torch, fused: null, precision: 'fp32' as const },
      { ...base, variant: 18, backend: 'onednn', examplesPerSec: fp32, fused: true, precision: 'fp32' as const, peakRssBytes: peak },
      { ...base, variant: 18, backend: 'onednn', examplesPerSec: bf16, fused: true, precision: 'bf16' as const },
    ]);

  test('median: the middle number, the mean of the middle two for an even count, nulls left out', () => {
    expect([median([3, null, 1, 2]), median([4, 1, 3, 2]), median([null]), median([])]).toEqual([2, 2.5, null, null]);
  });

  test('rows over rounds: examples/s the median, peak memory the largest, each ratio the median of the rounds’ own ratios', () => {
    // The machine slows down in round 2: both sides of each ratio move together, the ratios less than the rates.
    const rounds = [round(100, 150, 180, 5e8), round(50, 80, 100, 6e8), round(90, 140, 150, 4e8)];
    const rows = combineRounds(rounds);
    expect(rows.map((r) => [r.backend, r.precision, r.rounds, r.examplesPerSec, r.roundExamplesPerSec])).toEqual([
      ['pytorch', 'fp32', 3, 90, [100, 50, 90]],
      ['onednn', 'fp32', 3, 140, [150, 80, 140]],
      ['onednn', 'bf16', 3, 150, [180, 100, 150]],
    ]);
    // Per round × own fp32: 1.2, 1.25, 1.0714…; the median of them, not 150 / 140.
    expect(rows[2]?.vsOwnFp32).toBe(1.2);
    // Per round × PyTorch for fp32: 1.5, 1.6, 1.5556 → 1.5556; for bf16: 1.8, 2.0, 1.6667 → 1.8, where the medians' ratio (150 / 90) would say 1.67.
    expect(rows[1]?.vsPytorch).toBeCloseTo(140 / 90, 12);
    expect(rows[2]?.vsPytorch).toBeCloseTo(1.8, 12);
    expect(rows[1]?.peakRssBytes).toBe(6e8);
    // One round: the row as withRatios rated it.
    expect(combineRounds([round(100, 150, 180, 5e8)])).toEqual(round(100, 150, 180, 5e8));
  });

  test('every round is listed under the table, a row measured in fewer rounds with a dash; nothing for one round', () => {
    // Round 2 without PyTorch (its baseline failed there): no × PyTorch in that round.
    const partial = withRatios(round(100, 150, 180, 5e8).filter((r) => r.backend !== 'pytorch'));
    const lines = renderRounds([round(100, 150, 180, 5e8), partial]);
    expect(lines).toEqual([
      'Per round (2 rounds, each configuration’s rows in turn; the table shows the medians):',
      '  ResNet-18 28×28 batch 128 pytorch: 100.0, – examples/s',
      '  ResNet-18 28×28 batch 128 onednn fp32: 150.0, 150.0 examples/s; × PyTorch 1.50, –',
      '  ResNet-18 28×28 batch 128 onednn bf16: 180.0, 180.0 examples/s; × PyTorch 1.80, –; × own fp32 1.20, 1.20',
    ]);
    expect(renderRounds([round(100, 150, 180, 5e8)])).toEqual([]);
  });
});

describe('renderProfiles', () => {
  test('lists the top kernels of profiled rows only, with their share of the step', () => {
    const rows = withRatios([
      {
        ...base,
        variant: 18,
        backend: 'onednn',
        examplesPerSec: 1,
        fused: true,
        precision: 'fp32' as const,
        kernels: [
          { kernel: 'Conv2D', msPerStep: 350, callsPerStep: 20 },
          { kernel: 'Relu', msPerStep: 70, callsPerStep: 17 },
        ],
      },
      { ...base, variant: 18, backend: 'pytorch', examplesPerSec: 1, fused: null, precision: 'fp32' as const },
    ]);
    const text = renderProfiles(rows, 1);
    expect(text.split('\n')).toHaveLength(2);
    expect(text).toContain('kernels 420 of 700 ms per step');
    expect(text).toMatch(/Conv2D\s+350\.0 ms\/step\s+50\.0% of the step\s+20 calls/);
  });
});
