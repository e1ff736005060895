// web:build as a user runs it: a child process, its output, exit code and files.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { APP_ENV, mainArgs, runMain, WORKSPACE } from '@resnet/cli/testing';
import type { SiteData } from './site_data.ts';

const REAL = existsSync('/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz');
const ON_CI = process.env['CI'] === 'true';

const build = (...args: string[]) => runMain('apps/web/src/build_main.ts', args);

const tmp = () => mkdtempSync(join(tmpdir(), 'web-app-'));

describe('web:build', () => {
  test('an --out folder with other files is refused with one line, and left as it was', () => {
    const out = tmp();
    writeFileSync(join(out, 'notes.txt'), 'mine');
    const r = build(`--out=${out}`);
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toBe(
      `web: --out=${out} is a folder with other files (no resnet-web.json): pass a new or empty folder, or a previous web:build`,
    );
    expect(readdirSync(out)).toEqual(['notes.txt']);
  });

  test('a missing --runs is refused and nothing is written', () => {
    const parent = tmp();
    const r = build(`--runs=${join(parent, 'nope')}`, `--out=${join(parent, 'site')}`);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`--runs: ${join(parent, 'nope')} does not exist`);
    expect(readdirSync(parent)).toEqual([]);
  });

  test('a folder that is not a run is refused and nothing is written', () => {
    const parent = tmp();
    mkdirSync(join(parent, 'empty'));
    const r = build(`--runs=${join(parent, 'empty')}`, `--out=${join(parent, 'site')}`);
    expect(r.code).not.toBe(0);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(readdirSync(parent)).toEqual(['empty']);
  });

  test('--out is required', () => {
    expect(build().stderr.trim()).toBe('web: --out=<dir> is required: the folder for the static site (e.g. --out=dist/web)');
  });

  (REAL || ON_CI ? test : test.skip)(
    'without a run: the page, its code and site.json with the first test images; a second build replaces the first',
    () => {
      const out = join(tmp(), 'site');
      for (const images of [3, 5]) {
        const r = build(`--out=${out}`, `--images=${images}`);
        expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
        expect(r.stdout).toContain(`web: wrote ${out}: ${images} test images, no classifier model, 0 charts (0 runs)`);
        const site = JSON.parse(readFileSync(join(out, 'site.json'), 'utf8')) as SiteData;
        expect(site.images?.count).toBe(images);
        // The first test images of Fashion-MNIST: ankle boot, pullover, trouser, trouser, shirt.
        expect(site.images?.labels).toEqual([9, 2, 1, 1, 6].slice(0, images));
        expect(Buffer.from(site.images?.pixels ?? '', 'base64').length).toBe(images * 28 * 28);
        expect(readFileSync(join(out, 'index.html'), 'utf8')).toMatch(
          /<script type="module" crossorigin src="\.\/assets\/index-[\w-]+\.js">/,
        );
      }
      expect(readdirSync(join(out, '..'))).toEqual(['site']);
    },
    120_000,
  );
});

describe('web:serve', () => {
  (REAL || ON_CI ? test : test.skip)(
    'prints its URL on 127.0.0.1, serves the page and site.json, and stops cleanly on Ctrl-C',
    async () => {
      const child = spawn(process.execPath, mainArgs('apps/web/src/main.ts', ['--port=0', '--images=2']), { cwd: WORKSPACE, env: APP_ENV });
      let stdout = '';
      const url = await new Promise<string>((done, fail) => {
        child.stdout.on('data', (d: Buffer) => {
          stdout += d.toString();
          const m = /web: (http:\/\/127\.0\.0\.1:\d+\/)/.exec(stdout);
          if (m?.[1] !== undefined) done(m[1]);
        });
        child.on('exit', (code) => fail(new Error(`web:serve exited ${code}: ${stdout}`)));
      });
      try {
        expect(await (await fetch(url)).text()).toContain('<title>resnet-ts');
        const site = (await (await fetch(`${url}site.json`)).json()) as SiteData;
        expect(site.images?.count).toBe(2);
      } finally {
        const exited = new Promise<number | null>((done) => child.on('exit', done));
        child.kill('SIGINT');
        expect(await exited).toBe(0);
      }
    },
    60_000,
  );
});
if (!REAL && !ON_CI)
  console.warn('SKIPPED: the web:build test with data needs the real Fashion-MNIST: apt-get install dataset-fashion-mnist');
