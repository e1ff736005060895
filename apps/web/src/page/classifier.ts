/**
 * The classifier: the run's ONNX model in onnxruntime-web (wasm, served from this site),
 * the first test images with their top-3 classes, and a canvas to draw on.
 */
import { formatPercent } from '@resnet/format';
import { fromBase64, type SiteData, type SiteModel } from '../site_data.ts';
import { normalise, softmax, topK, toFashionMnist } from '../classify.ts';

type Ort = typeof import('onnxruntime-web/wasm');

// The drawing canvas's listeners of the classifier shown now: a new model replaces them.
let drawingListeners: AbortController | null = null;

/** Loads the model, classifies the test images, wires the drawing canvas (again for another model). */
export async function startClassifier(section: HTMLElement, site: SiteData): Promise<void> {
  const status = section.querySelector('#classifier-status') as HTMLElement;
  drawingListeners?.abort();
  drawingListeners = new AbortController();
  section.querySelector('.draw')?.removeAttribute('hidden');
  const model = site.model;
  const images = site.images;
  if (model === null || images === null) {
    status.textContent = site.notes.find((n) => /model|export|run/i.test(n)) ?? 'No model in this build.';
    section.querySelector('.draw')?.setAttribute('hidden', '');
    return;
  }
  status.textContent = `Loading ${model.label}…`;
  const ort = await import('onnxruntime-web/wasm');
  ort.env.wasm.numThreads = 1;
  const session = await ort.InferenceSession.create(new URL(model.file, document.baseURI).href, { executionProviders: ['wasm'] });

  const pixels = fromBase64(images.pixels);
  const size = images.height * images.width;
  const started = performance.now();
  const probabilities = await classify(ort, session, model, pixels, images.count);
  const ms = performance.now() - started;
  status.dataset['msPerImage'] = (ms / images.count).toFixed(2);
  const correct = probabilities.filter((p, i) => topK(p, 1)[0]?.index === images.labels[i]).length;
  status.textContent = `${model.label} from ${model.run}: ${correct} of ${images.count} test images right; ${images.count} images classified in ${ms.toFixed(0)} ms (${(ms / images.count).toFixed(1)} ms per image, onnxruntime-web wasm, 1 thread). Images: ${images.source}.`;

  const grid = section.querySelector('#classifier-images') as HTMLElement;
  grid.replaceChildren(
    ...probabilities.map((p, i) => {
      const label = images.labels[i] ?? -1;
      const top = topK(p, 3);
      const figure = document.createElement('figure');
      figure.dataset['index'] = String(i);
      figure.dataset['label'] = String(label);
      figure.dataset['predicted'] = String(top[0]?.index ?? -1);
      figure.dataset['probabilities'] = JSON.stringify(p);
      if (top[0]?.index !== label) figure.className = 'wrong';
      figure.append(imageCanvas(pixels.subarray(i * size, (i + 1) * size), images.width, images.height));
      const caption = document.createElement('figcaption');
      caption.textContent = `#${i}: ${site.classes[label] ?? '?'}`;
      figure.append(caption, topList(top, site.classes));
      return figure;
    }),
  );
  startDrawing(section, async (grey) => (await classify(ort, session, model, grey, 1))[0] ?? [], site.classes, drawingListeners.signal);
  status.dataset['run'] = model.run;
}

async function classify(
  ort: Ort,
  session: import('onnxruntime-web/wasm').InferenceSession,
  model: SiteModel,
  grey: Uint8Array,
  count: number,
): Promise<number[][]> {
  // NCHW with one channel: the same order as the row-major image.
  const input = new ort.Tensor('float32', normalise(grey, model), [count, 1, model.imageSize, model.imageSize]);
  const output = (await session.run({ [model.input]: input }))[model.output];
  if (output === undefined) throw new Error(`model has no output "${model.output}"`);
  const logits = output.data as Float32Array;
  const classes = logits.length / count;
  return Array.from({ length: count }, (_, i) => softmax(logits.subarray(i * classes, (i + 1) * classes)));
}

function imageCanvas(grey: Uint8Array, width: number, height: number): HTMLCanvasElement {
  const canvas = document.createElement('canvas');
  canvas.width = width;
  canvas.height = height;
  const ctx = canvas.getContext('2d');
  if (ctx !== null) {
    const data = ctx.createImageData(width, height);
    grey.forEach((v, i) => data.data.set([v, v, v, 255], i * 4));
    ctx.putImageData(data, 0, 0);
  }
  return canvas;
}

function topList(top: readonly { readonly index: number; readonly p: number }[], classes: readonly string[]): HTMLOListElement {
  const ol = document.createElement('ol');
  for (const t of top) {
    ol.append(Object.assign(document.createElement('li'), { textContent: `${classes[t.index] ?? t.index} ${formatPercent(t.p)}` }));
  }
  return ol;
}

/** Pointer drawing on the canvas; classifies when a stroke ends. */
function startDrawing(
  section: HTMLElement,
  predict: (grey: Uint8Array) => Promise<number[]>,
  classes: readonly string[],
  signal: AbortSignal,
): void {
  const canvas = section.querySelector('#draw-canvas') as HTMLCanvasElement;
  const list = section.querySelector('#draw-top3') as HTMLElement;
  const ctx = canvas.getContext('2d', { willReadFrequently: true });
  if (ctx === null) return;
  const clear = () => {
    ctx.fillStyle = 'white';
    ctx.fillRect(0, 0, canvas.width, canvas.height);
    list.replaceChildren();
    delete list.dataset['probabilities'];
  };
  clear();
  ctx.lineWidth = 22;
  ctx.lineCap = 'round';
  ctx.lineJoin = 'round';
  ctx.strokeStyle = 'black';
  let drawing = false;
  const at = (e: PointerEvent) => {
    const r = canvas.getBoundingClientRect();
    return [((e.clientX - r.left) * canvas.width) / r.width, ((e.clientY - r.top) * canvas.height) / r.height] as const;
  };
  canvas.addEventListener(
    'pointerdown',
    (e) => {
      drawing = true;
      canvas.setPointerCapture(e.pointerId);
      ctx.beginPath();
      ctx.moveTo(...at(e));
    },
    { signal },
  );
  canvas.addEventListener(
    'pointermove',
    (e) => {
      if (!drawing) return;
      ctx.lineTo(...at(e));
      ctx.stroke();
    },
    { signal },
  );
  const end = () => {
    if (!drawing) return;
    drawing = false;
    const grey = toFashionMnist(ctx.getImageData(0, 0, canvas.width, canvas.height).data, canvas.width);
    void predict(grey).then((p) => {
      list.replaceChildren(...topList(topK(p, 3), classes).children);
      // All ten, as the test images' figures carry them: web:e2e checks them against the model.
      list.dataset['probabilities'] = JSON.stringify(p);
    });
  };
  canvas.addEventListener('pointerup', end, { signal });
  canvas.addEventListener('pointercancel', end, { signal });
  section.querySelector('#draw-clear')?.addEventListener('click', clear, { signal });
}
