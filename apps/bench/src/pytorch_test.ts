// The baseline runner against stand-in interpreters (shell scripts), and against the real
// tools/bench_torch.py when Debian's python3-torch is installed.
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultPython, runTorch, torchScript } from './pytorch.ts';

const config = { mode: 'train', variant: 18, imageSize: 28, batchSize: 2 } as const;
const timing = { steps: 1, warmup: 0 };

function fakePython(body: string): string {
  const path = join(mkdtempSync(join(tmpdir(), 'bench-py-')), 'python');
  writeFileSync(path, `#!/bin/sh\n${body}\n`);
  chmodSync(path, 0o755);
  return path;
}

describe('runTorch', () => {
  test('passes the configuration as flags and reads the JSON line', () => {
    const python = fakePython(
      `echo "warming up"; echo "{\\"examplesPerSec\\": 12.5, \\"medianStepMs\\": 160, \\"device\\": \\"cpu (2 threads) $3 $5 $7 $9\\"}"`,
    );
    expect(runTorch(python, 'script.py', config, timing)).toEqual({
      ok: true,
      examplesPerSec: 12.5,
      medianStepMs: 160,
      device: 'cpu (2 threads) train 18 28 2',
      peakRssBytes: null,
    });
  });

  test('reads the peak memory PyTorch reports; a missing or non-positive one is null', () => {
    const python = fakePython(
      `echo "{\\"examplesPerSec\\": 12.5, \\"medianStepMs\\": 160, \\"device\\": \\"cpu\\", \\"peakRssBytes\\": 512000000}"`,
    );
    expect(runTorch(python, 'script.py', config, timing)).toMatchObject({ ok: true, peakRssBytes: 512000000 });
    const zero = fakePython(`echo "{\\"examplesPerSec\\": 12.5, \\"medianStepMs\\": 160, \\"device\\": \\"cpu\\", \\"peakRssBytes\\": 0}"`);
    expect(runTorch(zero, 'script.py', config, timing)).toMatchObject({ ok: true, peakRssBytes: null });
  });

  test('a missing interpreter, a missing torch, or a crash is a notice that says what to do', () => {
    const missing = runTorch('/nonexistent/python3', 'script.py', config, timing);
    expect(missing).toEqual({
      ok: false,
      notice: expect.stringContaining('/nonexistent/python3 not found. Fix: apt-get install -y python3-torch') as unknown,
    });
    const noTorch = runTorch(fakePython(`echo '{"error": "PyTorch is not importable"}'; exit 3`), 'script.py', config, timing);
    expect(noTorch).toEqual({ ok: false, notice: 'PyTorch baseline skipped: PyTorch is not importable' });
    const crash = runTorch(fakePython(`echo 'Traceback: boom' >&2; exit 1`), 'script.py', config, timing);
    expect(crash).toEqual({ ok: false, notice: expect.stringContaining('Traceback: boom') as unknown });
  });

  const hasTorch = spawnSync(defaultPython(), ['-c', 'import torch'], { encoding: 'utf8' }).status === 0;
  (hasTorch || process.env['CI'] === 'true' ? test : test.skip)(
    'the real tools/bench_torch.py measures a step (python3-torch installed)',
    () => {
      const r = runTorch(defaultPython(), torchScript(), config, timing);
      expect(r).toMatchObject({ ok: true, device: expect.stringContaining('torch') as unknown });
      if (r.ok) expect(r.examplesPerSec).toBeGreaterThan(0);
    },
  );
  (hasTorch || process.env['CI'] === 'true' ? test : test.skip)(
    'the real tools/bench_torch.py measures an inference batch with --mode infer',
    () => {
      const r = runTorch(defaultPython(), torchScript(), { ...config, mode: 'infer' }, timing);
      expect(r).toMatchObject({ ok: true, device: expect.stringContaining('torch') as unknown });
      if (r.ok) expect(r.examplesPerSec).toBeGreaterThan(0);
    },
  );
  if (!hasTorch)
    console.warn(
      `[bench] SKIPPED the real PyTorch baseline test: ${defaultPython()} cannot import torch (apt-get install -y python3-torch)`,
    );
});
