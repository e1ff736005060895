/**
 * The end of every app's main.ts: run it, set the exit code, remove what it left half-written,
 * and turn a system error (a full disk, a read-only mount, a port in use) into one line on
 * stderr with exit code 1. Only a bug prints a stack trace.
 */
import { describeSystemError, systemError } from '@resnet/files';
import { installLifecycle, runCleanups } from './lifecycle.ts';

/**
 * Runs an app's `main` and sets `process.exitCode` from what it returns.
 * @example runApp('train', () => main(process.argv.slice(2)))
 */
export function runApp(name: string, main: () => number | Promise<number>): void {
  installLifecycle(name);
  Promise.resolve()
    .then(main)
    .then(
      (code) => {
        process.exitCode = code;
        runCleanups();
      },
      (e: unknown) => {
        const system = systemError(e);
        if (system !== null) console.error(`${name}: ${describeSystemError(system)}`);
        else console.error(`${name}: unexpected error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
        runCleanups();
        // A failed app ends now: a server, child process or timer it started must not keep it
        // alive (the error is printed; stderr is synchronous for files, pipes and terminals).
        process.exit(1);
      },
    );
}
