/**
 * web:serve and web:build as functions of their arguments: gather the site's data from
 * local files (Fashion-MNIST test images, a run's metrics and model) into a temporary
 * folder, then drive vite's JS API over it. main.ts runs them; the e2e test too.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import * as E from 'fp-ts/Either';
import type { InlineConfig } from 'vite';
import { command, onCleanup, stopRequests, type Parsed, type Schema } from '@resnet/cli';
import { describeSystemError, systemError } from '@resnet/files';
import { CLASS_NAMES, describeSource, loadFashionMnist } from '@resnet/fashion-mnist';
import { FASHION_MNIST_MEAN, FASHION_MNIST_STD } from '@resnet/training';
import { runCharts } from './run_charts.ts';
import { toBase64, type SiteData, type SiteModel } from './site_data.ts';
import { exportModel, RUN_HINT } from './model.ts';

const WORKSPACE = resolve(__dirname, '../../..');
const APP_ROOT = resolve(__dirname, '..');
/** Written into every build: marks a folder that web:build may replace. */
export const BUILD_MARKER = 'resnet-web.json';

const COMMON = {
  run: { kind: 'string', default: null, help: 'run directories written by train:serve, or folders of them, comma-separated; the classifier uses the first run with a saved model' },
  images: { kind: 'int', min: 1, max: 10_000, default: 20, help: 'how many Fashion-MNIST test images the classifier shows (the first N)' },
  'data-dir': { kind: 'string', default: null, help: 'folder with the four Fashion-MNIST .gz files (default: as train:serve finds them)' },
} as const satisfies Schema;

const SERVE_FLAGS = {
  ...COMMON,
  port: { kind: 'int', min: 0, max: 65_535, default: 5173, help: 'port on 127.0.0.1 (0: any free port; a busy port moves to the next free one)' },
} as const satisfies Schema;

const BUILD_FLAGS = {
  ...COMMON,
  out: { kind: 'string', default: null, help: 'folder for the static site (new, empty, or a previous web:build); required', output: 'directory' },
} as const satisfies Schema;

type Common = { readonly run: string | null; readonly images: number; readonly 'data-dir': string | null };

/** `npx nx run web:build --run=<dir> --out=<dir>`. */
export const BUILD = command('web:build', { summary: 'Builds the web app (architecture explorer, classifier, run viewer) as static files that any web server can host.', flags: BUILD_FLAGS });

/** `npx nx run web:serve --run=<dir>`. */
export const SERVE = command('web:serve', {
  summary: 'Serves the web app (architecture explorer, classifier, run viewer) on 127.0.0.1 with vite, its data from local files; prints the URL.',
  flags: SERVE_FLAGS,
  exitCodes: { 0: 'stopped by Ctrl-C, SIGTERM or SIGHUP (the server\'s normal end; a second signal quits at once with 128 + its number)' },
});

/**
 * Builds the static site; returns the exit code (0 done, 1 bad data, 2 bad command line).
 * @example await build({ run: 'runs/smoke', out: 'dist/web', images: 20, 'data-dir': null }) // 0
 */
export async function build(flags: Parsed<typeof BUILD_FLAGS>): Promise<number> {
  const { out } = flags;
  if (out === null) return fail('--out=<dir> is required: the folder for the static site (e.g. --out=dist/web)', 2);
  const outOk = checkOut(out);
  if (E.isLeft(outOk)) return fail(outOk.left, 2);
  const work = mkdtempSync(join(tmpdir(), `resnet-web-${process.pid}-`));
  const forgetWork = onCleanup(() => rmSync(work, { recursive: true, force: true }));
  try {
    const data = await gatherData(flags, join(work, 'public'));
    if (E.isLeft(data)) return fail(data.left, 1);
    // Build next to --out, then rename: a reader never sees a half-written site.
    const parent = dirname(resolve(out));
    mkdirSync(parent, { recursive: true });
    const staging = mkdtempSync(join(parent, `.${basename(out)}.tmp-`));
    const forgetStaging = onCleanup(() => rmSync(staging, { recursive: true, force: true }));
    try {
      // import(): vite 8 misbuilds when loaded through require(), as tsx does for this CommonJS app.
      const { build: viteBuild } = await import('vite');
      // No timing warnings: on a busy machine rolldown reports slow plugins on stderr, which says nothing about the site.
      const rolldownOptions = { checks: { bundlerTimings: false } };
      await viteBuild({ ...viteConfig(join(work, 'public')), build: { outDir: staging, emptyOutDir: true, reportCompressedSize: false, chunkSizeWarningLimit: 2048, rolldownOptions } });
      const bundle = bundleBytes(staging);
      writeFileSync(join(staging, BUILD_MARKER), `${JSON.stringify({ format: 'resnet-ts/web-build@1', builtAt: new Date().toISOString(), runs: data.right.runs.map((r) => r.dir), bundleBytes: bundle }, null, 2)}\n`);
      if (existsSync(out)) rmSync(out, { recursive: true });
      renameSync(staging, out);
      console.log(summaryLine(data.right, out, bundle));
    } finally {
      rmSync(staging, { recursive: true, force: true });
      forgetStaging();
    }
    return 0;
  } finally {
    rmSync(work, { recursive: true, force: true });
    forgetWork();
  }
}

/**
 * Starts the dev server on 127.0.0.1 and prints its URL; resolves when it stops (Ctrl-C).
 * @example await serve({ run: 'runs/smoke', port: 5173, images: 20, 'data-dir': null }) // prints "web: http://127.0.0.1:5173/"
 */
export async function serve(flags: Parsed<typeof SERVE_FLAGS>): Promise<number> {
  const work = mkdtempSync(join(tmpdir(), `resnet-web-${process.pid}-`));
  // Removed however the server ends: Ctrl-C, SIGTERM, SIGHUP, a port it may not bind, an error.
  const forget = onCleanup(() => rmSync(work, { recursive: true, force: true }));
  const data = await gatherData(flags, join(work, 'public'));
  if (E.isLeft(data)) return fail(data.left, 1);
  const { createServer } = await import('vite');
  const server = await createServer({ ...viteConfig(join(work, 'public')), server: { host: '127.0.0.1', port: flags.port, strictPort: false } });
  try {
    await server.listen();
  } catch (e) {
    // A port it may not bind (EACCES below 1024): vite's watchers would keep the process alive.
    await server.close();
    const system = systemError(e);
    if (system === null) throw e;
    return fail(`cannot serve: ${describeSystemError(system)}; choose another --port (1024 or above, or 0 for any free one)`, 1);
  }
  console.log(summaryLine(data.right, null, null));
  console.log(`web: ${server.resolvedUrls?.local[0] ?? `http://127.0.0.1:${flags.port}/`}  (Ctrl-C stops)`);
  return new Promise((done) => {
    const stop = stopRequests('web', 'stopping the server', {
      onRequest: () => {
        void server.close().then(() => {
          stop.release();
          rmSync(work, { recursive: true, force: true });
          forget();
          done(0);
        });
      },
    });
  });
}

/** vite over the app's index.html, @resnet/* resolved like tsconfig.base.json, `publicDir` the gathered data. */
function viteConfig(publicDir: string): InlineConfig {
  return {
    configFile: false,
    root: APP_ROOT,
    base: './',
    publicDir,
    logLevel: 'warn',
    clearScreen: false,
    resolve: { alias: tsconfigAliases() },
    // onnxruntime-web finds its .wasm beside its module (new URL(…, import.meta.url)): the build
    // emits it as an asset of this site; pre-bundling for the dev server would lose that path.
    optimizeDeps: { exclude: ['onnxruntime-web'] },
  };
}

/** tsconfig.base.json's `paths` as exact-match vite aliases. */
function tsconfigAliases(): { find: RegExp; replacement: string }[] {
  const paths = (JSON.parse(readFileSync(join(WORKSPACE, 'tsconfig.base.json'), 'utf8')) as { compilerOptions: { paths: Record<string, string[]> } }).compilerOptions.paths;
  return Object.entries(paths).flatMap(([name, [target]]) => (target === undefined ? [] : [{ find: new RegExp(`^${name.replace(/[/.]/g, '\\$&')}$`), replacement: join(WORKSPACE, target) }]));
}

/** Writes site.json and the model into `dir`. */
async function gatherData(flags: Common, dir: string): Promise<E.Either<string, SiteData>> {
  mkdirSync(dir, { recursive: true });
  const notes: string[] = [];
  const paths = (flags.run ?? '').split(',').map((p) => p.trim()).filter((p) => p !== '');
  if (flags.run !== null && paths.length === 0) return E.left(`--run needs at least one directory, got "${flags.run}"`);
  for (const p of paths) if (!existsSync(p)) return E.left(`--run: ${p} does not exist: ${RUN_HINT}`);

  const data = await loadFashionMnist({ ...(flags['data-dir'] === null ? {} : { dataDir: flags['data-dir'] }), dataDirName: '--data-dir', download: false });
  if (E.isLeft(data)) return E.left(data.left.message);
  const test = data.right.test;
  const count = Math.min(flags.images, test.count);
  const pixelsPer = test.height * test.width;
  const images = { count, height: test.height, width: test.width, pixels: toBase64(test.images.subarray(0, count * pixelsPer)), labels: Array.from(test.labels.subarray(0, count)), source: describeSource(data.right.source) };

  let charts: Pick<SiteData, 'runs' | 'charts'> = { runs: [], charts: [] };
  let model: SiteModel | null = null;
  if (paths.length === 0) {
    notes.push('No run given: build or serve with --run=<dir> (a run directory written by train:serve) to see its curves and classify with its model.');
  } else {
    const loaded = await runCharts(paths);
    if (E.isLeft(loaded)) return E.left(loaded.left);
    charts = loaded.right;
    const exported = exportModel(charts.runs.map((r) => r.dir), dir);
    if (E.isLeft(exported)) notes.push(exported.left);
    else {
      model = { ...exported.right, mean: FASHION_MNIST_MEAN, std: FASHION_MNIST_STD };
    }
  }
  const site: SiteData = { format: 'resnet-ts/web@1', classes: [...CLASS_NAMES], images, model, ...charts, notes };
  writeFileSync(join(dir, 'site.json'), JSON.stringify(site));
  return E.right(site);
}

/** `--out` may be new, empty, or a previous web:build; anything else is refused. */
function checkOut(out: string): E.Either<string, void> {
  if (!existsSync(out)) return E.right(undefined);
  if (!statSync(out).isDirectory()) return E.left(`--out=${out} is a file: pass a folder for the site`);
  const entries = readdirSync(out);
  if (entries.length === 0 || entries.includes(BUILD_MARKER)) return E.right(undefined);
  return E.left(`--out=${out} is a folder with other files (no ${BUILD_MARKER}): pass a new or empty folder, or a previous web:build`);
}

/** Bytes of the site's code: JavaScript and CSS, and onnxruntime-web's wasm (without the data and the model). */
export interface BundleBytes {
  readonly code: number;
  readonly wasm: number;
}

function bundleBytes(dir: string): BundleBytes {
  const assets = join(dir, 'assets');
  const files = existsSync(assets) ? readdirSync(assets) : [];
  const size = (keep: (f: string) => boolean) => files.filter(keep).reduce((sum, f) => sum + statSync(join(assets, f)).size, 0);
  return { code: size((f) => !f.endsWith('.wasm')), wasm: size((f) => f.endsWith('.wasm')) };
}

function summaryLine(site: SiteData, out: string | null, bundle: BundleBytes | null): string {
  const parts = [
    `${site.images?.count ?? 0} test images`,
    site.model === null ? 'no classifier model' : `model ${site.model.label} from ${site.model.run}`,
    `${site.charts.length} chart${site.charts.length === 1 ? '' : 's'} (${site.runs.length} run${site.runs.length === 1 ? '' : 's'})`,
  ];
  const where = out === null ? '' : `wrote ${out}: `;
  const size = bundle === null ? '' : `; code ${(bundle.code / 1024).toFixed(0)} KiB + onnxruntime wasm ${(bundle.wasm / 1024 / 1024).toFixed(1)} MiB`;
  return `web: ${where}${parts.join(', ')}${size}${site.notes.map((n) => `\nweb: note: ${n}`).join('')}`;
}

function fail(message: string, code: number): number {
  console.error(`web: ${message}`);
  return code;
}
