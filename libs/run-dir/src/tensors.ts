/**
 * A small, documented on-disk format for named float32 tensors, used for checkpoints and saved
 * models, as plain arrays (no tfjs: training converts its variables, exporters read arrays):
 *
 *     <dir>/manifest.json   { "format": "resnet-ts/tensors@1", "meta": {…},
 *                             "tensors": [{ "group": "params", "key": "resnet18.conv1.conv/weight",
 *                                           "shape": [3, 3, 1, 64], "offset": 0 }, …] }
 *     <dir>/weights.bin     every tensor's float32 values, little-endian, row-major,
 *                           concatenated; `offset` is in values (not bytes)
 *
 * Weight layouts are tfjs's: conv `[kh, kw, in, out]`, dense `[in, out]`. A folder is written
 * under a temporary name and renamed into place, so a reader (or a resumed run) never sees a
 * half-written one.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import * as t from 'io-ts';
import * as E from 'fp-ts/Either';
import { replaceDirectory } from '@resnet/files';
import { decodeJson, int, named } from './codec.ts';

/** Format tag written to every manifest. */
export const TENSOR_FORMAT = 'resnet-ts/tensors@1';

/** A tensor's shape and values. */
export interface NamedTensor {
  readonly shape: readonly number[];
  readonly values: Float32Array;
}

/** Tensors by key. */
export type TensorMap = ReadonlyMap<string, NamedTensor>;

/** Named groups of tensors, e.g. `{ params, state, velocity }`. */
export type TensorGroups = Readonly<Record<string, TensorMap>>;

/** One manifest entry. */
export const ManifestEntryCodec = t.type({ group: t.string, key: t.string, shape: t.array(int(0)), offset: int(0) });

/** manifest.json's record. */
export const ManifestCodec = t.type({
  format: named(t.literal(TENSOR_FORMAT), `"${TENSOR_FORMAT}"`),
  meta: t.unknown,
  tensors: named(t.array(ManifestEntryCodec), 'a list of { "group", "key", "shape", "offset" }'),
});
export type Manifest = Readonly<t.TypeOf<typeof ManifestCodec>>;

/**
 * Writes the groups and a JSON-serialisable `meta` to `dir` atomically (temp folder + rename),
 * tensor by tensor (no second copy of the whole model in memory). An existing `dir` is replaced.
 * @example writeTensors('runs/r/model', { params, state }, { spec })
 */
export function writeTensors(dir: string, groups: TensorGroups, meta: unknown): void {
  const tensors: t.TypeOf<typeof ManifestEntryCodec>[] = [];
  const parts: Uint8Array[] = [];
  let offset = 0;
  for (const [group, map] of Object.entries(groups)) {
    for (const [key, { shape, values }] of map) {
      tensors.push({ group, key, shape: [...shape], offset });
      parts.push(new Uint8Array(values.buffer, values.byteOffset, values.byteLength));
      offset += values.length;
    }
  }
  mkdirSync(dirname(dir), { recursive: true });
  const manifest: Manifest = { format: TENSOR_FORMAT, meta, tensors };
  replaceDirectory(
    dir,
    new Map<string, string | readonly Uint8Array[]>([
      ['weights.bin', parts],
      ['manifest.json', `${JSON.stringify(manifest, null, 1)}\n`],
    ]),
  );
}

/** Values read back from a tensor folder. */
export interface LoadedTensors {
  readonly meta: unknown;
  readonly groups: ReadonlyMap<string, TensorMap>;
}

/**
 * Reads a folder written by {@link writeTensors}; errors name the file and the problem.
 * @example readTensors('runs/r/model') // Right({ meta, groups })
 */
export function readTensors(dir: string): E.Either<string, LoadedTensors> {
  const manifestPath = join(dir, 'manifest.json');
  const weightsPath = join(dir, 'weights.bin');
  let text: string;
  let bytes: Uint8Array;
  try {
    text = readFileSync(manifestPath, 'utf8');
  } catch (e) {
    return E.left(`cannot read ${manifestPath}: ${(e as Error).message}`);
  }
  try {
    const raw = readFileSync(weightsPath);
    bytes = new Uint8Array(raw.buffer as ArrayBuffer, raw.byteOffset, raw.byteLength);
  } catch (e) {
    return E.left(`cannot read ${weightsPath}: ${(e as Error).message}`);
  }
  const manifest = decodeJson(ManifestCodec, text);
  if (E.isLeft(manifest)) return E.left(`${manifestPath} is not a ${TENSOR_FORMAT} manifest: ${manifest.left}`);
  if (bytes.byteLength % 4 !== 0)
    return E.left(`${weightsPath} is truncated: ${bytes.byteLength} bytes is not a whole number of float32 values`);
  // The file's own memory (no second copy of the whole file) where it is float-aligned, as Node
  // gives a file of over 4 KB a buffer of its own; a copy otherwise.
  const all =
    bytes.byteOffset % 4 === 0
      ? new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4)
      : new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
  const groups = new Map<string, Map<string, NamedTensor>>();
  let expected = 0;
  for (const entry of manifest.right.tensors) {
    const size = entry.shape.reduce((a, b) => a * b, 1);
    expected = Math.max(expected, entry.offset + size);
    if (entry.offset + size > all.length) {
      return E.left(
        `${weightsPath} is truncated: tensor "${entry.key}" needs values up to ${entry.offset + size}, the file has ${all.length}`,
      );
    }
    const group = groups.get(entry.group) ?? new Map<string, NamedTensor>();
    group.set(entry.key, { shape: entry.shape, values: all.subarray(entry.offset, entry.offset + size) });
    groups.set(entry.group, group);
  }
  if (all.length !== expected) {
    return E.left(`${weightsPath} does not match ${manifestPath}: the manifest describes ${expected} values, the file holds ${all.length}`);
  }
  return E.right({ meta: manifest.right.meta, groups });
}

/**
 * A saved model's tensors (params and batch-norm state) by key, without building a model:
 * what the exporters take.
 * @example modelTensors('runs/r/model') // Right(Map { 'resnet18.conv1.conv/weight' => { shape, values }, … })
 */
export function modelTensors(dir: string): E.Either<string, TensorMap> {
  const loaded = readTensors(dir);
  if (E.isLeft(loaded)) return loaded;
  return E.right(new Map([...(loaded.right.groups.get('params') ?? []), ...(loaded.right.groups.get('state') ?? [])]));
}
