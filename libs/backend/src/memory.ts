/**
 * The process's and the machine's memory, as Linux reports it (`/proc/self/status`,
 * `/proc/meminfo`): what the benchmark and a run record as their peak, and what a run checks
 * its estimate against. Elsewhere (no `/proc`) the functions say so with `null` / `false`.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { totalmem } from 'node:os';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/** Resident memory of this process, bytes. */
export interface ProcessMemory {
  /** Resident now (`VmRSS`). */
  readonly rssBytes: number;
  /** High-water mark of resident memory since the process began or {@link resetPeakRss} (`VmHWM`). */
  readonly peakRssBytes: number;
}

/**
 * This process's resident memory now and at its peak, or null where `/proc` is missing.
 * @example processMemory() // { rssBytes: 612368384, peakRssBytes: 1698076672 }
 */
export function processMemory(): ProcessMemory | null {
  const status = readProc('/proc/self/status');
  const rss = status === null ? null : kilobytes(status, 'VmRSS');
  const peak = status === null ? null : kilobytes(status, 'VmHWM');
  return rss === null || peak === null ? null : { rssBytes: rss, peakRssBytes: peak };
}

/**
 * Starts a new high-water mark at the current resident memory (Linux ≥ 4.0: `echo 5 >
 * /proc/self/clear_refs`), first freeing what JavaScript no longer references (a full GC), so
 * a measurement's peak is its own. False where the kernel does not allow it.
 * @example resetPeakRss(); run(); processMemory()?.peakRssBytes
 */
export function resetPeakRss(): boolean {
  collectGarbage();
  try {
    writeFileSync('/proc/self/clear_refs', '5');
    return true;
  } catch {
    return false;
  }
}

/** The machine's memory, bytes: all of it, and what the kernel says is available to a new process (`MemAvailable`). */
export interface MachineMemory {
  readonly totalBytes: number;
  readonly availableBytes: number | null;
}

/** @example machineMemory() // { totalBytes: 25217392640, availableBytes: 21340000256 } */
export function machineMemory(): MachineMemory {
  const info = readProc('/proc/meminfo');
  return { totalBytes: totalmem(), availableBytes: info === null ? null : kilobytes(info, 'MemAvailable') };
}

// A full garbage collection. Node exposes `gc` only with --expose-gc; the flag can be set at
// run time and the function taken from a fresh context.
function collectGarbage(): void {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
}

function readProc(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
}

function kilobytes(text: string, field: string): number | null {
  const match = new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(text);
  return match === null ? null : Number(match[1]) * 1024;
}
