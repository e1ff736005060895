/**
 * Chooses and activates the tfjs backend a training or inference run uses:
 * libtensorflow (tfjs-node-gpu / tfjs-node), oneDNN (@resnet/onednn), WebAssembly or
 * pure-JS cpu. Expected failures (a package not installed, an addon not built) are
 * `Left`s whose message says how to fix them.
 */
import * as tf from '@tensorflow/tfjs';
import * as E from 'fp-ts/Either';
import { absurd } from 'fp-ts/function';
import { PRECISIONS, type Precision } from '@resnet/recipe';
import { configureOnednn, lentValues, ONEDNN_BACKEND, onednnStatus, reuseLongerBuffers, type OnednnInfo } from '@resnet/onednn';
import { defaultLoaders, firstLine, isMissingModule, shimIsNullOrUndefined, type BackendLoaders } from './_loaders.ts';

/** Every accepted `--backend` value, in the order `--help` lists them. */
export const BACKEND_CHOICES = ['auto', 'tensorflow', 'onednn', 'wasm', 'cpu'] as const;

/** A `--backend` value. */
export type BackendName = (typeof BACKEND_CHOICES)[number];

/** What the run does with the backend; only inference may use `wasm`. */
export type Purpose = 'training' | 'inference';

/** The active backend, as recorded in a run's config.json. */
export interface BackendChoice {
  /** `tf.getBackend()` after selection: `tensorflow`, `onednn`, `wasm` or `cpu`. */
  readonly name: string;
  /** Where kernels run, e.g. `cpu (2 threads, oneDNN 2.6.3, avx2)`, `cuda:0`, `cpu (pure JS)`. */
  readonly device: string;
  /** One line: which backend and why, e.g. `auto: onednn (tfjs-node-gpu and tfjs-node not installed)`. */
  readonly reason: string;
  /** What it computes in (`bf16` only on onednn with native bf16). */
  readonly precision: Precision;
}

/** Why a backend could not be selected; the message names the fix. */
export interface BackendError {
  readonly _tag: 'UnknownBackend' | 'NotInstalled' | 'LoadFailed' | 'Unavailable' | 'CannotTrain' | 'NoBf16';
  readonly message: string;
}

/** Options of {@link selectBackend}. */
export interface SelectOptions {
  /** Default `training`, which rules out `wasm`. */
  readonly purpose?: Purpose;
  /** Default `fp32`. `bf16` accepts only onednn on a CPU with native bf16 (`auto` skips the rest); never a silent fp32. */
  readonly precision?: Precision;
  /** Replaces the real loaders (for tests). */
  readonly loaders?: Partial<BackendLoaders>;
}

/**
 * Activates a tfjs backend. `auto` tries tensorflow (tfjs-node-gpu, then tfjs-node), then
 * onednn, then cpu, and its reason names what it skipped and why; `wasm` is never chosen
 * automatically and is refused for training. Silences tfjs's "install tfjs-node" banner.
 * The `tensorflow` device is `cuda:0` when the tfjs-node-gpu package loaded: that is the
 * package, not a probe of the GPU (libtensorflow falls back to the CPU without one).
 *
 * @example
 * const chosen = await selectBackend('auto', { purpose: 'training' });
 * if (E.isLeft(chosen)) throw new Error(chosen.left.message);
 * console.log(chosen.right.reason); // "auto: onednn (tfjs-node-gpu and tfjs-node not installed)"
 */
export async function selectBackend(choice: BackendName, options: SelectOptions = {}): Promise<E.Either<BackendError, BackendChoice>> {
  const loaders: BackendLoaders = { ...defaultLoaders, ...options.loaders };
  const purpose = options.purpose ?? 'training';
  const precision = options.precision ?? 'fp32';
  // Guards callers that bypass the type (a value from JSON or JavaScript).
  if (!(BACKEND_CHOICES as readonly string[]).includes(choice)) {
    return E.left({
      _tag: 'UnknownBackend',
      message: `Unknown backend "${String(choice)}": expected one of ${BACKEND_CHOICES.join(', ')}`,
    });
  }
  if (!(PRECISIONS as readonly string[]).includes(precision)) {
    return E.left({
      _tag: 'UnknownBackend',
      message: `Unknown precision "${String(precision)}": expected one of ${PRECISIONS.join(', ')}`,
    });
  }
  if (precision === 'bf16') return selectBf16(choice, loaders);
  const chosen = await selectFp32(choice, loaders, purpose);
  // onednn keeps its precision per process: a choice of fp32 sets it back.
  if (E.isRight(chosen) && chosen.right.name === ONEDNN_BACKEND) configureOnednn({ precision: 'fp32' });
  return chosen;
}

/**
 * What the active backend computes in: `bf16` when it is onednn set to bf16, else `fp32`.
 * Training checks it against the run's config.json, so a run never trains in another precision than it records.
 */
export function activePrecision(): Precision {
  if ((tf.getBackend() as string | null | undefined) !== ONEDNN_BACKEND) return 'fp32';
  const status = onednnStatus();
  return status.ok && status.info.precision === 'bf16' ? 'bf16' : 'fp32';
}

/**
 * Tells the active backend whether the coming steps are smaller than the full ones (an epoch's
 * smaller last batch): then onednn serves their outputs from the full steps' spare storage
 * (views of longer arrays) instead of allocating beside it. Other backends keep no spare storage.
 * @example smallerBatchAhead(indices.length < batchSize)
 */
export function smallerBatchAhead(smaller: boolean): void {
  if ((tf.getBackend() as string | null | undefined) === ONEDNN_BACKEND) reuseLongerBuffers(smaller);
}

/**
 * A float32 tensor's values for a moment (to write them out): on onednn its storage itself,
 * lent without taking it from the backend's buffer pool; elsewhere what `dataSync` gives. Valid
 * until the next tfjs operation; neither keep nor write them.
 * @example writeSync(fd, lendValues(variable))
 */
export function lendValues(t: tf.Tensor): Float32Array {
  const lent = (tf.getBackend() as string | null | undefined) === ONEDNN_BACKEND ? lentValues(t.dataId) : undefined;
  return lent ?? (t.dataSync() as Float32Array);
}

// bf16: only onednn, only with native bf16; refused before anything else is activated.
async function selectBf16(choice: BackendName, loaders: BackendLoaders): Promise<E.Either<BackendError, BackendChoice>> {
  if (choice !== 'onednn' && choice !== 'auto') {
    return E.left({
      _tag: 'NoBf16',
      message: `--precision=bf16 runs on the onednn backend only (tfjs's ${choice} backend has no bf16 training): use --backend=onednn, or --precision=fp32`,
    });
  }
  let status: ReturnType<BackendLoaders['registerOnednn']>;
  try {
    status = loaders.registerOnednn();
  } catch (e) {
    return E.left({
      _tag: 'LoadFailed',
      message: `onednn failed to register (${firstLine(e)}), and --precision=bf16 needs it; use --precision=fp32`,
    });
  }
  if (!status.ok)
    return E.left({
      _tag: 'Unavailable',
      message: `--precision=bf16 needs the onednn backend, which is unavailable: ${status.reason}; or use --precision=fp32`,
    });
  if (!status.info.bf16) {
    return E.left({
      _tag: 'NoBf16',
      message: `--precision=bf16 needs a CPU with native bf16 (avx512_core_bf16 or AMX); oneDNN runs on ${status.info.isa} here: use --precision=fp32`,
    });
  }
  const failure = await activate(ONEDNN_BACKEND);
  if (failure !== null)
    return E.left({ _tag: 'LoadFailed', message: `onednn backend did not start: ${failure}; --precision=bf16 needs it` });
  configureOnednn({ precision: 'bf16' });
  const why = choice === 'auto' ? 'auto: onednn (--precision=bf16: only onednn runs bf16)' : 'onednn (requested)';
  return E.right({
    name: ONEDNN_BACKEND,
    device: onednnDevice(status.info),
    reason: `${why}; bf16 mixed precision on ${status.info.isa}`,
    precision: 'bf16',
  });
}

async function selectFp32(choice: BackendName, loaders: BackendLoaders, purpose: Purpose): Promise<E.Either<BackendError, BackendChoice>> {
  switch (choice) {
    case 'tensorflow':
      return explicit(choice, await tryTensorflow(loaders));
    case 'onednn':
      return explicit(choice, await tryOnednn(loaders));
    case 'wasm':
      return explicit(choice, await tryWasm(loaders, purpose));
    case 'cpu':
      return explicit(choice, await tryCpu());
    case 'auto':
      return auto(loaders);
    default:
      return absurd(choice);
  }
}

// One attempt: the backend it activated (and what it passed over on the way), or the error
// and a short note for `auto`'s reason.
type Attempt = E.Either<
  { readonly error: BackendError; readonly skipped: string },
  { readonly name: string; readonly device: string; readonly via: string | null; readonly skipped: readonly string[] }
>;

function explicit(choice: BackendName, attempt: Attempt): E.Either<BackendError, BackendChoice> {
  if (E.isLeft(attempt)) return E.left(attempt.left.error);
  const { name, device, via, skipped } = attempt.right;
  return E.right({
    name,
    device,
    reason: `${choice}${via === null ? '' : ` via ${via}`} (${['requested', ...skipped].join('; ')})`,
    precision: 'fp32',
  });
}

async function auto(loaders: BackendLoaders): Promise<E.Either<BackendError, BackendChoice>> {
  const skipped: string[] = [];
  for (const attempt of [() => tryTensorflow(loaders), () => tryOnednn(loaders), () => tryCpu()]) {
    const result = await attempt();
    if (E.isLeft(result)) {
      skipped.push(result.left.skipped);
      continue;
    }
    const { name, device, via } = result.right;
    const why = [...skipped, ...result.right.skipped];
    return E.right({
      name,
      device,
      reason: `auto: ${name}${via === null ? '' : ` via ${via}`} (${why.length === 0 ? 'first choice' : why.join('; ')})`,
      precision: 'fp32',
    });
  }
  return E.left({ _tag: 'LoadFailed', message: `no tfjs backend could be activated (${skipped.join('; ')})` });
}

const GPU = '@tensorflow/tfjs-node-gpu';
const NODE = '@tensorflow/tfjs-node';
const WASM = '@tensorflow/tfjs-backend-wasm';
const ALLOW_GROWTH = 'TF_FORCE_GPU_ALLOW_GROWTH';

type Loaded = { readonly ok: true } | { readonly ok: false; readonly missing: boolean; readonly why: string };

// Requires `id` and checks it registered `backend` with *our* tfjs-core (a second copy would not).
function load(loaders: BackendLoaders, id: string, backend: string): Loaded {
  try {
    loaders.require(id);
  } catch (e) {
    return isMissingModule(e, id)
      ? { ok: false, missing: true, why: 'not installed' }
      : { ok: false, missing: false, why: `failed to load (${firstLine(e)})` };
  }
  if (tf.findBackendFactory(backend) === null) {
    return {
      ok: false,
      missing: false,
      why: `loaded but registered no "${backend}" backend with this @tensorflow/tfjs-core (versions must all be 4.22.0: see \`npm ls @tensorflow/tfjs-core\`)`,
    };
  }
  return { ok: true };
}

async function tryTensorflow(loaders: BackendLoaders): Promise<Attempt> {
  // libtensorflow otherwise reserves nearly all GPU memory up front; a user's own setting wins.
  const setGrowth = process.env[ALLOW_GROWTH] === undefined;
  if (setGrowth) process.env[ALLOW_GROWTH] = 'true';
  shimIsNullOrUndefined(loaders.util);
  const gpu = load(loaders, GPU, 'tensorflow');
  if (gpu.ok) return startTensorflow({ device: 'cuda:0', via: 'tfjs-node-gpu', skipped: [] });
  const node = load(loaders, NODE, 'tensorflow');
  if (node.ok) return startTensorflow({ device: 'cpu (libtensorflow)', via: 'tfjs-node', skipped: [`tfjs-node-gpu ${gpu.why}`] });
  if (setGrowth) delete process.env[ALLOW_GROWTH];
  if (gpu.missing && node.missing) {
    const message =
      'tfjs-node-gpu is not installed: on a CUDA 11.2 + cuDNN 8.1 machine with internet access run `npm ci` (package.json allows its install script); ' +
      'tfjs-node is not installed either (`npm install --no-save @tensorflow/tfjs-node@4.22.0` for libtensorflow on the CPU); or use the onednn backend';
    return E.left({ error: { _tag: 'NotInstalled', message }, skipped: 'tfjs-node-gpu and tfjs-node not installed' });
  }
  const skipped = `tfjs-node-gpu ${gpu.why}, tfjs-node ${node.why}`;
  const fix =
    'check `npm ls @tensorflow/tfjs-node-gpu @tensorflow/tfjs-node`, put the CUDA 11.2 + cuDNN 8.1 libraries on LD_LIBRARY_PATH for the GPU package, ' +
    'or reinstall with `npm rebuild`; or use the onednn backend';
  return E.left({ error: { _tag: 'LoadFailed', message: `tensorflow backend unavailable: ${skipped}. Fix: ${fix}` }, skipped });
}

async function startTensorflow(found: {
  readonly device: string;
  readonly via: string;
  readonly skipped: readonly string[];
}): Promise<Attempt> {
  const failure = await activate('tensorflow');
  if (failure === null) return E.right({ name: 'tensorflow', ...found });
  return E.left({
    error: { _tag: 'LoadFailed', message: `tensorflow backend (${found.via}) did not start: ${failure}; use the onednn backend` },
    skipped: `${found.via} did not start (${failure})`,
  });
}

async function tryOnednn(loaders: BackendLoaders): Promise<Attempt> {
  let status: ReturnType<BackendLoaders['registerOnednn']>;
  try {
    status = loaders.registerOnednn();
  } catch (e) {
    return E.left({
      error: { _tag: 'LoadFailed', message: `onednn failed to register (${firstLine(e)}); use the cpu backend` },
      skipped: `onednn failed to register (${firstLine(e)})`,
    });
  }
  if (!status.ok) {
    return E.left({
      error: { _tag: 'Unavailable', message: `onednn backend unavailable: ${status.reason}; or use the cpu backend` },
      skipped: `onednn unavailable: ${status.reason}`,
    });
  }
  const failure = await activate(ONEDNN_BACKEND);
  if (failure !== null)
    return E.left({
      error: { _tag: 'LoadFailed', message: `onednn backend did not start: ${failure}; use the cpu backend` },
      skipped: `onednn did not start (${failure})`,
    });
  return E.right({ name: ONEDNN_BACKEND, device: onednnDevice(status.info), via: null, skipped: [] });
}

async function tryWasm(loaders: BackendLoaders, purpose: Purpose): Promise<Attempt> {
  if (purpose === 'training') {
    const message =
      'wasm cannot train a conv net: tfjs-backend-wasm 4.22 has no Conv2DBackpropFilter kernel (the gradient of conv2d with respect to its filter); ' +
      'use the onednn backend (native kernels) or the cpu backend';
    return E.left({ error: { _tag: 'CannotTrain', message }, skipped: 'wasm cannot train' });
  }
  const loaded = load(loaders, WASM, 'wasm');
  if (!loaded.ok) {
    const message = loaded.missing
      ? 'tfjs-backend-wasm is not installed: run `npm install --no-save @tensorflow/tfjs-backend-wasm@4.22.0` (it must match tfjs 4.22.0), or use the onednn backend'
      : `tfjs-backend-wasm ${loaded.why}; reinstall it at 4.22.0, or use the onednn backend`;
    return E.left({ error: { _tag: loaded.missing ? 'NotInstalled' : 'LoadFailed', message }, skipped: `tfjs-backend-wasm ${loaded.why}` });
  }
  const failure = await activate('wasm');
  if (failure !== null)
    return E.left({
      error: { _tag: 'LoadFailed', message: `wasm backend did not start: ${failure}; use the onednn backend` },
      skipped: `wasm did not start (${failure})`,
    });
  return E.right({ name: 'wasm', device: WASM_DEVICE, via: null, skipped: [] });
}

async function tryCpu(): Promise<Attempt> {
  const failure = await activate('cpu');
  if (failure !== null)
    return E.left({
      error: { _tag: 'LoadFailed', message: `cpu backend did not start: ${failure}` },
      skipped: `cpu did not start (${failure})`,
    });
  return E.right({ name: 'cpu', device: CPU_DEVICE, via: null, skipped: [] });
}

/** The device of the pure-JS cpu backend. */
export const CPU_DEVICE = 'cpu (pure JS)';

/** The device of the wasm backend. */
export const WASM_DEVICE = 'cpu (WebAssembly)';

/**
 * How the onednn backend's device is named.
 *
 * @example onednnDevice(info) // "cpu (2 threads, oneDNN 2.6.3, avx2)"
 */
export function onednnDevice(info: OnednnInfo): string {
  return `cpu (${info.threads} thread${info.threads === 1 ? '' : 's'}, oneDNN ${info.version}, ${info.isa})`;
}

// Sets the backend and silences its Node banner; null on success, else why not.
async function activate(name: string): Promise<string | null> {
  try {
    if (!(await tf.setBackend(name))) return `tf.setBackend('${name}') returned false`;
  } catch (e) {
    return firstLine(e);
  }
  // MathBackendCPU (also behind onednn) prints "Hi, looks like you are running TensorFlow.js in Node.js" once per instance.
  const backend = tf.backend() as unknown as { firstUse?: unknown };
  if ('firstUse' in backend) backend.firstUse = false;
  return null;
}
