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
import { CLASS_NAMES, describeSource, FASHION_MNIST_MEAN, FASHION_MNIST_STD, loadFashionMnist } from '@resnet/fashion-mnist';
import { discoverRuns, liveRun } from '@resnet/results';
import { DEFAULT_STALE_SECONDS } from '@resnet/run-dir';
import type { AddressInfo } from 'node:net';
import { startLiveServer, type LiveServer } from './live_server.ts';
import { runCharts } from './run_charts.ts';
import { toBase64, type SiteData, type SiteModel } from './site_data.ts';
import { exportModel, RUN_HINT } from './model.ts';

const WORKSPACE = resolve(__dirname, '../../..');
const APP_ROOT = resolve(__dirname, '..');
/** Written into every build: marks a folder that web:build may replace. */
export const BUILD_MARKER = 'resnet-web.json';

const COMMON = {
  runs: {
    kind: 'string',
    default: null,
    help: 'runs written by train:serve or train:sweep: run directories, sweeps or folders of sweeps, comma-separated; the classifier uses the first run with a saved model',
  },
  images: { kind: 'int', min: 1, max: 10_000, default: 20, help: 'how many Fashion-MNIST test images the classifier shows (the first N)' },
  'data-dir': { kind: 'string', default: null, help: 'folder with the four Fashion-MNIST .gz files (default: as train:serve finds them)' },
} as const satisfies Schema;

const SERVE_FLAGS = {
  ...COMMON,
  port: { kind: 'int', min: 0, max: 65_535, default: 5173, help: 'port (0: any free port; a busy port moves to the next free one)' },
  host: {
    kind: 'string',
    default: '127.0.0.1',
    help: "address to listen on: 127.0.0.1 (this machine only); 0.0.0.0 shows the site and the --runs' curves, states and models to every machine that can reach this one",
  },
  'stale-after': {
    kind: 'int',
    min: 1,
    max: 86_400,
    default: DEFAULT_STALE_SECONDS,
    help: 'seconds a run training on another host may stay silent before it shows as stale (on this host a killed process shows at once)',
  },
} as const satisfies Schema;

const BUILD_FLAGS = {
  ...COMMON,
  out: {
    kind: 'string',
    default: null,
    help: 'folder for the static site (new, empty, or a previous web:build); required',
    output: 'directory',
  },
} as const satisfies Schema;

type Common = { readonly runs: string | null; readonly images: number; readonly 'data-dir': string | null };

/** `npx nx run web:build --runs=<dir> --out=<dir>`. */
export const BUILD = command('web:build', {
  summary: 'Builds the web app (architecture explorer, classifier, run viewer) as static files that any web server can host.',
  flags: BUILD_FLAGS,
});

/** `npx nx run web:serve --runs=<dir>`. */
export const SERVE = command('web:serve', {
  summary:
    'Builds the web app (architecture explorer, classifier, live run viewer) and serves it on 127.0.0.1 with the --runs as they train: new epochs, steps and run directories appear within a second or two; prints the URL.',
  flags: SERVE_FLAGS,
  exitCodes: { 0: "stopped by Ctrl-C, SIGTERM or SIGHUP (the server's normal end; a second signal quits at once with 128 + its number)" },
});

/** The app's own temporary folder (named with its pid), or why it cannot have one. */
function workFolder(): E.Either<string, string> {
  try {
    return E.right(mkdtempSync(join(tmpdir(), `resnet-web-${process.pid}-`)));
  } catch (e) {
    const system = systemError(e);
    if (system === null) throw e;
    return E.left(
      `cannot make a temporary folder in ${tmpdir()}: ${describeSystemError({ ...system, target: null })}; set TMPDIR to a folder you may write`,
    );
  }
}

/**
 * Builds the static site; returns the exit code (0 done, 1 bad data, 2 bad command line).
 * @example await build({ runs: 'runs/smoke', out: 'dist/web', images: 20, 'data-dir': null }) // 0
 */
export async function build(flags: Parsed<typeof BUILD_FLAGS>): Promise<number> {
  const { out } = flags;
  if (out === null) return fail('--out=<dir> is required: the folder for the static site (e.g. --out=dist/web)', 2);
  const outOk = checkOut(out);
  if (E.isLeft(outOk)) return fail(outOk.left, 2);
  const made = workFolder();
  if (E.isLeft(made)) return fail(made.left, 1);
  const work = made.right;
  const forgetWork = onCleanup(() => rmSync(work, { recursive: true, force: true }));
  try {
    const data = await gatherData(flags, join(work, 'public'), { live: false });
    if (E.isLeft(data)) return fail(data.left, 1);
    // Build next to --out, then rename: a reader never sees a half-written site.
    const parent = dirname(resolve(out));
    mkdirSync(parent, { recursive: true });
    const staging = mkdtempSync(join(parent, `.${basename(out)}.tmp-`));
    const forgetStaging = onCleanup(() => rmSync(staging, { recursive: true, force: true }));
    try {
      await buildSite(join(work, 'public'), staging);
      const bundle = bundleBytes(staging);
      writeFileSync(
        join(staging, BUILD_MARKER),
        `${JSON.stringify({ format: 'resnet-ts/web-build@1', builtAt: new Date().toISOString(), runs: data.right.runs.map((r) => r.dir), bundleBytes: bundle }, null, 2)}\n`,
      );
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
 * Builds the site into a temporary folder, then serves it and the runs, live, on `--host`
 * (127.0.0.1) and prints the URL; resolves when it stops (Ctrl-C).
 * @example await serve({ runs: 'runs/sweep', port: 5173, host: '127.0.0.1', 'stale-after': 300, images: 20, 'data-dir': null }) // prints "web: http://127.0.0.1:5173/"
 */
export async function serve(flags: Parsed<typeof SERVE_FLAGS>): Promise<number> {
  const made = workFolder();
  if (E.isLeft(made)) return fail(made.left, 1);
  const work = made.right;
  // Removed however the server ends: Ctrl-C, SIGTERM, SIGHUP, a port it may not bind, an error.
  const forget = onCleanup(() => rmSync(work, { recursive: true, force: true }));
  const data = await gatherData(flags, join(work, 'public'), { live: true });
  if (E.isLeft(data)) return fail(data.left, 1);
  // A built site, not vite's dev server: that one serves any file of the workspace (/@fs/…) to whoever asks.
  const started = Date.now();
  await buildSite(join(work, 'public'), join(work, 'site'));
  const buildSeconds = (Date.now() - started) / 1000;
  const paths = runPaths(flags.runs);
  let live: LiveServer | null = null;
  let port = flags.port;
  for (let attempt = 0; live === null; attempt++) {
    try {
      live = await startLiveServer({ site: join(work, 'site'), runs: paths, staleSeconds: flags['stale-after'] }, flags.host, port);
    } catch (e) {
      const system = systemError(e);
      // A busy port moves to the next one, as vite's did (10 tries).
      if (system?.code === 'EADDRINUSE' && port !== 0 && attempt < 10) {
        port++;
        continue;
      }
      if (system === null) throw e;
      return fail(
        `cannot serve: ${describeSystemError(system)}; choose another --port (1024 or above, or 0 for any free one)${system.code === 'EADDRNOTAVAIL' ? ' or another --host' : ''}`,
        1,
      );
    }
  }
  const address = live.server.address() as AddressInfo;
  console.log(summaryLine(data.right, null, null));
  console.log(
    `web: built in ${buildSeconds.toFixed(1)} s; watching ${paths.length === 0 ? 'no runs (give --runs=<dir>)' : paths.join(', ')} (new epochs and runs appear on the page as they are written)`,
  );
  console.log(`web: http://${flags.host.includes(':') ? `[${flags.host}]` : flags.host}:${address.port}/  (Ctrl-C stops)`);
  const server = live;
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

/** vite's production build of the page over `publicDir` (site.json, the model) into `outDir`. */
async function buildSite(publicDir: string, outDir: string): Promise<void> {
  // import(): vite 8 misbuilds when loaded through require(), as tsx does for this CommonJS app.
  const { build: viteBuild } = await import('vite');
  // No timing warnings: on a busy machine rolldown reports slow plugins on stderr, which says nothing about the site.
  const rolldownOptions = { checks: { bundlerTimings: false } };
  await viteBuild({
    ...viteConfig(publicDir),
    build: { outDir, emptyOutDir: true, reportCompressedSize: false, chunkSizeWarningLimit: 2048, rolldownOptions },
  });
}

/** `--runs` as paths. */
function runPaths(runs: string | null): readonly string[] {
  return (runs ?? '')
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p !== '');
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
  const paths = (
    JSON.parse(readFileSync(join(WORKSPACE, 'tsconfig.base.json'), 'utf8')) as { compilerOptions: { paths: Record<string, string[]> } }
  ).compilerOptions.paths;
  return Object.entries(paths).flatMap(([name, [target]]) =>
    target === undefined ? [] : [{ find: new RegExp(`^${name.replace(/[/.]/g, '\\$&')}$`), replacement: join(WORKSPACE, target) }],
  );
}

/**
 * Writes site.json and the model into `dir`. `live` (web:serve): runs that do not exist yet or
 * have no finished epoch are watched, not refused; the page asks the server for their state.
 */
async function gatherData(flags: Common, dir: string, options: { readonly live: boolean }): Promise<E.Either<string, SiteData>> {
  mkdirSync(dir, { recursive: true });
  const notes: string[] = [];
  const paths = runPaths(flags.runs);
  if (flags.runs !== null && paths.length === 0) return E.left(`--runs needs at least one directory, got "${flags.runs}"`);
  if (!options.live) for (const p of paths) if (!existsSync(p)) return E.left(`--runs: ${p} does not exist: ${RUN_HINT}`);

  const data = await loadFashionMnist({
    ...(flags['data-dir'] === null ? {} : { dataDir: flags['data-dir'] }),
    dataDirName: '--data-dir',
    download: false,
  });
  if (E.isLeft(data)) return E.left(data.left.message);
  const test = data.right.test;
  const count = Math.min(flags.images, test.count);
  const pixelsPer = test.height * test.width;
  const images = {
    count,
    height: test.height,
    width: test.width,
    pixels: toBase64(test.images.subarray(0, count * pixelsPer)),
    labels: Array.from(test.labels.subarray(0, count)),
    source: describeSource(data.right.source),
  };

  let charts: Pick<SiteData, 'runs' | 'charts'> = { runs: [], charts: [] };
  let model: SiteModel | null = null;
  if (paths.length === 0) {
    notes.push(
      'No run given: build or serve with --runs=<dir> (a run directory written by train:serve, or a sweep) to see its curves and classify with its model.',
    );
  } else {
    const loaded = await runCharts(paths.filter((p) => existsSync(p)));
    // Served live, runs without a finished epoch (or not there yet) are shown as they come.
    if (E.isLeft(loaded) && !options.live) return E.left(loaded.left);
    charts = E.isLeft(loaded) ? { runs: [], charts: [] } : loaded.right;
    const exported = exportModel(
      charts.runs.map((r) => r.dir),
      dir,
    );
    if (E.isLeft(exported)) notes.push(exported.left);
    else {
      model = { ...exported.right, mean: FASHION_MNIST_MEAN, std: FASHION_MNIST_STD };
    }
  }
  // The runs' states when the site was made: a static build's table (web:serve's page asks the server instead).
  const runStates = discoverRuns(paths).map((d) => liveRun(d, { staleSeconds: DEFAULT_STALE_SECONDS }));
  const site: SiteData = {
    format: 'resnet-ts/web@1',
    classes: [...CLASS_NAMES],
    images,
    model,
    ...charts,
    mode: options.live ? 'live' : 'static',
    runStates,
    notes,
  };
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
  const size =
    bundle === null ? '' : `; code ${(bundle.code / 1024).toFixed(0)} KiB + onnxruntime wasm ${(bundle.wasm / 1024 / 1024).toFixed(1)} MiB`;
  return `web: ${where}${parts.join(', ')}${size}${site.notes.map((n) => `\nweb: note: ${n}`).join('')}`;
}

function fail(message: string, code: number): number {
  console.error(`web: ${message}`);
  return code;
}
