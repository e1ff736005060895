/**
 * The run viewer's charts: the report's own Vega-Lite specs from @resnet/results (per run,
 * and all runs together), compiled to Vega here so the browser needs only the Vega runtime.
 */
import * as E from 'fp-ts/Either';
import type { TopLevelSpec } from 'vega-lite';
import { allChart, buildRows, loadRuns, runChart } from '@resnet/results';

/** One chart for the page: a title and a compiled Vega spec (JSON). */
export interface RunChart {
  readonly title: string;
  readonly vega: unknown;
}

/** What the run viewer shows, and which run directories it came from. */
export interface RunCharts {
  readonly runs: readonly { readonly dir: string; readonly label: string; readonly epochs: number; readonly testAcc: number }[];
  readonly charts: readonly RunChart[];
}

/**
 * Reads the runs (run directories or folders of them, as report:serve takes them) and
 * builds their charts: one per run, plus "all runs" when there are several.
 * @example await runCharts(['runs/smoke']) // Right({ runs: [{ label: 'ResNet-18', … }], charts: [{ title: 'ResNet-18', vega: {…} }] })
 */
export async function runCharts(paths: readonly string[]): Promise<E.Either<string, RunCharts>> {
  const loaded = loadRuns(paths);
  if (E.isLeft(loaded))
    return E.left(
      loaded.left._tag === 'BadPath'
        ? `--runs: ${loaded.left.message}: pass run directories (with config.json) or folders of them`
        : loaded.left.message,
    );
  const rows = buildRows(loaded.right.runs);
  if (E.isLeft(rows)) return E.left(rows.left);
  const specs: [string, TopLevelSpec][] = rows.right.map((r) => [r.seriesName, runChart(r)]);
  if (rows.right.length > 1) specs.push(['All runs', allChart(rows.right)]);
  // import(): vega-lite is ES-module only and vega's canvas probe uses top-level await.
  const { compile } = await import('vega-lite');
  return E.right({
    runs: rows.right.map((r) => ({ dir: r.run.dir, label: r.seriesName, epochs: r.run.metrics.length, testAcc: r.last.testAcc })),
    charts: specs.map(([title, spec]) => ({ title, vega: compile(spec).spec })),
  });
}
