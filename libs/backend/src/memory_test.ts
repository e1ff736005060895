import { formatGb, machineMemory, processMemory, resetPeakRss } from './memory.ts';

const linux = process.platform === 'linux';

(linux ? describe : describe.skip)('process and machine memory (Linux /proc)', () => {
  test('the peak follows an allocation and a reset starts it again from what is resident now', () => {
    expect(resetPeakRss()).toBe(true);
    const before = processMemory();
    if (before === null) throw new Error('no /proc/self/status');
    let block: Uint8Array | null = new Uint8Array(256 * 2 ** 20).fill(1); // 256 MiB, touched
    const during = processMemory();
    expect(during?.peakRssBytes ?? 0).toBeGreaterThanOrEqual(before.rssBytes + 250 * 2 ** 20);
    expect(block[block.length - 1]).toBe(1);
    block = null;
    expect(resetPeakRss()).toBe(true);
    const after = processMemory();
    expect(after?.peakRssBytes ?? Infinity).toBeLessThan((during?.peakRssBytes ?? 0) - 200 * 2 ** 20);
  });

  test('the machine has memory, and no more is available than it has', () => {
    const m = machineMemory();
    expect(m.totalBytes).toBeGreaterThan(2 ** 28);
    expect(m.availableBytes).not.toBeNull();
    expect(m.availableBytes ?? Infinity).toBeLessThanOrEqual(m.totalBytes);
  });
});

test('formatGb', () => {
  expect(formatGb(1.7e9)).toBe('1.70 GB');
  expect(formatGb(23.24e9)).toBe('23.2 GB');
});
