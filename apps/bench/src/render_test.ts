import { renderProfiles, renderTable, withRatios, type Measurement } from './render.ts';

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
    const lines = renderTable(rows).split('\n');
    expect(lines[0]).toMatch(/× PyTorch\s+× PyTorch bf16\s+peak RSS\s+mem × PyTorch\s+estimate$/);
    expect(lines[3]).toMatch(/pytorch \(baseline\)\s+bf16 \(autocast\)/);
    expect(lines[5]).toMatch(/onednn\s+bf16\s+cpu\s+200\.0\s+700\s+2\.00×\s+2\.50×\s+–\s+–\s+–$/);
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
