/**
 * The end of every app's main.ts: run it, set the exit code, and turn an unexpected
 * exception into one line on stderr with exit code 1.
 */

/**
 * Runs an app's `main` and sets `process.exitCode` from what it returns.
 * @example runApp('train', () => main(process.argv.slice(2)))
 */
export function runApp(name: string, main: () => number | Promise<number>): void {
  Promise.resolve()
    .then(main)
    .then(
      (code) => {
        process.exitCode = code;
      },
      (e: unknown) => {
        console.error(`${name}: unexpected error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
        process.exitCode = 1;
      },
    );
}
