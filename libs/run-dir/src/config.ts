/**
 * A run's config.json: every setting of the run and its bookkeeping, as a codec. train:serve
 * writes it; resume, sweep, evaluate, report, export and the web app read it through
 * {@link parseRunConfig} (via `readRunConfig`/`openRun`). A file that is not what train:serve
 * writes is named with the field that is wrong.
 */
import * as t from 'io-ts';
import * as E from 'fp-ts/Either';
import { DEPTHS, VERSIONS } from '@resnet/variants';
import { checkSchedule, PRECISIONS, type Schedule } from '@resnet/recipe';
import { decode, describeFailure, finite, int, lenient, named, oneOf, positive, withDefault } from './codec.ts';

/** Format tag of config.json. */
export const RUN_FORMAT = 'resnet-ts/run@1';

/** Frameworks a reference run may come from. */
export const REFERENCE_FRAMEWORKS = ['pytorch'] as const;

const ScheduleCodec: t.Type<Schedule, Schedule, unknown> = named(
  t.union([
    t.type({ _tag: t.literal('Constant'), lr: finite }),
    t.type({ _tag: t.literal('Step'), lr: finite, stepEvery: finite, gamma: finite }),
    t.type({ _tag: t.literal('Cosine'), lr: finite, warmupEpochs: finite, floor: finite }),
  ]),
  'a Constant, Step or Cosine schedule',
);

/**
 * A change of the planned epochs by `train:serve --resume=DIR --epochs=N`, appended to
 * config.json's `replanned` list. An epoch-dependent schedule (cosine, step) is recomputed
 * for the new total from that point on, so the run is not the same as one planned for N
 * epochs from the start; the report says so.
 */
export const ReplanCodec = t.type({
  /** Epochs finished when the plan changed. */
  afterEpoch: int(0),
  /** Steps of the next epoch already done (a mid-epoch checkpoint), else 0. */
  afterStep: int(0),
  from: int(1),
  to: int(1),
  /** ISO time of the change. */
  at: t.string,
});
/** One `--resume --epochs=N` change. */
export type Replan = Readonly<t.TypeOf<typeof ReplanCodec>>;

/** Backend description written by train:serve (`describeBackend`). */
export const RunBackendCodec = t.intersection([
  t.type({ name: t.string, device: t.string }),
  t.partial({ tfjsVersion: t.string, node: t.string }),
]);
export type RunBackend = Readonly<t.TypeOf<typeof RunBackendCodec>>;

/** The machine a run was made on (absent in runs made before it was recorded). */
export const RunMachineCodec = t.type({ cpus: t.number, cpuModel: t.string, memoryGiB: t.number, platform: t.string });
export type RunMachine = Readonly<t.TypeOf<typeof RunMachineCodec>>;

/** What a reference run trained: our network and protocol, or the seed report's own code (its network, init and training). */
export const REFERENCE_CODES = ['ours', 'seed'] as const;

/**
 * What marks a reference run: made by another framework to compare against (tools/torch_reference.py
 * writes `{ "framework": "pytorch", "version": "1.13.0a0", "script": "tools/torch_reference.py", "code": "ours", "parameters": 11175370 }`),
 * not by train:serve, so it has no checkpoints or model and cannot be resumed. `script`: null when not recorded.
 * `code`: `ours` (our network, on the protocol config.json names; the default for runs written before it was recorded) or
 * `seed` (the seed report's code: its network — biased convolutions, projections without batch norm — d2l's init and its
 * training, recorded as the `seed` protocol). `parameters`: the trainable parameters of the network it trained, counted by
 * the script; null when not recorded.
 */
export const RunReferenceCodec = t.type({
  framework: oneOf(REFERENCE_FRAMEWORKS),
  version: t.string,
  script: withDefault(t.union([t.string, t.null]), null),
  code: withDefault(oneOf(REFERENCE_CODES, '"ours" or "seed"'), 'ours'),
  parameters: withDefault(named(t.union([t.null, int(1)]), 'null or an integer ≥ 1'), null),
});
export type RunReference = Readonly<t.TypeOf<typeof RunReferenceCodec>>;

const settingsProps = {
  format: named(t.literal(RUN_FORMAT), `"${RUN_FORMAT}"`),
  protocol: oneOf(['default', 'seed'] as const, '"default" or "seed"'),
  variant: oneOf(DEPTHS),
  version: oneOf(VERSIONS, `one of ${VERSIONS.join(', ')}`),
  stem: oneOf(['imagenet', 'small'] as const, '"imagenet" or "small"'),
  /** Planned epochs (raised by `--resume --epochs=N`). */
  epochs: int(1),
  batchSize: int(1),
  schedule: ScheduleCodec,
  momentum: finite,
  nesterov: named(t.boolean, 'true or false'),
  weightDecay: finite,
  labelSmoothing: finite,
  imageSize: int(1),
  augment: named(t.type({ crop: t.boolean, flip: t.boolean }), '{ "crop": true|false, "flip": true|false }'),
  // Runs made before zero-init was recorded did not use it.
  zeroInitResidual: lenient(t.literal(true), false),
  trainLimit: named(t.union([t.null, int(1)]), 'null or an integer ≥ 1'),
  testLimit: named(t.union([t.null, int(1)]), 'null or an integer ≥ 1'),
  seed: finite,
  classes: int(1),
  /** The largest global gradient norm of a step (`--clip-norm`); null: no clipping, as in runs made before it existed. */
  clipNorm: withDefault(named(t.union([t.null, positive]), 'null or a number > 0'), null),
  /** What convolutions computed in (`--precision`); runs made before it was recorded are fp32. */
  precision: withDefault(oneOf(PRECISIONS, PRECISIONS.map((p) => `"${p}"`).join(' or ')), 'fp32'),
};

/** Everything that defines a run: the settings train:serve writes to config.json. */
export const RunSettingsCodec = t.type(settingsProps);
export type RunSettings = Readonly<t.TypeOf<typeof RunSettingsCodec>>;

/**
 * A run's config.json as train:serve writes it: the settings plus bookkeeping (null where an
 * older run lacks it, or holds something else there).
 */
export const RunConfigCodec = named(
  t.exact(
    t.type({
      ...settingsProps,
      createdAt: lenient(t.string, null),
      backend: lenient(RunBackendCodec, null),
      machine: lenient(RunMachineCodec, null),
      dataSource: lenient(t.string, null),
      /** The command that made the run, as recorded (`npx nx run train:serve …`; older runs: `train:serve …`). */
      command: lenient(t.string, null),
      /** Changes of the planned epochs by `--resume --epochs=N`, oldest first (empty if none). */
      replanned: withDefault(
        named(t.array(ReplanCodec), 'a list of { "afterEpoch", "afterStep", "from", "to", "at" } as train:serve --resume writes it'),
        [],
      ),
      /** Set when another framework made the run on our protocol (a reference); null for our runs. */
      reference: withDefault(
        named(
          t.union([t.null, RunReferenceCodec]),
          `absent, null or { "framework": ${REFERENCE_FRAMEWORKS.map((f) => `"${f}"`).join(' | ')}, "version": "…", "script": "…", "code": ${REFERENCE_CODES.map((c) => `"${c}"`).join(' | ')}, "parameters": N } as tools/torch_reference.py writes it`,
        ),
        null,
      ),
    }),
  ),
  'a JSON object',
);
export type RunConfig = Readonly<t.TypeOf<typeof RunConfigCodec>>;

/**
 * Checks a parsed config.json; `path` names the file in the error.
 * @example
 * parseRunConfig({ format: 'resnet-ts/run@1', variant: 35, … }, 'runs/a/config.json')
 * // Left('runs/a/config.json: "variant" must be one of 18, 34, 50, 101, 152, got 35: …')
 */
export function parseRunConfig(value: unknown, path: string): E.Either<string, RunConfig> {
  const fix = 'pass a run directory written by train:serve, or fix the file';
  const decoded = decode(RunConfigCodec, value);
  if (E.isLeft(decoded)) return E.left(`${path}: ${describeFailure(decoded.left)}: ${fix}`);
  const checked = checkSchedule(decoded.right.schedule);
  if (E.isLeft(checked)) return E.left(`${path}: "schedule": ${checked.left.message}`);
  return decoded;
}

/**
 * config.json's `replanned` list with one more change (a missing or malformed list counts as empty).
 * @example withReplan({ epochs: 1 }, { afterEpoch: 1, afterStep: 0, from: 1, to: 3, at: '…' }) // { epochs: 3, replanned: [{ afterEpoch: 1, … }] }
 */
export function withReplan<C extends { readonly epochs: number }>(
  config: C,
  change: Replan,
): C & { readonly replanned: readonly Replan[] } {
  const previous = (config as { readonly replanned?: unknown }).replanned;
  return { ...config, epochs: change.to, replanned: [...(Array.isArray(previous) ? (previous as Replan[]) : []), change] };
}
