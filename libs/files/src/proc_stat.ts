/**
 * A process's state, parent and start time from `/proc/<pid>/stat` (Linux): what the run lock
 * needs to tell a live owner from a dead one or a reused pid, and what an app needs to notice
 * that its launcher is gone. Null for a process that is gone, or off Linux.
 */
import { readFileSync } from 'node:fs';

/** The fields of `/proc/<pid>/stat` this project reads. */
export interface ProcStat {
  /** `R`, `S`, `Z` (a zombie: dead, not yet reaped), … */
  readonly state: string;
  readonly ppid: number;
  /** Start time in clock ticks since boot (field 22), as a string: with the pid, it names one process. */
  readonly start: string;
}

/**
 * @example procStat(process.pid) // { state: 'R', ppid: 4241, start: '1234567' }
 */
export function procStat(pid: number): ProcStat | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) is in parentheses and may hold spaces: fields 3… follow the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const [state, ppid, start] = [fields[0], fields[1], fields[19]];
    return state === undefined || ppid === undefined || start === undefined ? null : { state, ppid: Number(ppid), start };
  } catch {
    return null;
  }
}
