/**
 * Vega-Lite spec → SVG (vega-lite compiles, vega renders headless: no browser, no canvas)
 * → PNG (resvg rasterises with the system's fonts). Nothing touches the network: the specs
 * carry their data inline. Writes no files.
 */
import { Resvg } from '@resvg/resvg-js';
import type { TopLevelSpec } from 'vega-lite';

// Loaded with import(): vega is ES-module only, and its canvas probe uses top-level await,
// which a require() from our CommonJS entry cannot load.
let libraries: Promise<[typeof import('vega'), typeof import('vega-lite')]> | undefined;
function loadVega() {
  libraries ??= Promise.all([import('vega'), import('vega-lite')]);
  return libraries;
}

/** A chart in both formats. */
export interface RenderedChart {
  readonly svg: string;
  readonly png: Uint8Array;
}

/**
 * Renders a Vega-Lite spec to an SVG document.
 * @example await renderSvg(runChart(row)) // '<svg xmlns="http://www.w3.org/2000/svg" …'
 */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const [vega, vegaLite] = await loadVega();
  // Errors only: a warning is not the report's business on stderr (the specs are tested).
  const compiled = vegaLite.compile(spec, { logger: vega.logger(vega.Error) }).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none', logLevel: vega.Error });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/**
 * Rasterises an SVG at twice its size (sharp on high-density screens).
 * @example renderPng(svg) // Uint8Array [0x89, 0x50, 0x4e, 0x47, …]
 */
export function renderPng(svg: string): Uint8Array {
  // The specs ask for DejaVu Sans, then common alternatives (charts.ts); `sans-serif` maps to DejaVu too.
  const font = { loadSystemFonts: true, defaultFontFamily: 'DejaVu Sans', sansSerifFamily: 'DejaVu Sans' };
  const png = new Resvg(svg, { font, fitTo: { mode: 'zoom', value: 2 }, background: 'white' }).render().asPng();
  // A plain view of the Buffer: @types/node 20's Buffer does not type-check as a Uint8Array under TS 5.9.
  return new Uint8Array(png.buffer as ArrayBuffer, png.byteOffset, png.byteLength);
}

/**
 * Both formats of one chart.
 * @example await renderChart(allChart(rows)) // { svg: '<svg …', png: Uint8Array […] }
 */
export async function renderChart(spec: TopLevelSpec): Promise<RenderedChart> {
  const svg = await renderSvg(spec);
  return { svg, png: renderPng(svg) };
}
