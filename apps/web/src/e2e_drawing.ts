/**
 * web:e2e's drawing check: a stroke on the classifier's canvas reaches the model. Two shapes
 * and an empty canvas are drawn with the mouse; each answer the page gives must be the site's
 * model.onnx, run here by onnxruntime-node, on what the canvas then holds downsampled and
 * normalised by the page's own code (classify.ts), and the three answers must differ.
 *
 * The e2e's model is a tiny run's (256 images, one epoch): nearly uniform, its top 3 reads the
 * same to 0.1% for any drawing. So the answers are compared as the ten probabilities the page
 * puts on `#draw-top3` (`data-probabilities`), not as the top 3 shown: different drawings move
 * them by ~1e-5, two runtimes on one input by ~1e-8. A trained model would tell the shapes
 * apart as classes; this one only shows that the drawing is what the model read.
 */
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { normalise, softmax, toFashionMnist, topK } from './classify.ts';
import type { SiteData, SiteModel } from './site_data.ts';

interface Check {
  readonly name: string;
  readonly ok: boolean;
  readonly detail: string;
}

/** A stroke through points given as fractions of the canvas's width and height. */
type Stroke = readonly (readonly [number, number])[];

/** One stroke each, so that each drawing is classified once (every stroke's end classifies). */
const DRAWINGS: readonly { readonly name: string; readonly stroke: Stroke }[] = [
  // A tap after clearing: a stroke of no length inks nothing.
  { name: 'empty canvas', stroke: [[0.5, 0.5]] },
  // A zigzag filling the middle of the canvas.
  {
    name: 'filled block',
    stroke: [0.25, 0.35, 0.45, 0.55, 0.65, 0.75].flatMap((y) => [[0.2, y] as const, [0.8, y] as const]),
  },
  // Up the left leg, across the waist, down the right leg.
  {
    name: 'trousers',
    stroke: [
      [0.35, 0.9],
      [0.35, 0.1],
      [0.65, 0.1],
      [0.65, 0.9],
    ],
  },
];

/** The page's probabilities against the reference's: a runtime's rounding, not another input. */
const SAME = 1e-6;
/** Two drawings' answers must differ by this much: well clear of SAME, so no answer can match the wrong drawing. */
const DIFFERENT = 10 * SAME;

/**
 * Draws each of DRAWINGS on `#draw-canvas`, reads the answer and the canvas, and checks them
 * against `model` (in `site`, the built site's folder) run by onnxruntime-node. Leaves the
 * trousers on the canvas (the classifier's screenshot).
 */
export async function drawingChecks(page: Page, site: string, model: SiteModel, classes: SiteData['classes']): Promise<readonly Check[]> {
  const ort = await import('onnxruntime-node');
  // Loading the model takes a second or two: meanwhile, draw.
  const loading = ort.InferenceSession.create(join(site, model.file));
  loading.catch(() => undefined);
  // A reference that cannot run fails the check that needs it (its reason in the detail), not the whole e2e.
  let failed = '';
  const reference = async (grey: Uint8Array): Promise<number[]> => {
    try {
      const input = new ort.Tensor('float32', normalise(grey, model), [1, 1, model.imageSize, model.imageSize]);
      const output = (await (await loading).run({ [model.input]: input }))[model.output];
      if (output === undefined) throw new Error(`model has no output "${model.output}"`);
      return softmax(output.data as Float32Array);
    } catch (e) {
      failed = `onnxruntime-node: ${e instanceof Error ? e.message : String(e)}; `;
      return [];
    }
  };
  const canvas = page.locator('#draw-canvas');
  await canvas.scrollIntoViewIfNeeded();
  const box = await canvas.boundingBox();
  if (box === null) return [{ name: 'a drawing reaches the model', ok: false, detail: 'the canvas is not shown' }];

  const drawn: { name: string; shown: string[]; page: number[]; model: number[]; image: Uint8Array }[] = [];
  for (const { name, stroke } of DRAWINGS) {
    await page.click('#draw-clear');
    const [first, ...rest] = stroke.map(([x, y]) => [box.x + box.width * x, box.y + box.height * y] as const);
    if (first === undefined) continue;
    await page.mouse.move(...first);
    await page.mouse.down();
    // Each pointer move draws a straight line to its point: a few steps per segment are enough.
    for (const p of rest) await page.mouse.move(...p, { steps: 2 });
    await page.mouse.up();
    const answer = await page
      .waitForFunction(() => document.querySelector<HTMLElement>('#draw-top3')?.dataset['probabilities'], null, { timeout: 10_000 })
      .then((h) => h.jsonValue())
      .catch(() => null);
    const shown = await page.$$eval('#draw-top3 li', (els) => els.map((el) => el.textContent ?? ''));
    // The canvas as the page reads it when a stroke ends (base64: an array of 313,600 numbers takes seconds to pass),
    // downsampled by the page's own code.
    const { rgba, side } = await canvas.evaluate((el: HTMLCanvasElement) => {
      const bytes = el.getContext('2d')?.getImageData(0, 0, el.width, el.height).data ?? new Uint8ClampedArray();
      let binary = '';
      for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
      return { rgba: btoa(binary), side: el.width };
    });
    const image = toFashionMnist(Buffer.from(rgba, 'base64'), side, model.imageSize);
    drawn.push({
      name,
      shown,
      page: typeof answer === 'string' ? (JSON.parse(answer) as number[]) : [],
      model: await reference(image),
      image,
    });
  }

  const distance = (a: readonly number[], b: readonly number[]) =>
    a.length === b.length && a.length > 0 ? Math.max(...a.map((v, i) => Math.abs(v - (b[i] ?? Number.NaN)))) : Number.POSITIVE_INFINITY;
  const top = (p: readonly number[]) =>
    topK([...p], 1)
      .map((t) => classes[t.index] ?? String(t.index))
      .join('');
  const [blank, block, trousers] = drawn;
  // What the strokes put on the canvas, 28×28 (light ink on black), known without the page's code:
  // the trousers' legs are bright in the columns at 0.35 and 0.65 of the width, dark between them.
  const cell = (fraction: number) => Math.round(fraction * model.imageSize);
  const column = (image: Uint8Array | undefined, x: number) => {
    const rows = Array.from({ length: cell(0.8) - cell(0.3) }, (_, i) => image?.[(cell(0.3) + i) * model.imageSize + cell(x)] ?? 0);
    return rows.reduce((a, b) => a + b, 0) / rows.length;
  };
  const ink = (image: Uint8Array | undefined) => Array.from(image ?? []).reduce((a, b) => a + b, 0) / 255;
  const inked =
    ink(blank?.image) === 0 &&
    column(trousers?.image, 0.35) > 128 &&
    column(trousers?.image, 0.65) > 128 &&
    column(trousers?.image, 0.5) === 0 &&
    ink(block?.image) > ink(trousers?.image);

  const matches = drawn.map((d) => distance(d.page, d.model));
  const apart = drawn.flatMap((a, i) => drawn.slice(i + 1).map((b) => ({ pair: `${a.name}/${b.name}`, by: distance(a.page, b.page) })));
  return [
    {
      name: 'a drawing is classified',
      ok: trousers?.shown.length === 3,
      detail: trousers?.shown.join(', ') || 'no answer',
    },
    {
      name: 'the canvas holds the strokes drawn',
      ok: drawn.length === DRAWINGS.length && inked,
      detail: drawn.map((d) => `${d.name} ${ink(d.image).toFixed(0)} px of ink`).join(', '),
    },
    {
      name: "each drawing's answer is the model's on that canvas (downsampled by classify.ts, run by onnxruntime-node)",
      ok: drawn.length === DRAWINGS.length && matches.every((m) => m < SAME),
      detail: `${failed}largest probability difference ${drawn.map((d, i) => `${d.name} ${(matches[i] ?? Number.NaN).toExponential(1)}`).join(', ')} (< ${SAME.toExponential(0)})`,
    },
    {
      // The tiny run's model answers nearly alike (same top 3 to 0.1%), but not identically.
      name: 'two drawings and an empty canvas get three different answers (probabilities; the tiny model is nearly uniform)',
      ok: drawn.length === DRAWINGS.length && apart.every((a) => a.by > DIFFERENT),
      detail: `${apart.map((a) => `${a.pair} differ by ${a.by.toExponential(1)}`).join(', ')} (> ${DIFFERENT.toExponential(0)}); top class ${drawn.map((d) => `${d.name} ${top(d.page)}`).join(', ')}`,
    },
  ];
}
