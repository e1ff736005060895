/**
 * `nx run web:e2e` — the built site in headless Chromium (Debian's, through playwright-core),
 * checked against the command-line tools: a tiny run trained by train:serve, the explorer's
 * totals against table:serve --format=json, the classifier against train:evaluate
 * --predictions, drawings on the canvas against the model run by onnxruntime-node
 * (e2e_drawing.ts), a drawn run chart, no console errors; then web:serve live over runs
 * training while the page is open (e2e_live.ts). Writes a screenshot per view and
 * ends with the measured bundle size, load time and classification time per image.
 */
import { spawn } from 'node:child_process';
import { createReadStream, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { extname, join, resolve } from 'node:path';
import { command, type Parsed, type Schema } from '@resnet/cli';
import { DEPTHS } from '@resnet/variants';
import { BUILD_MARKER } from './app.ts';
import { drawingChecks } from './e2e_drawing.ts';
import { liveChecks } from './e2e_live.ts';
import type { SiteData } from './site_data.ts';

const WORKSPACE = resolve(__dirname, '../../..');

const FLAGS = {
  run: { kind: 'string', default: null, help: 'use this run directory instead of training a tiny one (faster when iterating)' },
  screenshots: { kind: 'string', default: 'dist/web-e2e', help: 'folder for the screenshots of the three views', output: 'directory' },
  chromium: { kind: 'string', default: '/usr/bin/chromium', help: "Chromium executable (Debian's package: apt-get install chromium)" },
  keep: { kind: 'bool', default: false, help: 'keep the temporary folder (run, site, tool outputs) and print where it is' },
} as const satisfies Schema;

/** `npx nx run web:e2e`. */
export const E2E = command('web:e2e', {
  summary:
    'Builds the site from a tiny train:serve run and checks it in headless Chromium against table:serve and train:evaluate; writes a screenshot per view.',
  flags: FLAGS,
});

/** The explorer's two settings under test: 224×224×3 (1000 classes) and 28×28×1 (10 classes). */
const SETTINGS = [
  { input: 224, channels: 3, classes: 1000 },
  { input: 28, channels: 1, classes: 10 },
] as const;
const PREDICTED_IMAGES = 20;

interface Check {
  readonly name: string;
  readonly ok: boolean;
  readonly detail: string;
}

/**
 * Runs the end-to-end check; returns the exit code (0 all passed, 1 a check failed, 2 no Chromium).
 * @example await e2e({ run: null, screenshots: 'dist/web-e2e', chromium: '/usr/bin/chromium', keep: false }) // 0
 */
export async function e2e(flags: Parsed<typeof FLAGS>): Promise<number> {
  if (!existsSync(flags.chromium)) {
    console.error(`e2e: no Chromium at ${flags.chromium}: install Debian's package (apt-get install chromium) or pass --chromium=<path>`);
    return 2;
  }
  const started = Date.now();
  const work = mkdtempSync(join(tmpdir(), 'resnet-web-e2e-'));
  try {
    const checks: Check[] = [];
    const run = flags.run ?? join(work, 'run');
    // Training and the table runs are independent: start them together.
    const training =
      flags.run === null
        ? nx('train:serve', ['--variant=18', '--epochs=1', '--train-limit=256', '--test-limit=64', `--out=${run}`])
        : Promise.resolve();
    const tables = Promise.all(
      SETTINGS.map((s, i) =>
        nx('table:serve', [
          '--format=json',
          `--input=${s.input}`,
          `--channels=${s.channels}`,
          `--classes=${s.classes}`,
          `--out=${join(work, `table${i}.json`)}`,
        ]),
      ),
    );
    // Awaited below; a failure must not end the process before the temporary folder is removed.
    tables.catch(() => undefined);
    await training;
    const predictions = join(work, 'predictions.json');
    const evaluating = nx('train:evaluate', [`--run=${run}`, `--test-limit=${PREDICTED_IMAGES}`, `--predictions=${predictions}`]).then(
      () => true,
      (e: unknown) => {
        console.error(`e2e: train:evaluate --predictions failed (${e instanceof Error ? e.message : String(e)})`);
        return false;
      },
    );
    const site = join(work, 'site');
    await nx('web:build', [`--runs=${run}`, `--out=${site}`]);
    await tables;
    const evaluated = await evaluating;
    const siteData = JSON.parse(readFileSync(join(site, 'site.json'), 'utf8')) as SiteData;
    const build = JSON.parse(readFileSync(join(site, BUILD_MARKER), 'utf8')) as { bundleBytes: { code: number; wasm: number } };

    const server = await serveStatic(site);
    const { chromium } = await import('playwright-core');
    const browser = await chromium.launch({ executablePath: flags.chromium, headless: true, args: ['--no-sandbox'] });
    try {
      const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
      const errors: string[] = [];
      page.on('console', (m) => {
        if (m.type() === 'error') errors.push(`console: ${m.text()}`);
      });
      page.on('pageerror', (e) => errors.push(`page error: ${e.message}`));
      page.on('requestfailed', (r) => errors.push(`request failed: ${r.url()}`));
      await page.goto(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
      await page.waitForFunction(() => document.body.dataset['ready'] !== undefined, null, { timeout: 60_000 });
      const loadMs = await page.evaluate(() => Number(document.body.dataset['readyMs']));
      const explorerMs = await page.evaluate(() => Number(document.body.dataset['explorerMs']));
      checks.push({
        name: 'page starts',
        ok: (await page.evaluate(() => document.body.dataset['ready'])) === 'true',
        detail: `explorer shown after ${explorerMs.toFixed(0)} ms, everything ready after ${loadMs.toFixed(0)} ms`,
      });

      // Explorer: every depth at both settings, totals against table:serve.
      for (const [i, setting] of SETTINGS.entries()) {
        const table = JSON.parse(readFileSync(join(work, `table${i}.json`), 'utf8')) as { depth: number; params: number; macs: number }[];
        for (const depth of DEPTHS) {
          await page.selectOption('#explorer-form select[name=depth]', String(depth));
          await page.fill('#explorer-form input[name=input]', String(setting.input));
          await page.fill('#explorer-form input[name=channels]', String(setting.channels));
          await page.fill('#explorer-form input[name=classes]', String(setting.classes));
          const shown = await page.$eval('#explorer-total', (el) => ({
            params: Number((el as HTMLElement).dataset['params']),
            macs: Number((el as HTMLElement).dataset['macs']),
          }));
          const want = table.find((r) => r.depth === depth);
          const ok = want !== undefined && shown.params === want.params && shown.macs === want.macs;
          checks.push({
            name: `explorer ResNet-${depth} ${setting.input}×${setting.input}×${setting.channels}`,
            ok,
            detail: `params ${shown.params} MACs ${shown.macs}${ok ? '' : ` ≠ table:serve ${JSON.stringify(want)}`}`,
          });
        }
      }
      // An invalid choice shows the spec's message.
      await page.fill('#explorer-form input[name=input]', '0');
      const message = await page.textContent('#explorer-error');
      checks.push({
        name: 'explorer shows the spec error for input 0',
        ok: message?.includes('input shape [1, 0, 0,') === true,
        detail: message ?? '(none)',
      });
      await page.click('button[data-preset=fashion]');
      await page.selectOption('#explorer-form select[name=depth]', '18');
      mkdirSync(flags.screenshots, { recursive: true });
      await page.locator('#explorer').screenshot({ path: join(flags.screenshots, 'explorer.png') });

      // Classifier: the same predictions as train:evaluate.
      let msPerImage: number | null = null;
      if (siteData.model === null) {
        checks.push({ name: 'classifier has a model', ok: false, detail: siteData.notes.join(' ') });
      } else {
        const shown = await page.$$eval('#classifier-images figure', (els) =>
          els.map((el) => ({
            index: Number((el as HTMLElement).dataset['index']),
            predicted: Number((el as HTMLElement).dataset['predicted']),
            probabilities: JSON.parse((el as HTMLElement).dataset['probabilities'] ?? '[]') as number[],
          })),
        );
        msPerImage = Number(await page.$eval('#classifier-status', (el) => (el as HTMLElement).dataset['msPerImage']));
        if (!evaluated)
          checks.push({
            name: `classifier = train:evaluate on ${PREDICTED_IMAGES} images`,
            ok: false,
            detail: 'train:evaluate --predictions did not run',
          });
        else {
          const want = (
            JSON.parse(readFileSync(predictions, 'utf8')) as {
              predictions: { index: number; predicted: number; probabilities: number[] }[];
            }
          ).predictions;
          const worst = Math.max(
            ...want.map((w) => Math.max(...w.probabilities.map((p, k) => Math.abs(p - (shown[w.index]?.probabilities[k] ?? Number.NaN))))),
          );
          // A tiny run's model is nearly uniform: two classes within float error of each other are a tie either may win.
          const agrees = (w: (typeof want)[number]) =>
            shown[w.index]?.predicted === w.predicted ||
            Math.abs((w.probabilities[w.predicted] ?? 0) - (w.probabilities[shown[w.index]?.predicted ?? -1] ?? -1)) < 1e-6;
          const same = want.filter((w) => shown[w.index]?.predicted === w.predicted).length;
          const ok = want.length === PREDICTED_IMAGES && want.every(agrees) && worst < 1e-4;
          checks.push({
            name: `classifier = train:evaluate on ${PREDICTED_IMAGES} images`,
            ok,
            detail: `same top class for ${same}/${want.length}${same < want.length ? ` (the rest ties within 1e-6)` : ''}, largest probability difference ${worst.toExponential(1)}`,
          });
        }
        // Drawings on the canvas: answered, and answered by the model on what was drawn.
        checks.push(...(await drawingChecks(page, site, siteData.model, siteData.classes)));
        await page.locator('#classifier').screenshot({ path: join(flags.screenshots, 'classifier.png') });
      }

      // Run viewer: the run's chart with a data point per epoch and series (not any SVG path: an empty chart has some too).
      const points = await page.$eval('#runs-charts figure[data-rendered]', (el) => Number(el.getAttribute('data-points'))).catch(() => -1);
      const wanted = 3 * (siteData.runs[0]?.epochs ?? 0);
      checks.push({
        name: "run viewer draws the run's points",
        ok: wanted > 0 && points === wanted,
        detail: `${points} data points drawn for ${siteData.runs[0]?.epochs ?? 0} epoch(s) × 3 series`,
      });
      await page.locator('#runs').screenshot({ path: join(flags.screenshots, 'runs.png') });
      checks.push({ name: 'no console errors', ok: errors.length === 0, detail: errors.length === 0 ? 'none' : errors.join(' | ') });

      // web:serve, live, over runs that train while the page is open.
      checks.push(...(await liveChecks(browser, work, run, flags.screenshots)));

      for (const c of checks) console.log(`${c.ok ? 'ok  ' : 'FAIL'} ${c.name}: ${c.detail}`);
      const failed = checks.filter((c) => !c.ok).length;
      console.log(
        `e2e: bundle ${(build.bundleBytes.code / 1024).toFixed(0)} KiB of JavaScript and CSS + ${(build.bundleBytes.wasm / 1024 / 1024).toFixed(1)} MiB onnxruntime wasm; page load: explorer after ${explorerMs.toFixed(0)} ms, all views (model loaded, 20 images classified) after ${loadMs.toFixed(0)} ms; ${msPerImage === null ? 'no classifier' : `${msPerImage.toFixed(1)} ms per image (batch of ${PREDICTED_IMAGES}, wasm, 1 thread)`}; screenshots in ${flags.screenshots}/; ${((Date.now() - started) / 1000).toFixed(0)} s in all`,
      );
      console.log(`e2e: ${checks.length - failed} passed, ${failed} failed`);
      return failed === 0 ? 0 : 1;
    } finally {
      await browser.close();
      server.close();
    }
  } finally {
    if (flags.keep) console.log(`e2e: kept ${work}`);
    else rmSync(work, { recursive: true, force: true });
  }
}

/** Runs `npx nx run <target> <args>` in the workspace; rejects with its output's tail on failure. */
function nx(target: string, args: readonly string[]): Promise<void> {
  return new Promise((done, fail) => {
    // Each tool run is its own nx invocation: under the same root PID, nx takes two runs of one
    // target (here, or in another project's test running beside this one) for a task loop.
    const env = { ...process.env };
    delete env['NX_INVOCATION_ROOT_PID'];
    const child = spawn('npx', ['nx', 'run', target, ...args, '--output-style=static'], {
      cwd: WORKSPACE,
      env: { ...env, NX_DAEMON: 'false' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.on('close', (code) =>
      code === 0
        ? done()
        : fail(new Error(`nx run ${target} ${args.join(' ')} exited ${code}: ${output.trim().split('\n').slice(-6).join(' / ')}`)),
    );
  });
}

const TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html',
  '.js': 'text/javascript',
  '.mjs': 'text/javascript',
  '.css': 'text/css',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
};

/** A plain static file server on 127.0.0.1 (any web server can host the site). */
function serveStatic(dir: string): Promise<Server> {
  const server = createServer((req, res) => {
    const path = join(dir, decodeURIComponent(new URL(req.url ?? '/', 'http://localhost').pathname));
    const file = existsSync(path) && statSync(path).isDirectory() ? join(path, 'index.html') : path;
    if (!file.startsWith(dir) || !existsSync(file)) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' });
    createReadStream(file).pipe(res);
  });
  return new Promise((done) => server.listen(0, '127.0.0.1', () => done(server)));
}
