/**
 * The run viewer: a table of the runs (state, progress, accuracies) that sorts and filters, and
 * the report's charts of the chosen runs, rendered by Vega as SVG. Served by web:serve, it is
 * live: the server sends the runs whenever one changes (server-sent events), the table follows
 * and the charts are redrawn when a chosen run finishes an epoch. A static build (web:build)
 * shows the runs and charts as they were when it was made.
 */
import { formatAccuracy } from '@resnet/format';
import type { LiveRun } from '@resnet/results';
import type { SiteChart, SiteData, SiteModel } from '../site_data.ts';

interface Column {
  readonly name: string;
  readonly numeric: boolean;
  readonly value: (r: LiveRun) => string | number | null;
  readonly text: (r: LiveRun) => string;
}

const acc = (v: number | null) => (v === null ? '–' : formatAccuracy(v));
const COLUMNS: readonly Column[] = [
  { name: 'run', numeric: false, value: (r) => r.label, text: (r) => r.label },
  { name: 'directory', numeric: false, value: (r) => r.dir, text: (r) => r.dir },
  { name: 'seed', numeric: true, value: (r) => r.seed, text: (r) => (r.seed === null ? '–' : String(r.seed)) },
  { name: 'protocol', numeric: false, value: (r) => r.protocol, text: (r) => r.protocol ?? '–' },
  { name: 'precision', numeric: false, value: (r) => r.precision, text: (r) => r.precision ?? '–' },
  { name: 'state', numeric: false, value: (r) => r.state, text: (r) => r.state },
  { name: 'progress', numeric: false, value: (r) => r.detail, text: (r) => r.detail },
  { name: 'epochs', numeric: true, value: (r) => r.epochsDone, text: (r) => `${r.epochsDone} / ${r.epochsPlanned ?? '?'}` },
  { name: 'final test acc', numeric: true, value: (r) => r.finalTestAcc, text: (r) => acc(r.finalTestAcc) },
  { name: 'best test acc', numeric: true, value: (r) => r.bestTestAcc, text: (r) => acc(r.bestTestAcc) },
  {
    name: 'examples/s',
    numeric: true,
    value: (r) => r.examplesPerSec,
    text: (r) => (r.examplesPerSec === null ? '–' : r.examplesPerSec.toFixed(1)),
  },
];

/**
 * Starts the viewer: live when the page is served by web:serve, else the build's snapshot. Live,
 * a run with weights can be given to the classifier (`useModel`).
 */
export async function startRuns(section: HTMLElement, site: SiteData, useModel: (model: SiteModel) => Promise<void>): Promise<void> {
  const table = section.querySelector('#runs-table') as HTMLElement;
  const charts = section.querySelector('#runs-charts') as HTMLElement;
  const status = document.createElement('p');
  status.id = 'runs-status';
  const filter = Object.assign(document.createElement('input'), {
    type: 'search',
    placeholder: 'filter runs (e.g. ResNet-50, running, seed)',
    id: 'runs-filter',
  });
  table.before(status, filter);

  let runs: readonly LiveRun[] = site.runStates;
  let sortBy = 0;
  let descending = false;
  let chosen: Set<string> | null = null;
  let shownKey = '';
  let live = false;

  const render = () => {
    const query = filter.value.trim().toLowerCase();
    const column = COLUMNS[sortBy] ?? COLUMNS[0];
    const sorted = [...runs].sort((a, b) => compare(column?.value(a) ?? null, column?.value(b) ?? null) * (descending ? -1 : 1));
    const visible = sorted.filter(
      (r) =>
        query === '' ||
        COLUMNS.map((c) => c.text(r))
          .join(' ')
          .toLowerCase()
          .includes(query),
    );
    if (runs.length === 0) {
      table.textContent = live
        ? 'No run yet: they appear here as train:serve or train:sweep writes them into the --runs folders.'
        : 'No run in this build: build or serve with --runs=<dir>.';
      return;
    }
    const t = document.createElement('table');
    const head = t.createTHead().insertRow();
    head.append(Object.assign(document.createElement('th'), { textContent: 'show' }));
    for (const [i, c] of COLUMNS.entries()) {
      const th = Object.assign(document.createElement('th'), {
        textContent: `${c.name}${i === sortBy ? (descending ? ' ▼' : ' ▲') : ''}`,
        className: c.numeric ? 'num sortable' : 'sortable',
        title: 'sort by this column',
      });
      th.dataset['column'] = c.name;
      th.addEventListener('click', () => {
        descending = i === sortBy ? !descending : false;
        sortBy = i;
        render();
      });
      head.append(th);
    }
    if (live) head.append(Object.assign(document.createElement('th'), { textContent: 'classifier' }));
    const body = t.createTBody();
    for (const r of visible) {
      const row = body.insertRow();
      Object.assign(row.dataset, { dir: r.dir, state: r.state, epochs: String(r.epochsDone) });
      row.className = `state-${r.state}`;
      const box = Object.assign(document.createElement('input'), {
        type: 'checkbox',
        checked: chosen?.has(r.dir) ?? true,
        title: 'show in the charts',
      });
      box.addEventListener('change', () => {
        chosen = new Set(chosen ?? new Set(runs.map((x) => x.dir)));
        if (box.checked) chosen.add(r.dir);
        else chosen.delete(r.dir);
        void drawCharts();
      });
      row.insertCell().append(box);
      for (const c of COLUMNS) {
        const cell = row.insertCell();
        cell.textContent = c.text(r);
        if (c.numeric) cell.className = 'num';
        if (c.name === 'progress' && (r.state === 'error' || r.state === 'failed' || r.state === 'stale')) cell.className = 'error';
      }
      // Live, a run with a finished epoch can classify: its model (or latest checkpoint) exported on the server.
      const use = live ? row.insertCell() : null;
      if (use !== null && r.epochsDone > 0 && r.state !== 'error') {
        const button = Object.assign(document.createElement('button'), {
          type: 'button',
          textContent: 'classify',
          title: "use this run's model in the classifier",
        });
        button.dataset['dir'] = r.dir;
        button.addEventListener('click', () => {
          button.disabled = true;
          void fetch(`api/model?dir=${encodeURIComponent(r.dir)}`)
            .then(async (res) => (await res.json()) as { readonly model?: SiteModel; readonly error?: string })
            .then(async (got) => {
              if (got.model === undefined) throw new Error(got.error ?? 'no model');
              await useModel(got.model);
            })
            .catch((e: unknown) => {
              // Why this run cannot classify (e.g. trained at another size), where the viewer says things.
              status.textContent = `Classifier: ${e instanceof Error ? e.message : String(e)}`;
              status.className = 'error';
            })
            .finally(() => (button.disabled = false));
        });
        use.append(button);
      }
    }
    table.replaceChildren(t);
  };
  filter.addEventListener('input', render);

  /** Draws the chosen runs' charts when they (or their epochs) changed. */
  const drawCharts = async () => {
    if (!live) return;
    const dirs = runs.filter((r) => chosen?.has(r.dir) ?? true).map((r) => r.dir);
    const key = JSON.stringify(runs.filter((r) => dirs.includes(r.dir)).map((r) => [r.dir, r.epochsDone]));
    if (key === shownKey) return;
    shownKey = key;
    const response = await fetch(`api/charts?dirs=${encodeURIComponent(JSON.stringify(dirs))}`);
    if (!response.ok) throw new Error(`api/charts: HTTP ${response.status}`);
    const got = (await response.json()) as { readonly charts: readonly SiteChart[]; readonly skipped: readonly string[] };
    await renderCharts(charts, got.charts);
    charts.dataset['runs'] = String(dirs.length);
  };

  // Live when web:serve made the site; a static build has no api/.
  if (site.mode === 'live') {
    live = true;
    const answer = await fetch('api/runs');
    if (!answer.ok) throw new Error(`api/runs: HTTP ${answer.status}`);
    runs = (await answer.json()) as LiveRun[];
    status.textContent = 'Live: the table and the charts follow the runs as they train.';
    render();
    await drawCharts();
    const events = new EventSource('api/events');
    events.addEventListener('runs', (e) => {
      runs = JSON.parse((e as MessageEvent<string>).data) as LiveRun[];
      section.dataset['updates'] = String(Number(section.dataset['updates'] ?? '0') + 1);
      render();
      void drawCharts().catch((err: unknown) => showError(charts, err));
    });
    events.addEventListener('error', () => {
      status.textContent = 'Live updates lost (is web:serve still running?); retrying…';
    });
    events.addEventListener('open', () => {
      status.textContent = 'Live: the table and the charts follow the runs as they train.';
    });
  } else {
    status.textContent = site.runStates.length === 0 ? '' : 'A snapshot: the runs as they were when this site was built.';
    render();
    await renderCharts(charts, site.charts);
  }
}

/** Replaces the charts with these compiled Vega specs. */
async function renderCharts(container: HTMLElement, specs: readonly SiteChart[]): Promise<void> {
  const vega = await import('vega');
  const figures: HTMLElement[] = [];
  for (const chart of specs) {
    const figure = document.createElement('figure');
    figure.className = 'chart';
    figure.dataset['title'] = chart.title;
    const target = document.createElement('div');
    figure.append(target);
    figures.push(figure);
    const view = new vega.View(vega.parse(chart.vega as Parameters<typeof vega.parse>[0]), {
      renderer: 'svg',
      container: target,
      hover: true,
    });
    await view.runAsync();
    figure.dataset['rendered'] = 'true';
    // The data points drawn (one per epoch and series; not the legend's symbols): what a test watches grow.
    figure.dataset['points'] = String(target.querySelectorAll('.mark-symbol.role-mark path').length);
  }
  container.replaceChildren(...figures);
}

function showError(container: HTMLElement, e: unknown): void {
  const p = Object.assign(document.createElement('p'), {
    className: 'error',
    textContent: `Charts could not be drawn: ${e instanceof Error ? e.message : String(e)}`,
  });
  container.replaceChildren(p);
}

function compare(a: string | number | null, b: string | number | null): number {
  if (a === null || b === null) return a === b ? 0 : a === null ? 1 : -1;
  return typeof a === 'number' && typeof b === 'number' ? a - b : String(a).localeCompare(String(b), undefined, { numeric: true });
}
