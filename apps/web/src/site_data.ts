import type { LiveRun } from '@resnet/results';

/**
 * What the page loads besides its code, produced from local files at build/serve time and
 * never committed: `site.json` (test images, run charts, model facts) and the model.
 * The format has one owner: this module's types, used by the writer here and the page.
 */

/** The first `count` Fashion-MNIST test images, as the page receives them. */
export interface SiteImages {
  readonly count: number;
  readonly height: number;
  readonly width: number;
  /** `count × height × width` grey levels, base64 of the raw bytes. */
  readonly pixels: string;
  readonly labels: readonly number[];
  /** Where they came from, e.g. `/usr/share/datasets/fashion-mnist (package …)`. */
  readonly source: string;
}

/** The classifier's model: an ONNX file beside site.json and what its input needs. */
export interface SiteModel {
  readonly file: string;
  readonly run: string;
  /** `ResNet-18 v1.5`. */
  readonly label: string;
  readonly imageSize: number;
  readonly input: string;
  readonly output: string;
  /** Normalisation of the training pipeline: `(grey / 255 - mean) / std`. */
  readonly mean: number;
  readonly std: number;
}

/** One chart of the run viewer. */
export interface SiteChart {
  readonly title: string;
  /** A compiled Vega spec. */
  readonly vega: unknown;
}

/** site.json. */
export interface SiteData {
  readonly format: 'resnet-ts/web@1';
  readonly classes: readonly string[];
  readonly images: SiteImages | null;
  readonly model: SiteModel | null;
  readonly runs: readonly { readonly dir: string; readonly label: string; readonly epochs: number; readonly testAcc: number }[];
  readonly charts: readonly SiteChart[];
  /** `live`: served by web:serve, which answers api/runs, api/charts and api/events; `static`: a web:build snapshot. */
  readonly mode: 'live' | 'static';
  /** Where each run stood when the site was made (web:serve's page asks the server for now). */
  readonly runStates: readonly LiveRun[];
  /** Why a view is empty (no --runs given, no model in the run, …), shown on the page. */
  readonly notes: readonly string[];
}

/** Base64 of bytes, in Node or the browser. */
export function toBase64(bytes: Uint8Array): string {
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary);
}

/**
 * Bytes from base64.
 * @example fromBase64(toBase64(Uint8Array.of(0, 255))) // Uint8Array [0, 255]
 */
export function fromBase64(text: string): Uint8Array {
  const binary = atob(text);
  return Uint8Array.from(binary, (c) => c.charCodeAt(0));
}
