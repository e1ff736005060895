/**
 * web:serve's server: the built site (static files of one folder, nothing else) and the runs it
 * was given, live — `api/runs` (where each run stands), `api/charts?dirs=[…]` (the report's
 * charts of the chosen runs, compiled to Vega), `api/model?dir=…` (a run's model as ONNX for the
 * classifier) and `api/events` (server-sent events: the runs
 * again whenever one of them changes; checked every 500 ms). No other file of the workspace or
 * the machine is served: a path is looked up inside the site folder only, after decoding,
 * and anything that leaves it, or is not a regular file there, is refused.
 */
import { createReadStream, mkdirSync, realpathSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { extname, join, resolve, sep } from 'node:path';
import * as E from 'fp-ts/Either';
import type { TopLevelSpec } from 'vega-lite';
import { FASHION_MNIST_MEAN, FASHION_MNIST_STD } from '@resnet/fashion-mnist';
import { exportModel } from './model.ts';
import type { SiteModel } from './site_data.ts';
import {
  allChart,
  buildRows,
  discoverRuns,
  hasSeeds,
  liveRun,
  loadRun,
  runChart,
  runSignature,
  seedGroups,
  spreadChart,
  type LoadedRun,
} from '@resnet/results';

/** How often the runs' files are checked for a change. */
export const POLL_MS = 500;

const TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript',
  '.mjs': 'text/javascript',
  '.css': 'text/css',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
  '.onnx': 'application/octet-stream',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
};

/** What the server watches and how. */
export interface LiveOptions {
  /** The built site. */
  readonly site: string;
  /** The `--runs` paths (runs, sweeps, folders of sweeps; they may not exist yet). */
  readonly runs: readonly string[];
  readonly staleSeconds: number;
}

/** A running server: stop it with `close`. */
export interface LiveServer {
  readonly server: Server;
  readonly close: () => Promise<void>;
}

/**
 * Starts the server on `host:port` (port 0: any free one).
 * @example const live = await startLiveServer({ site, runs: ['runs/sweep'], staleSeconds: 300 }, '127.0.0.1', 5173)
 */
export async function startLiveServer(options: LiveOptions, host: string, port: number): Promise<LiveServer> {
  const site = realpathSync(options.site);
  const clients = new Set<ServerResponse>();
  const current = () => discoverRuns(options.runs).map((dir) => liveRun(dir, { staleSeconds: options.staleSeconds }));
  const server = createServer((req, res) => {
    void handle(req, res).catch((e: unknown) => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(`error: ${e instanceof Error ? e.message : String(e)}`);
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.method !== 'GET' && req.method !== 'HEAD') return void res.writeHead(405, { allow: 'GET, HEAD' }).end();
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname === '/api/runs') return json(res, current());
    if (url.pathname === '/api/charts') return json(res, await chartsOf(url.searchParams.get('dirs'), new Set(discoverRuns(options.runs))));
    if (url.pathname === '/api/model') return json(res, modelOf(url.searchParams.get('dir'), new Set(discoverRuns(options.runs)), site));
    if (url.pathname === '/api/events') {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive' });
      res.write(`event: runs\ndata: ${JSON.stringify(current())}\n\n`);
      clients.add(res);
      req.on('close', () => clients.delete(res));
      return;
    }
    sendFile(site, url.pathname, res);
  }

  // One watcher for every open page: a change in any run's files (or its process ending) sends the runs to all.
  let signature = '';
  let lastSent = 0;
  const timer = setInterval(() => {
    if (clients.size === 0) return;
    const dirs = discoverRuns(options.runs);
    const now = [dirs.join('\n'), ...dirs.map(runSignature)].join('\n');
    // Also every 10 s: a run on another host turns stale by time alone.
    if (now === signature && Date.now() - lastSent < 10_000) return;
    signature = now;
    lastSent = Date.now();
    const message = `event: runs\ndata: ${JSON.stringify(current())}\n\n`;
    for (const client of clients) client.write(message);
  }, POLL_MS);

  try {
    await new Promise<void>((listening, failed) => {
      server.once('error', failed);
      server.listen(port, host, () => {
        server.off('error', failed);
        listening();
      });
    });
  } catch (e) {
    // A port or address it may not take: nothing of this server may keep the process alive.
    clearInterval(timer);
    throw e;
  }
  return {
    server,
    close: () =>
      new Promise((closed) => {
        clearInterval(timer);
        for (const client of clients) client.end();
        server.close(() => closed());
        server.closeAllConnections();
      }),
  };
}

/** The charts of the chosen runs: one run's own chart, or all of them together (and their seeds' bands). */
async function chartsOf(
  param: string | null,
  known: ReadonlySet<string>,
): Promise<{ readonly charts: readonly { readonly title: string; readonly vega: unknown }[]; readonly skipped: readonly string[] }> {
  let dirs: unknown;
  try {
    dirs = JSON.parse(param ?? '[]');
  } catch {
    dirs = null;
  }
  if (!Array.isArray(dirs) || !dirs.every((d) => typeof d === 'string'))
    return { charts: [], skipped: ['dirs must be a JSON list of run directories'] };
  const loaded: LoadedRun[] = [];
  const skipped: string[] = [];
  // Only runs this server was given; each one read whole by the validating reader.
  for (const dir of dirs as string[]) {
    if (!known.has(dir)) {
      skipped.push(`${dir}: not one of the runs served`);
      continue;
    }
    const run = loadRun(dir);
    if (E.isLeft(run)) skipped.push(run.left.message);
    else if (run.right.metrics.length > 0) loaded.push(run.right);
  }
  const rows = buildRows(loaded);
  if (E.isLeft(rows)) return { charts: [], skipped: [...skipped, rows.left] };
  const specs: [string, TopLevelSpec][] =
    rows.right.length === 1 && rows.right[0] !== undefined
      ? [[rows.right[0].seriesName, runChart(rows.right[0])]]
      : rows.right.length > 1
        ? [['Chosen runs', allChart(rows.right)]]
        : [];
  if (hasSeeds(rows.right)) specs.push(['Seeds', spreadChart(seedGroups(rows.right))]);
  const { compile } = await import('vega-lite');
  return { charts: specs.map(([title, spec]) => ({ title, vega: compile(spec).spec })), skipped };
}

let exported = 0;

/**
 * A served run's model (final, or its latest checkpoint) exported to ONNX into the site's
 * `models/` folder for the page's classifier, or why it cannot be.
 */
function modelOf(dir: string | null, known: ReadonlySet<string>, site: string): { readonly model: SiteModel } | { readonly error: string } {
  if (dir === null || !known.has(dir)) return { error: `${dir ?? '(no dir)'} is not one of the runs served` };
  mkdirSync(join(site, 'models'), { recursive: true });
  const model = exportModel([dir], site, { file: `models/${++exported}.onnx` });
  return E.isLeft(model) ? { error: model.left } : { model: { ...model.right, mean: FASHION_MNIST_MEAN, std: FASHION_MNIST_STD } };
}

/**
 * A file of the site, or 403/404: the decoded path must stay inside `site` (no `..`, no NUL),
 * resolve (symlinks followed) to a regular file inside it; `/` is index.html.
 */
function sendFile(site: string, pathname: string, res: ServerResponse): void {
  let path: string;
  try {
    path = decodeURIComponent(pathname);
  } catch {
    return void res.writeHead(400).end();
  }
  if (path.includes('\0') || path.split(/[\\/]/).includes('..')) return void res.writeHead(403).end();
  const wanted = resolve(site, `.${path.endsWith('/') ? `${path}index.html` : path}`);
  let real: string;
  try {
    real = realpathSync(wanted);
  } catch {
    return void res.writeHead(404).end();
  }
  if (!(real === site || real.startsWith(site + sep)) || !statSync(real).isFile()) return void res.writeHead(404).end();
  res.writeHead(200, { 'content-type': TYPES[extname(real)] ?? 'application/octet-stream', 'cache-control': 'no-cache' });
  createReadStream(real).pipe(res);
}

function json(res: ServerResponse, value: unknown): void {
  res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' });
  res.end(JSON.stringify(value));
}
