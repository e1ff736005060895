/**
 * What can be wrong with a run directory, as data. Every function of this lib that can fail
 * returns one of these; apps turn them into messages that name their flags.
 */
import { describeSystemError, systemError, type LockOwner } from '@resnet/files';

/**
 * A problem with a run directory, as data: which directory (and file), and why. `message`
 * says what is wrong and where, in one sentence that names no command-line flag; an app adds
 * the way out in its own flags (train's `runErrorMessage`).
 * @example { _tag: 'NotARun', dir: 'runs/x', exists: false, message: 'runs/x does not exist' }
 */
export type RunError =
  /** `dir` does not exist (`exists: false`) or has no config.json. */
  | { readonly _tag: 'NotARun'; readonly dir: string; readonly exists: boolean; readonly message: string }
  /** `dir`, where a new run was to start, is a file. */
  | { readonly _tag: 'NotADirectory'; readonly dir: string; readonly message: string }
  /** `dir` already holds this run, and it has a checkpoint: continue it rather than start it. */
  | { readonly _tag: 'AlreadyStarted'; readonly dir: string; readonly message: string }
  /** `dir` holds another run (`holds: 'run'`: its config.json differs) or files that are not a run. */
  | { readonly _tag: 'DifferentRun'; readonly dir: string; readonly holds: 'run' | 'files'; readonly message: string }
  /** config.json is not JSON, or not a run's config (`reason` names the field). */
  | { readonly _tag: 'BadConfig'; readonly dir: string; readonly file: string; readonly reason: string; readonly message: string }
  /** A damaged metrics line (`line`), latest.json, or the checkpoint it names. */
  | {
      readonly _tag: 'Corrupt';
      readonly dir: string;
      readonly part: 'metrics' | 'latest' | 'checkpoint';
      readonly file: string;
      readonly line?: number;
      readonly reason: string;
      readonly message: string;
    }
  /** There is no checkpoint to restore (no latest.json). */
  | { readonly _tag: 'NoCheckpoint'; readonly dir: string; readonly message: string }
  /** The file system refused (`reason`: its error). */
  | { readonly _tag: 'Io'; readonly dir: string; readonly reason: string; readonly message: string }
  /** Another process owns the run (`sameHost`: a live one here; else one on another host), or its lock names no owner (`owner` null). */
  | { readonly _tag: 'Busy'; readonly dir: string; readonly owner: LockOwner | null; readonly sameHost: boolean; readonly message: string };

/**
 * A file-system failure as a {@link RunError}: `what` was being done, the system's reason.
 * @example ioError('runs/r', 'cannot write runs/r', enospc) // { _tag: 'Io', message: 'cannot write runs/r: runs/r/config.json: no space left on the device (ENOSPC, write)' }
 */
export function ioError(dir: string, what: string, e: unknown): RunError {
  const system = systemError(e);
  const reason = system !== null ? describeSystemError(system) : e instanceof Error ? e.message : String(e);
  return { _tag: 'Io', dir, reason, message: `${what}: ${reason}` };
}
