// web:serve's ends, as a user meets them: a signal stops the server and removes its temporary
// folder (43 MB with a model); a port it may not bind is one line and an exit, not a stack
// trace and a process that hangs.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
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
      const before = new Set(readdirSync(tmpdir()));
      // runuser: the same app as user nobody, who may not bind ports below 1024.
      const r = spawnSync(
        'runuser',
        ['-u', 'nobody', '--', process.execPath, ...mainArgs('apps/web/src/main.ts', ['--port=80', '--images=2'])],
        { cwd: WORKSPACE, env: APP_ENV, encoding: 'utf8', timeout: 60_000 },
      );
      expect(r.signal).toBeNull();
      expect(r.status).toBe(1);
      // (nobody cannot write vite's cache in this root-owned clone: vite says so above our line.)
      expect(r.stderr.trim().split('\n').pop()).toBe(
        'web: cannot serve: 127.0.0.1:80: permission denied (EACCES, listen); choose another --port (1024 or above, or 0 for any free one)',
      );
      expect(r.stderr).not.toContain('unexpected error');
      // Its folders would be nobody's (other tests, as root, make such folders at the same time).
      const nobody = Number(spawnSync('id', ['-u', 'nobody'], { encoding: 'utf8' }).stdout);
      expect(
        readdirSync(tmpdir()).filter((f) => f.startsWith('resnet-web-') && !before.has(f) && statSync(join(tmpdir(), f)).uid === nobody),
      ).toEqual([]);
    },
  );
});
