import { machineMemory, processMemory, resetPeakRss } from './memory.ts';

const linux = process.platform === 'linux';

(linux ? describe : describe.skip)('process and machine memory (Linux /proc)', () => {
  test('the peak follows an allocation and a reset starts it again from what is resident now', () => {
    expect(resetPeakRss()).toBe(true);
    const before = processMemory();
    if (before === null) throw new Error('no /proc/self/status');
    let block: Uint8Array | null = new Uint8Array(256 * 2 ** 20).fill(1); // 256 MiB, touched
    const during = processMemory();
    // 200 of the 256 MiB: the rest of the heap may shrink meanwhile (jest's own garbage).
    expect(during?.peakRssBytes ?? 0).toBeGreaterThanOrEqual(before.rssBytes + 200 * 2 ** 20);
    expect(during?.peakRssBytes ?? 0).toBeGreaterThanOrEqual(during?.rssBytes ?? Infinity);
    expect(block[block.length - 1]).toBe(1);
    block = null;
    // After a reset the high-water mark is what is resident then (whether or not V8 has
    // returned the block yet), far below the peak that held the block.
    expect(resetPeakRss()).toBe(true);
    const after = processMemory();
    expect(after?.peakRssBytes ?? Infinity).toBeLessThanOrEqual((after?.rssBytes ?? 0) + 16 * 2 ** 20);
  });

  test('the machine has memory, and no more is available than it has', () => {
    const m = machineMemory();
    expect(m.totalBytes).toBeGreaterThan(2 ** 28);
    expect(m.availableBytes).not.toBeNull();
    expect(m.availableBytes ?? Infinity).toBeLessThanOrEqual(m.totalBytes);
  });
});
