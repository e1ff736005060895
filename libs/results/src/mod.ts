/**
 * @resnet/results — training runs as results: finding and reading run directories (through
 * @resnet/run-dir's validating readers; no tensor library is loaded), one summary row per run (parameters and MACs from
 * the specs, final and best metrics, speed, protocol differences), a runs folder's committed
 * bench:serve output (bench.json), and the Vega-Lite chart
 * specifications of a run's curves. The report app writes them to markdown and images; the
 * web app draws the same charts in the browser.
 * @module
 */
export * from './load.ts';
export * from './summary.ts';
export * from './charts.ts';
export * from './spread.ts';
export * from './live.ts';
