/**
 * Small real file systems for tests of what happens when the disk is full or read-only: a
 * tmpfs mounted for the test (root only, as on CI) and unmounted after it. Import it as
 * `@resnet/files/testing`, from tests only.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setWriteStepHook, type WriteStep } from './write_steps.ts';

/** Why a tmpfs cannot be mounted here (not root, no mount), or null when it can. */
export const TMPFS_UNAVAILABLE: string | null = probeTmpfs();

/**
 * Mounts a tmpfs of `kib` KiB (read-only with `readOnly`) on a new folder, runs `fn` on it
 * and unmounts it, whatever `fn` does.
 * @example await withTmpfs({ kib: 64 }, (dir) => expect(() => writeFileSync(join(dir, 'x'), big)).toThrow(/ENOSPC/))
 */
export async function withTmpfs<T>(
  options: { readonly kib: number; readonly readOnly?: boolean },
  fn: (dir: string) => T | Promise<T>,
): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), 'tmpfs-'));
  const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', `${options.readOnly === true ? 'ro,' : ''}size=${options.kib}k`, 'tmpfs', dir], {
    encoding: 'utf8',
  });
  if (mounted.status !== 0) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`cannot mount a tmpfs on ${dir}: ${mounted.stderr.trim()}`);
  }
  try {
    return await fn(dir);
  } finally {
    spawnSync('umount', [dir]);
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * `describe` for tests that need {@link withTmpfs}: skipped with a notice where no tmpfs can be
 * mounted, except under CI=true, where they must run (CI runs as root).
 */
export const describeTmpfs: jest.Describe = TMPFS_UNAVAILABLE === null || process.env['CI'] === 'true' ? describe : describe.skip;
if (TMPFS_UNAVAILABLE !== null)
  console.warn(
    `[files] ${process.env['CI'] === 'true' ? 'REQUIRED' : 'SKIPPED'}: the full-disk and read-only tests (${TMPFS_UNAVAILABLE})`,
  );

function probeTmpfs(): string | null {
  if (process.getuid?.() !== 0) return 'they mount a tmpfs, which needs root';
  const dir = mkdtempSync(join(tmpdir(), 'tmpfs-probe-'));
  try {
    const r = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=16k', 'tmpfs', dir], { encoding: 'utf8' });
    if (r.status !== 0) return `mount -t tmpfs failed: ${(r.stderr ?? r.error?.message ?? '').trim()}`;
    spawnSync('umount', [dir]);
    return null;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Runs `fn` with the `at`-th step of every durable write from now on (1-based; see
 * write_steps.ts) failing as a full disk does (ENOSPC); `at` 0 fails none. Returns what `fn`
 * returned and every step seen, in order, so a first call with 0 counts a run's steps. `counts`
 * picks the steps that count (default: all).
 * @example const { steps } = await failWriteStep(0, () => train()); await failWriteStep(3, () => train())
 */
export async function failWriteStep<T>(
  at: number,
  fn: () => T | Promise<T>,
  options: { readonly counts?: (step: WriteStep) => boolean } = {},
): Promise<{ readonly result: T; readonly steps: readonly WriteStep[] }> {
  const steps: WriteStep[] = [];
  setWriteStepHook((step) => {
    // Steps that do not count (e.g. timed writes, whose number varies) neither fail nor are listed.
    if (options.counts !== undefined && !options.counts(step)) return;
    steps.push(step);
    if (steps.length === at) {
      throw Object.assign(new Error(`ENOSPC: no space left on device, ${step.op} '${step.path}' (injected)`), {
        code: 'ENOSPC',
        syscall: step.op,
        path: step.path,
      });
    }
  });
  try {
    return { result: await fn(), steps };
  } finally {
    setWriteStepHook(null);
  }
}
