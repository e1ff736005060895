/**
 * A run's config.json, checked field by field: the one reader every consumer uses (resume,
 * sweep, evaluate, report, export) through {@link openRun}. A file that is not what
 * train:serve writes is named with the field that is wrong. Pure: JSON value in.
 */
import * as E from 'fp-ts/Either';
import { DEPTHS, VERSIONS, type Depth, type Version } from '@resnet/variants';
import { PRECISIONS, type Precision } from '@resnet/backend';
import { checkSchedule, type Schedule } from './schedule.ts';

/** Format tag of config.json. */
export const RUN_FORMAT = 'resnet-ts/run@1';

/**
 * Everything that defines a run, as train:serve writes it to config.json (which also holds
 * bookkeeping: createdAt, backend, machine, dataSource, command). Read by train:evaluate,
 * train:sweep and report:serve.
 */
export interface RunSettings {
  readonly format: typeof RUN_FORMAT;
  readonly protocol: 'default' | 'seed';
  readonly variant: Depth;
  readonly version: Version;
  readonly stem: 'imagenet' | 'small';
  /** Planned epochs (raised by `--resume --epochs=N`). */
  readonly epochs: number;
  readonly batchSize: number;
  readonly schedule: Schedule;
  readonly momentum: number;
  readonly nesterov: boolean;
  readonly weightDecay: number;
  readonly labelSmoothing: number;
  readonly imageSize: number;
  readonly augment: { readonly crop: boolean; readonly flip: boolean };
  readonly zeroInitResidual: boolean;
  readonly trainLimit: number | null;
  readonly testLimit: number | null;
  readonly seed: number;
  readonly classes: number;
  /** What convolutions computed in (`--precision`); runs made before it was recorded are fp32. */
  readonly precision: Precision;
}

/**
 * A change of the planned epochs by `train:serve --resume=DIR --epochs=N`, appended to
 * config.json's `replanned` list. An epoch-dependent schedule (cosine, step) is recomputed
 * for the new total from that point on, so the run is not the same as one planned for N
 * epochs from the start; the report says so.
 */
export interface Replan {
  /** Epochs finished when the plan changed. */
  readonly afterEpoch: number;
  /** Steps of the next epoch already done (a mid-epoch checkpoint), else 0. */
  readonly afterStep: number;
  readonly from: number;
  readonly to: number;
  /** ISO time of the change. */
  readonly at: string;
}

/**
 * config.json's `replanned` list with one more change (a missing or malformed list counts as empty).
 * @example withReplan({ epochs: 1 }, { afterEpoch: 1, afterStep: 0, from: 1, to: 3, at: '…' }) // { epochs: 3, replanned: [{ afterEpoch: 1, … }] }
 */
export function withReplan<C extends { readonly epochs: number }>(config: C, change: Replan): C & { readonly replanned: readonly Replan[] } {
  const previous = (config as { readonly replanned?: unknown }).replanned;
  return { ...config, epochs: change.to, replanned: [...(Array.isArray(previous) ? (previous as Replan[]) : []), change] };
}


/** Backend description written by train:serve (`describeBackend`). */
export interface RunBackend {
  readonly name: string;
  readonly device: string;
  readonly tfjsVersion?: string;
  readonly node?: string;
}

/** The machine a run was made on (absent in runs made before it was recorded). */
export interface RunMachine {
  readonly cpus: number;
  readonly cpuModel: string;
  readonly memoryGiB: number;
  readonly platform: string;
}

/**
 * What marks a reference run: made by another framework on our protocol to compare against
 * (tools/torch_reference.py writes `{ "framework": "pytorch", "version": "1.13.0a0", "script": "tools/torch_reference.py" }`),
 * not by train:serve, so it has no checkpoints or model and cannot be resumed.
 */
export interface RunReference {
  readonly framework: 'pytorch';
  /** The framework's version. */
  readonly version: string;
  /** The script that made the run, or null. */
  readonly script: string | null;
}

/** Frameworks a reference run may come from. */
export const REFERENCE_FRAMEWORKS = ['pytorch'] as const;

/** A run's config.json as train:serve writes it: the settings plus bookkeeping (null where an older run lacks it). */
export interface RunConfig extends RunSettings {
  readonly createdAt: string | null;
  readonly backend: RunBackend | null;
  readonly machine: RunMachine | null;
  readonly dataSource: string | null;
  /** The command that made the run, as recorded (`npx nx run train:serve …`; older runs: `train:serve …`). */
  readonly command: string | null;
  /** Changes of the planned epochs by `--resume --epochs=N`, oldest first (empty if none). */
  readonly replanned: readonly Replan[];
  /** Set when another framework made the run on our protocol (a reference); null for our runs. */
  readonly reference: RunReference | null;
}

/**
 * Checks a parsed config.json; `path` names the file in the error.
 * @example
 * parseRunConfig({ format: 'resnet-ts/run@1', variant: 35, … }, 'runs/a/config.json')
 * // Left('runs/a/config.json: "variant" must be one of 18, 34, 50, 101, 152, got 35: …')
 */
export function parseRunConfig(value: unknown, path: string): E.Either<string, RunConfig> {
  const bad = (field: string, expected: string, got: unknown) =>
    E.left(`${path}: "${field}" must be ${expected}, got ${JSON.stringify(got) ?? 'nothing'}: pass a run directory written by train:serve, or fix the file`);
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return bad('(the whole file)', 'a JSON object', value);
  const c = value as Record<string, unknown>;
  if (c['format'] !== RUN_FORMAT) return bad('format', `"${RUN_FORMAT}"`, c['format']);
  const protocol = c['protocol'];
  if (protocol !== 'default' && protocol !== 'seed') return bad('protocol', '"default" or "seed"', protocol);
  const variant = c['variant'];
  if (!DEPTHS.includes(variant as Depth)) return bad('variant', `one of ${DEPTHS.join(', ')}`, variant);
  const version = c['version'];
  if (!VERSIONS.includes(version as Version)) return bad('version', `one of ${VERSIONS.join(', ')}`, version);
  const stem = c['stem'];
  if (stem !== 'imagenet' && stem !== 'small') return bad('stem', '"imagenet" or "small"', stem);
  for (const field of ['epochs', 'batchSize', 'imageSize', 'classes']) {
    if (!isInt(c[field], 1)) return bad(field, 'an integer ≥ 1', c[field]);
  }
  for (const field of ['momentum', 'weightDecay', 'labelSmoothing', 'seed']) {
    if (!isNumber(c[field])) return bad(field, 'a number', c[field]);
  }
  if (typeof c['nesterov'] !== 'boolean') return bad('nesterov', 'true or false', c['nesterov']);
  const augment = c['augment'] as { crop?: unknown; flip?: unknown } | null | undefined;
  if (typeof augment !== 'object' || augment === null || typeof augment.crop !== 'boolean' || typeof augment.flip !== 'boolean') return bad('augment', '{ "crop": true|false, "flip": true|false }', augment);
  for (const field of ['trainLimit', 'testLimit']) {
    if (c[field] !== null && !isInt(c[field], 1)) return bad(field, 'null or an integer ≥ 1', c[field]);
  }
  const schedule = c['schedule'] as Schedule | null | undefined;
  const tags: readonly unknown[] = ['Constant', 'Step', 'Cosine'];
  if (typeof schedule !== 'object' || schedule === null || !tags.includes(schedule._tag)) return bad('schedule', 'a Constant, Step or Cosine schedule', schedule);
  const checked = checkSchedule(schedule);
  if (E.isLeft(checked)) return E.left(`${path}: "schedule": ${checked.left.message}`);
  const replanned = c['replanned'] ?? [];
  if (!Array.isArray(replanned) || !replanned.every(isReplan)) return bad('replanned', 'a list of { "afterEpoch", "afterStep", "from", "to", "at" } as train:serve --resume writes it', replanned);
  const reference = c['reference'] ?? null;
  if (reference !== null && !isReference(reference)) return bad('reference', `absent, null or { "framework": ${REFERENCE_FRAMEWORKS.map((f) => `"${f}"`).join(' | ')}, "version": "…", "script": "…" } as tools/torch_reference.py writes it`, reference);
  const precision = c['precision'] ?? 'fp32';
  if (!(PRECISIONS as readonly unknown[]).includes(precision)) return bad('precision', PRECISIONS.map((p) => `"${p}"`).join(' or '), precision);
  const backend = c['backend'] as Partial<RunBackend> | undefined;
  const machine = c['machine'] as Partial<RunMachine> | undefined;
  return E.right({
    format: RUN_FORMAT,
    protocol,
    variant: variant as Depth,
    version: version as Version,
    stem,
    epochs: c['epochs'] as number,
    batchSize: c['batchSize'] as number,
    schedule: checked.right,
    momentum: c['momentum'] as number,
    nesterov: c['nesterov'],
    weightDecay: c['weightDecay'] as number,
    labelSmoothing: c['labelSmoothing'] as number,
    imageSize: c['imageSize'] as number,
    augment: { crop: augment.crop, flip: augment.flip },
    // Runs made before zero-init was recorded did not use it.
    zeroInitResidual: c['zeroInitResidual'] === true,
    trainLimit: c['trainLimit'] as number | null,
    testLimit: c['testLimit'] as number | null,
    seed: c['seed'] as number,
    classes: c['classes'] as number,
    precision: precision as Precision,
    createdAt: typeof c['createdAt'] === 'string' ? c['createdAt'] : null,
    backend: typeof backend?.name === 'string' && typeof backend.device === 'string' ? (backend as RunBackend) : null,
    machine: typeof machine?.cpus === 'number' && typeof machine.cpuModel === 'string' && typeof machine.memoryGiB === 'number' && typeof machine.platform === 'string' ? (machine as RunMachine) : null,
    dataSource: typeof c['dataSource'] === 'string' ? c['dataSource'] : null,
    command: typeof c['command'] === 'string' ? c['command'] : null,
    replanned,
    reference: reference === null ? null : { framework: reference.framework, version: reference.version, script: typeof reference.script === 'string' ? reference.script : null },
  });
}

function isReference(v: unknown): v is { framework: RunReference['framework']; version: string; script?: unknown } {
  if (typeof v !== 'object' || v === null) return false;
  const r = v as Record<string, unknown>;
  return (REFERENCE_FRAMEWORKS as readonly unknown[]).includes(r['framework']) && typeof r['version'] === 'string' && (r['script'] === undefined || r['script'] === null || typeof r['script'] === 'string');
}

function isReplan(v: unknown): v is Replan {
  if (typeof v !== 'object' || v === null) return false;
  const r = v as Record<string, unknown>;
  return isInt(r['afterEpoch'], 0) && isInt(r['afterStep'], 0) && isInt(r['from'], 1) && isInt(r['to'], 1) && typeof r['at'] === 'string';
}

function isNumber(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v);
}

function isInt(v: unknown, min: number): v is number {
  return isNumber(v) && Number.isInteger(v) && v >= min;
}

