// web:serve's ends, as a user meets them: a signal stops the server and removes its temporary
// folder (43 MB with a model); a port it may not bind is one line and an exit, not a stack
// trace and a process that hangs.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { APP_ENV, mainArgs, startMain, WORKSPACE } from '@resnet/cli/testing';

const ON_CI = process.env['CI'] === 'true';
const REAL = existsSync('/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz');
const IS_ROOT = process.getuid?.() === 0;

(REAL || ON_CI ? describe : describe.skip)('web:serve ends cleanly', () => {
  test.each([['SIGTERM'], ['SIGINT'], ['SIGHUP']] as const)('%s stops the server: exit 0, its temporary folder removed', async (signal) => {
    const app = startMain('apps/web/src/main.ts', ['--port=0', '--images=2']);
    try {
      await app.waitFor(/web: http:\/\/127\.0\.0\.1:\d+\//);
      // Its folder carries its pid (other tests make such folders at the same time).
      const made = readdirSync(tmpdir()).filter((f) => f.startsWith(`resnet-web-${app.child.pid}-`));
      expect(made).toHaveLength(1);
      app.child.kill(signal);
      const r = await app.ended;
      expect(r.code).toBe(0);
      expect(r.stderr).toContain(`web: ${signal}`);
      expect(made.filter((f) => existsSync(join(tmpdir(), f)))).toEqual([]);
    } finally {
      app.child.kill('SIGKILL');
    }
  });

  (IS_ROOT ? test : test.skip)(
    'a port it may not bind (80, as an unprivileged user): one line naming the port, exit 1, no temporary folder left',
    () => {
      // nobody gets a temporary folder of its own: the test run's (tools/jest/tmp_root_setup.cjs) is
      // root's, and nobody may only pass through it.
      const nobodyTmp = mkdtempSync(join(tmpdir(), 'web-nobody-'));
      try {
        expect(spawnSync('chown', ['nobody', nobodyTmp]).status).toBe(0);
        // runuser: the same app as user nobody, who may not bind ports below 1024.
        const r = spawnSync(
          'runuser',
          ['-u', 'nobody', '--', process.execPath, ...mainArgs('apps/web/src/main.ts', ['--port=80', '--images=2'])],
          { cwd: WORKSPACE, env: { ...APP_ENV, TMPDIR: nobodyTmp }, encoding: 'utf8', timeout: 60_000 },
        );
        expect(r.signal).toBeNull();
        expect(r.status).toBe(1);
        // (nobody cannot write vite's cache in this root-owned clone: vite says so above our line.)
        expect(r.stderr.trim().split('\n').pop()).toBe(
          'web: cannot serve: 127.0.0.1:80: permission denied (EACCES, listen); choose another --port (1024 or above, or 0 for any free one)',
        );
        expect(r.stderr).not.toContain('unexpected error');
        // No folder of its is left there.
        expect(readdirSync(nobodyTmp).filter((f) => f.startsWith('resnet-web-'))).toEqual([]);
      } finally {
        rmSync(nobodyTmp, { recursive: true, force: true });
      }
    },
  );

  // A folder where nothing new may be made (chattr +i; root is not refused by modes), with tsx's
  // cache folder inside it already, so that the app itself, not the loader, meets it.
  (IS_ROOT ? test : test.skip)('a temporary folder it cannot make: one line naming TMPDIR, exit 1', () => {
    const locked = mkdtempSync(join(tmpdir(), 'web-locked-'));
    mkdirSync(join(locked, 'tsx-0'));
    const chattr = spawnSync('chattr', ['+i', locked], { encoding: 'utf8' });
    expect({ chattr: chattr.status, stderr: chattr.stderr }).toEqual({ chattr: 0, stderr: '' });
    try {
      const r = spawnSync(process.execPath, mainArgs('apps/web/src/main.ts', ['--port=0', '--images=2']), {
        cwd: WORKSPACE,
        env: { ...APP_ENV, TMPDIR: locked },
        encoding: 'utf8',
        timeout: 60_000,
      });
      expect({ code: r.status, stderr: r.stderr.trim() }).toEqual({
        code: 1,
        stderr: `web: cannot make a temporary folder in ${locked}: operation not permitted (EPERM, mkdtemp); set TMPDIR to a folder you may write`,
      });
    } finally {
      spawnSync('chattr', ['-i', locked]);
    }
  });
});
