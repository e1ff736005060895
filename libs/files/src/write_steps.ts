/**
 * The steps of a durable write — each file written (and fsynced), each rename, each folder
 * fsync — announced before they happen, so a test can make any one of them fail as a full disk
 * would and check what the writer leaves behind (`failWriteStep` in `@resnet/files/testing`).
 * Production code never sets a hook; announcing a step then costs one comparison.
 */

/** A step of a write. `path`: the file written, the rename's target, or the folder synced. */
export interface WriteStep {
  readonly op: 'write' | 'rename' | 'sync';
  readonly path: string;
  /** The file or folder whose write the step is part of (the target, not its temporary name). */
  readonly of: string;
}

let hook: ((step: WriteStep) => void) | null = null;

/**
 * Announces a step (the hook may throw, as the system call would).
 * @example writeStep({ op: 'rename', path: 'runs/r/latest.json', of: 'runs/r/latest.json' })
 */
export function writeStep(step: WriteStep): void {
  if (hook !== null) hook(step);
}

/**
 * Sets (or, with null, clears) the hook that sees every step. For tests.
 * @example setWriteStepHook((s) => steps.push(s))
 */
export function setWriteStepHook(next: ((step: WriteStep) => void) | null): void {
  hook = next;
}
