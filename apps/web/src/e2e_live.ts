/**
 * web:e2e's live part: web:serve over a folder that training runs write into while a page is
 * open in Chromium. The page was opened before the first run started; its row must go running
 * → finished and its chart gain points without a reload; a run killed with SIGKILL shows as
 * stale; a run with a damaged metrics line shows its error, not a blank page; requests for
 * files outside the site are refused. Measures how long an epoch takes to reach the page.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Browser } from 'playwright-core';

const WORKSPACE = resolve(__dirname, '../../..');
const ENV = { ...process.env, TSX_TSCONFIG_PATH: join(WORKSPACE, 'tsconfig.base.json'), NX_TASK_TARGET_PROJECT: '' };

interface Check {
  readonly name: string;
  readonly ok: boolean;
  readonly detail: string;
}

/** An app's main file in a child process, its output kept. */
function start(main: string, args: readonly string[]): { readonly child: ChildProcess; readonly output: () => string } {
  const child = spawn(process.execPath, ['--import', 'tsx', join(WORKSPACE, main), ...args], {
    cwd: WORKSPACE,
    env: ENV,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  return { child, output: () => output };
}

async function until<T>(what: string, get: () => T | null | Promise<T | null>, ms: number): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await get();
    if (v !== null) return v;
    if (Date.now() > end) throw new Error(`timed out after ${ms / 1000} s waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const epochsIn = (dir: string) =>
  existsSync(join(dir, 'metrics.jsonl')) ? readFileSync(join(dir, 'metrics.jsonl'), 'utf8').trim().split('\n').filter(Boolean).length : 0;

/**
 * Runs the live checks with `finished` (a finished run directory: its config.json seeds the
 * damaged run) in `work`; returns the checks.
 */
export async function liveChecks(browser: Browser, work: string, finished: string, screenshots: string): Promise<readonly Check[]> {
  const checks: Check[] = [];
  const folder = join(work, 'live');
  mkdirSync(folder, { recursive: true });
  // A run whose metrics.jsonl has a damaged line.
  const bad = join(folder, 'damaged');
  mkdirSync(bad);
  copyFileSync(join(finished, 'config.json'), join(bad, 'config.json'));
  writeFileSync(join(bad, 'metrics.jsonl'), '{"epoch": 1, "loss": oops\n');

  const server = start('apps/web/src/main.ts', [`--runs=${folder}`, '--port=0', '--images=2']);
  const children: ChildProcess[] = [server.child];
  try {
    const port = await until(
      'web:serve to print its URL',
      () => /web: http:\/\/127\.0\.0\.1:(\d+)\//.exec(server.output())?.[1] ?? null,
      120_000,
    );
    const base = `http://127.0.0.1:${port}/`;
    const page = await browser.newPage({ viewport: { width: 1300, height: 900 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(`page error: ${e.message}`));
    await page.goto(base);
    await page.waitForFunction(() => document.body.dataset['ready'] !== undefined, null, { timeout: 60_000 });
    const damaged = await page
      .waitForSelector(`#runs-table tr[data-dir="${bad}"]`, { timeout: 10_000 })
      .then((row) => row.evaluate((el) => ({ state: (el as HTMLElement).dataset['state'], text: el.textContent ?? '' })));
    checks.push({
      name: 'live: a damaged metrics line is an error on that run',
      ok:
        damaged.state === 'error' &&
        damaged.text.includes('metrics.jsonl:1') &&
        (await page.evaluate(() => document.body.dataset['ready'])) === 'true',
      detail: `${damaged.state}: ${damaged.text.slice(0, 140)}`,
    });

    // A run started after the page opened: running, then finished, its chart growing.
    const run = join(folder, 'resnet18');
    // 28×28, the classifier's input, so that its model can classify below.
    const training = start('apps/train/src/main.ts', [
      '--variant=18',
      '--train-limit=2048',
      '--test-limit=64',
      '--mini-batch=32',
      '--epochs=3',
      '--seed=1',
      `--out=${run}`,
    ]);
    children.push(training.child);
    const row = `#runs-table tr[data-dir="${run}"]`;
    const seen = new Set<string>();
    const watchStates = setInterval(() => {
      void page
        .$eval(row, (el) => (el as HTMLElement).dataset['state'] ?? '')
        .then(
          (s) => seen.add(s),
          () => undefined,
        );
    }, 100);
    // Time from the metrics line on disk to the page's row.
    const latencies: number[] = [];
    const points: number[] = [];
    for (let epoch = 1; epoch <= 3; epoch++) {
      const written = await until(
        `epoch ${epoch} in ${run}/metrics.jsonl (training: ${training.output().slice(-300)})`,
        () => (epochsIn(run) >= epoch ? Date.now() : null),
        120_000,
      );
      await page.waitForFunction(
        ([sel, e]) => Number((document.querySelector(sel as string) as HTMLElement | null)?.dataset['epochs'] ?? 0) >= (e as number),
        [row, epoch],
        { timeout: 15_000, polling: 50 },
      );
      latencies.push(Date.now() - written);
      const drawn = await page
        .waitForFunction(
          (e) =>
            Number(document.querySelector('#runs-charts figure[data-rendered]')?.getAttribute('data-points') ?? 0) >= 3 * (e as number),
          epoch,
          { timeout: 15_000, polling: 50 },
        )
        .then(
          () => page.$eval('#runs-charts figure[data-rendered]', (el) => Number(el.getAttribute('data-points'))),
          () => -1,
        );
      points.push(drawn);
    }
    await page.waitForSelector(`${row}[data-state="finished"]`, { timeout: 30_000 }).catch(() => undefined);
    clearInterval(watchStates);
    const final = await page.$eval(row, (el) => (el as HTMLElement).dataset['state']);
    checks.push({
      name: 'live: a run started after the page opened goes running → finished without a reload',
      ok: seen.has('running') && final === 'finished',
      detail: `states seen: ${[...seen].join(' → ')}; final ${final}`,
    });
    checks.push({
      name: 'live: its chart gains a point per epoch (3 series)',
      // At least the epochs on disk then (a later one may already be drawn), and exactly 3 × 3 data points at the end.
      ok: points.length === 3 && points.every((p, i) => p >= 3 * (i + 1)) && points[2] === 9,
      detail: `points drawn after epochs 1, 2, 3: ${points.join(', ')}`,
    });
    checks.push({
      name: 'live: an epoch reaches the page within 2 s',
      ok: latencies.every((l) => l <= 2000),
      detail: `metrics line on disk → row updated: ${latencies.map((l) => `${l} ms`).join(', ')}`,
    });
    await page.locator('#runs').screenshot({ path: join(screenshots, 'runs-live.png') });

    // The finished run's model in the classifier (the page started without one: no run had weights).
    await page.click(`#runs-table button[data-dir="${run}"]`);
    const classified = await page
      .waitForFunction((dir) => document.querySelector('#classifier-status')?.getAttribute('data-run') === dir, run, { timeout: 60_000 })
      .then(
        () =>
          page.$eval(
            '#classifier-status',
            (el) => `${el.textContent ?? ''} (${document.querySelectorAll('#classifier-images figure').length} images shown)`,
          ),
        () => null,
      );
    checks.push({
      name: 'live: a finished run chosen in the table classifies in the classifier',
      ok: classified !== null && classified.includes('test images right') && classified.includes('(2 images shown)'),
      detail: classified ?? 'the classifier did not take the model within 60 s',
    });

    // A run killed with SIGKILL: its process is gone, its record says training: stale.
    const killedDir = join(folder, 'resnet18-killed');
    const doomed = start('apps/train/src/main.ts', [
      '--variant=18',
      '--image-size=16',
      '--train-limit=8192',
      '--test-limit=64',
      '--mini-batch=32',
      '--epochs=5',
      `--out=${killedDir}`,
    ]);
    children.push(doomed.child);
    const killedRow = `#runs-table tr[data-dir="${killedDir}"]`;
    await page.waitForSelector(`${killedRow}[data-state="running"]`, { timeout: 60_000 });
    // Running with a progress record (at least one progress.json written), then killed.
    await until('its progress.json', () => (existsSync(join(killedDir, 'progress.json')) ? true : null), 30_000);
    doomed.child.kill('SIGKILL');
    const killedAt = Date.now();
    const stale = await page.waitForSelector(`${killedRow}[data-state="stale"]`, { timeout: 15_000 }).then(
      (el) => el.evaluate((e) => e.textContent ?? ''),
      () => null,
    );
    checks.push({
      name: 'live: a run killed with SIGKILL shows as stale',
      ok: stale !== null,
      detail: stale === null ? 'not within 15 s' : `after ${Date.now() - killedAt} ms: ${stale.slice(0, 160)}`,
    });

    // Nothing but the site and the runs' data: the requests of the issue.
    const probes = [
      '/@fs/etc/passwd',
      `/@fs${WORKSPACE}/package.json`,
      `/@fs${WORKSPACE}/README.md?raw`,
      `/@fs${WORKSPACE}/node_modules/vite/package.json`,
      '/../package.json',
      '/%2e%2e/%2e%2e/etc/passwd',
      '/..%2f..%2fetc/passwd',
      '/%2e%2e%2fpackage.json',
      '/package.json',
      '/README.md?raw',
      '/src/page/main.ts?import',
      `/${join(run, 'model', 'weights.bin')}`,
      `/${join(finished, 'config.json')}`,
    ];
    const answers = await Promise.all(probes.map(async (p) => [p, (await fetch(`${base.slice(0, -1)}${p}`)).status] as const));
    const leaked = answers.filter(([, status]) => status !== 403 && status !== 404);
    checks.push({
      name: 'live: no file outside the site is served (.., %2e%2e, /@fs/, ?raw, ?import, run files)',
      ok: leaked.length === 0,
      detail: answers.map(([p, s]) => `${s} ${p}`).join('; '),
    });
    checks.push({ name: 'live: no page errors', ok: errors.length === 0, detail: errors.join(' | ') || 'none' });
    await page.close();
    return checks;
  } finally {
    for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  }
}
