/** The run viewer: a table of the runs and the report's charts, rendered by Vega as SVG. */
import type { SiteData } from '../site_data.ts';

/** Renders every chart of site.json into the section. */
export async function startRuns(section: HTMLElement, site: SiteData): Promise<void> {
  const table = section.querySelector('#runs-table') as HTMLElement;
  const charts = section.querySelector('#runs-charts') as HTMLElement;
  if (site.runs.length === 0) {
    table.textContent = 'No run in this build: build or serve with --run=<dir>.';
    return;
  }
  const t = document.createElement('table');
  const head = t.createTHead().insertRow();
  for (const h of ['run', 'directory', 'epochs', 'final test acc']) head.append(Object.assign(document.createElement('th'), { textContent: h }));
  for (const r of site.runs) {
    const row = t.createTBody().insertRow();
    for (const v of [r.label, r.dir, String(r.epochs), r.testAcc.toFixed(3)]) row.insertCell().textContent = v;
  }
  table.replaceChildren(t);
  const vega = await import('vega');
  for (const chart of site.charts) {
    const figure = document.createElement('figure');
    figure.className = 'chart';
    const target = document.createElement('div');
    figure.append(target);
    charts.append(figure);
    const view = new vega.View(vega.parse(chart.vega as Parameters<typeof vega.parse>[0]), { renderer: 'svg', container: target, hover: true });
    await view.runAsync();
    figure.dataset['rendered'] = 'true';
  }
}
