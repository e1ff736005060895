/**
 * The report app as a function: arguments in, exit code out; messages on stdout/stderr,
 * files only in `--out`. main.ts runs it; tests call it in-process.
 */
import { join } from 'node:path';
import * as E from 'fp-ts/Either';
import { helpText, parseFlags, type Schema } from '@resnet/cli';
import { allChart, runChart } from './charts.ts';
import { loadRuns } from './load.ts';
import { renderReport } from './markdown.ts';
import { checkOut, writeOutput, type OutputFile } from './output.ts';
import { renderChart } from './render.ts';
import { buildRows, protocolDifferences } from './summary.ts';

/** The flags of report:serve. */
export const FLAGS = {
  runs: { kind: 'string', default: null, help: 'run directories (with config.json) or folders of them, comma-separated' },
  out: { kind: 'string', default: null, help: 'directory to write report.md and charts/ to (new, empty, or a previous report)' },
  title: { kind: 'string', default: 'ResNets on Fashion-MNIST', help: 'title of report.md' },
} as const satisfies Schema;

const SUMMARY = 'Writes a report on training runs: report.md with a summary table, every epoch, the comparison with the seed report, and charts (SVG + PNG).';

/**
 * Runs report:serve with `args`; returns the exit code (0 done, 1 bad run data, 2 bad command line).
 * @example await report(['--runs=runs/report', '--out=reports/latest']) // 0
 */
export async function report(args: readonly string[]): Promise<number> {
  const flags = parseFlags(args, FLAGS);
  if (E.isLeft(flags)) {
    if (flags.left._tag === 'Help') {
      console.log(helpText('npx nx run report:serve --', SUMMARY, FLAGS));
      return 0;
    }
    return fail(flags.left.message, 2);
  }
  const { runs, out, title } = flags.right;
  if (runs === null) return fail('--runs=<dir>[,<dir>…] is required: run directories written by train:serve, or folders of them (e.g. --runs=runs/report)', 2);
  if (out === null) return fail('--out=<dir> is required: where to write report.md and charts/ (e.g. --out=reports/latest)', 2);
  const outOk = checkOut(out);
  if (E.isLeft(outOk)) return fail(outOk.left, 2);

  const paths = runs.split(',').map((p) => p.trim()).filter((p) => p !== '');
  if (paths.length === 0) return fail(`--runs needs at least one directory, got "${runs}"`, 2);
  const loaded = loadRuns(paths);
  if (E.isLeft(loaded)) return fail(loaded.left.message, loaded.left._tag === 'BadPath' || loaded.left._tag === 'NoRuns' ? 2 : 1);
  for (const run of loaded.right.unfinished) console.error(`report: warning: skipping ${run.dir} (ResNet-${run.config.variant}): no finished epoch (${join(run.dir, 'metrics.jsonl')} missing or empty)`);
  const rows = buildRows(loaded.right.runs);
  if (E.isLeft(rows)) return fail(rows.left, 1);

  const files: OutputFile[] = [];
  for (const [name, spec] of [...rows.right.map((r) => [r.chart, runChart(r)] as const), ['all', allChart(rows.right)] as const]) {
    const chart = await renderChart(spec);
    files.push({ path: `charts/${name}.svg`, data: chart.svg }, { path: `charts/${name}.png`, data: chart.png });
  }
  const markdown = renderReport({
    title,
    command: `npx nx run report:serve ${args.join(' ')}`.trim(),
    generatedAt: new Date().toISOString(),
    rows: rows.right,
    unfinished: loaded.right.unfinished,
    differences: protocolDifferences(rows.right),
  });
  files.push({ path: 'report.md', data: markdown });
  const written = writeOutput(out, files);
  if (E.isLeft(written)) return fail(written.left, 1);
  console.log(`report: wrote ${join(out, 'report.md')} and ${files.length - 1} chart files (${rows.right.length} run${rows.right.length === 1 ? '' : 's'})`);
  return 0;
}

function fail(message: string, code: number): number {
  console.error(`report: ${message}`);
  return code;
}
