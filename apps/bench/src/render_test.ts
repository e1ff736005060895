import { renderProfiles, renderTable, withRatios, type Measurement } from './render.ts';

const base = { mode: 'train' as const, imageSize: 28, batchSize: 128, device: 'cpu', medianStepMs: 700, steps: 10, warmup: 2 };

describe('withRatios', () => {
  test('divides each row by the PyTorch row of the same configuration, null without one', () => {
    const rows = withRatios([
      { ...base, variant: 18, backend: 'pytorch', examplesPerSec: 100, fused: null },
      { ...base, variant: 18, backend: 'onednn', examplesPerSec: 150, fused: true },
      { ...base, variant: 34, backend: 'onednn', examplesPerSec: 80, fused: true },
      { ...base, variant: 18, batchSize: 64, backend: 'onednn', examplesPerSec: 90, fused: true },
    ]);
    expect(rows.map((r) => r.vsPytorch)).toEqual([1, 1.5, null, null]);
  });
});

describe('renderTable', () => {
  test('one line per measurement, the baseline labelled, ratios with two decimals', () => {
    const rows: Measurement[] = withRatios([
      { ...base, variant: 18, backend: 'pytorch', examplesPerSec: 171.84, fused: null },
      { ...base, variant: 18, backend: 'onednn', examplesPerSec: 192.7, fused: true },
      { ...base, variant: 18, backend: 'onednn', examplesPerSec: 80.8, fused: false },
    ]);
    const lines = renderTable(rows).split('\n');
    expect(lines).toHaveLength(5);
    expect(lines[2]).toMatch(/^ResNet-18\s+28×28\s+128\s+pytorch \(baseline\)\s+cpu\s+171\.8\s+700\s+1\.00×$/);
    expect(lines[3]).toMatch(/onednn\s+cpu\s+192\.7\s+700\s+1\.12×$/);
    expect(lines[4]).toContain('onednn (unfused)');
  });
});

describe('renderProfiles', () => {
  test('lists the top kernels of profiled rows only, with their share of the step', () => {
    const rows = withRatios([
      { ...base, variant: 18, backend: 'onednn', examplesPerSec: 1, fused: true, kernels: [{ kernel: 'Conv2D', msPerStep: 350, callsPerStep: 20 }, { kernel: 'Relu', msPerStep: 70, callsPerStep: 17 }] },
      { ...base, variant: 18, backend: 'pytorch', examplesPerSec: 1, fused: null },
    ]);
    const text = renderProfiles(rows, 1);
    expect(text.split('\n')).toHaveLength(2);
    expect(text).toContain('kernels 420 of 700 ms per step');
    expect(text).toMatch(/Conv2D\s+350\.0 ms\/step\s+50\.0% of the step\s+20 calls/);
  });
});
