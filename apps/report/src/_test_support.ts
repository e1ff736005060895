// Shared by this app's tests: report:serve run in-process with its console captured.
import * as E from 'fp-ts/Either';
import { parseCommand } from '@resnet/cli';
import { report, REPORT } from './app.ts';

/** Parses `args` as the app does and runs it; exit code and what it printed. */
export async function runReport(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const log = jest.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void out.push(a.join(' ')));
  const error = jest.spyOn(console, 'error').mockImplementation((...a: unknown[]) => void err.push(a.join(' ')));
  try {
    const parsed = parseCommand(REPORT, args);
    const code = E.isLeft(parsed) ? parsed.left : await report(parsed.right, args);
    return { code, stdout: out.join('\n'), stderr: err.join('\n') };
  } finally {
    log.mockRestore();
    error.mockRestore();
  }
}
