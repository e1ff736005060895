/**
 * A small, documented on-disk format for named float32 tensors, used for
 * checkpoints and saved models:
 *
 *     <dir>/manifest.json   { "format": "resnet-ts/tensors@1", "meta": {…},
 *                             "tensors": [{ "group": "params", "key": "resnet18.conv1.conv/weight",
 *                                           "shape": [3, 3, 1, 64], "offset": 0 }, …] }
 *     <dir>/weights.bin     every tensor's float32 values, little-endian, row-major,
 *                           concatenated; `offset` is in values (not bytes)
 *
 * Weight layouts are tfjs's: conv `[kh, kw, in, out]`, dense `[in, out]`.
 * A directory is written under a temporary name and renamed into place, so a reader
 * (or a resumed run) never sees a half-written one.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { replaceDirectory } from '@resnet/files';
import * as E from 'fp-ts/Either';
import * as tf from '@tensorflow/tfjs';

/** Format tag written to every manifest. */
export const TENSOR_FORMAT = 'resnet-ts/tensors@1';

/** Named groups of variables, e.g. `{ params, state, velocity }`. */
export type TensorGroups = Readonly<Record<string, ReadonlyMap<string, tf.Variable>>>;

interface ManifestEntry {
  readonly group: string;
  readonly key: string;
  readonly shape: readonly number[];
  readonly offset: number;
}

interface Manifest {
  readonly format: string;
  readonly meta: unknown;
  readonly tensors: readonly ManifestEntry[];
}

/**
 * Writes the groups and a JSON-serialisable `meta` to `dir` atomically (temp dir + rename).
 * An existing `dir` is replaced.
 * @example await saveTensors('runs/r/model', { params: model.params, state: model.state }, { spec })
 */
export async function saveTensors(dir: string, groups: TensorGroups, meta: unknown): Promise<void> {
  const entries: ManifestEntry[] = [];
  const chunks: Float32Array[] = [];
  let offset = 0;
  for (const [group, vars] of Object.entries(groups)) {
    for (const [key, v] of vars) {
      const values = (await v.data()) as Float32Array;
      entries.push({ group, key, shape: v.shape, offset });
      chunks.push(values);
      offset += values.length;
    }
  }
  // Written tensor by tensor: no second copy of the whole model in memory.
  const parts = chunks.map((c) => new Uint8Array(c.buffer, c.byteOffset, c.byteLength));
  mkdirSync(dirname(dir), { recursive: true });
  replaceDirectory(dir, new Map<string, string | readonly Uint8Array[]>([
    ['weights.bin', parts],
    ['manifest.json', `${JSON.stringify({ format: TENSOR_FORMAT, meta, tensors: entries } satisfies Manifest, null, 1)}\n`],
  ]));
}

/** Values read back from a tensor directory. */
export interface LoadedTensors {
  readonly meta: unknown;
  readonly groups: ReadonlyMap<string, ReadonlyMap<string, { readonly shape: readonly number[]; readonly values: Float32Array }>>;
}

/**
 * Reads a directory written by {@link saveTensors}; errors name the file and the problem.
 * @example const loaded = readTensors('runs/r/model') // Right({ meta, groups })
 */
export function readTensors(dir: string): E.Either<string, LoadedTensors> {
  const manifestPath = join(dir, 'manifest.json');
  const weightsPath = join(dir, 'weights.bin');
  let manifest: Manifest;
  let bytes: Uint8Array;
  try {
    manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as Manifest;
  } catch (e) {
    return E.left(`cannot read ${manifestPath}: ${(e as Error).message}`);
  }
  try {
    const raw = readFileSync(weightsPath);
    bytes = new Uint8Array(raw.buffer as ArrayBuffer, raw.byteOffset, raw.byteLength);
  } catch (e) {
    return E.left(`cannot read ${weightsPath}: ${(e as Error).message}`);
  }
  if (typeof manifest !== 'object' || manifest === null || manifest.format !== TENSOR_FORMAT || !Array.isArray(manifest.tensors)) return E.left(`${manifestPath} is not a ${TENSOR_FORMAT} manifest`);
  if (bytes.byteLength % 4 !== 0) return E.left(`${weightsPath} is truncated: ${bytes.byteLength} bytes is not a whole number of float32 values`);
  const all = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
  const groups = new Map<string, Map<string, { shape: readonly number[]; values: Float32Array }>>();
  let expected = 0;
  for (const [i, t] of (manifest.tensors as unknown[] as ManifestEntry[]).entries()) {
    const valid = typeof t === 'object' && t !== null && typeof t.group === 'string' && typeof t.key === 'string' && Array.isArray(t.shape) && t.shape.every((d) => Number.isInteger(d) && d >= 0) && Number.isInteger(t.offset) && t.offset >= 0;
    if (!valid) return E.left(`${manifestPath}: tensors[${i}] is not a {group, key, shape, offset} entry`);
    const size = t.shape.reduce((a: number, b: number) => a * b, 1);
    expected = Math.max(expected, t.offset + size);
    if (t.offset + size > all.length) return E.left(`${weightsPath} is truncated: tensor "${t.key}" needs values up to ${t.offset + size}, the file has ${all.length}`);
    const group = groups.get(t.group) ?? new Map();
    group.set(t.key, { shape: t.shape, values: all.subarray(t.offset, t.offset + size) });
    groups.set(t.group, group);
  }
  if (all.length !== expected) return E.left(`${weightsPath} does not match ${manifestPath}: the manifest describes ${expected} values, the file holds ${all.length}`);
  return E.right({ meta: manifest.meta, groups });
}

/**
 * A saved model's tensors (params and batch-norm state) by key, without building a model:
 * what the exporters take.
 * @example modelTensors('runs/r/model') // Right(Map { 'resnet18.conv1.conv/weight' => { shape, values }, … })
 */
export function modelTensors(dir: string): E.Either<string, ReadonlyMap<string, { readonly shape: readonly number[]; readonly values: Float32Array }>> {
  const loaded = readTensors(dir);
  if (E.isLeft(loaded)) return loaded;
  return E.right(new Map([...(loaded.right.groups.get('params') ?? []), ...(loaded.right.groups.get('state') ?? [])]));
}

/**
 * Assigns loaded values to variables, requiring exactly the same keys and shapes.
 * @example assignTensors(model.params, loaded.groups.get('params'), 'params')
 */
export function assignTensors(
  target: ReadonlyMap<string, tf.Variable>,
  source: ReadonlyMap<string, { readonly shape: readonly number[]; readonly values: Float32Array }> | undefined,
  group: string,
): E.Either<string, void> {
  if (source === undefined) return E.left(`the saved file has no "${group}" tensors`);
  for (const [key, v] of target) {
    const s = source.get(key);
    if (s === undefined) return E.left(`the saved ${group} have no tensor "${key}": was it saved from another variant or version?`);
    if (s.shape.join(',') !== v.shape.join(',')) return E.left(`saved ${group} tensor "${key}" has shape [${s.shape.join(', ')}], the model expects [${v.shape.join(', ')}]`);
  }
  const extra = [...source.keys()].find((k) => !target.has(k));
  if (extra !== undefined) return E.left(`the saved ${group} have a tensor "${extra}" that the model does not: was it saved from another variant or version?`);
  for (const [key, v] of target) {
    const s = source.get(key);
    if (s !== undefined) tf.tidy(() => v.assign(tf.tensor(s.values, [...s.shape])));
  }
  return E.right(undefined);
}

/**
 * Reads `dir` and assigns every named group into the given variables (same keys and
 * shapes required); returns the manifest's meta. Errors name the directory.
 * @example restoreTensors('runs/r/model', { params: model.params, state: model.state }) // Right(meta)
 */
export function restoreTensors(dir: string, targets: TensorGroups): E.Either<string, unknown> {
  const loaded = readTensors(dir);
  if (E.isLeft(loaded)) return loaded;
  for (const [group, target] of Object.entries(targets)) {
    const assigned = assignTensors(target, loaded.right.groups.get(group), group);
    if (E.isLeft(assigned)) return E.left(`${dir}: ${assigned.left}`);
  }
  return E.right(loaded.right.meta);
}
