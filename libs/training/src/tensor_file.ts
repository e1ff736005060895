/**
 * The glue between tfjs variables and the run directory's tensor folders (@resnet/run-dir
 * `writeTensors`/`readTensors`, plain `Float32Array`s): reading variables out to save them, and
 * assigning saved arrays back into a model's variables with keys and shapes checked.
 */
import * as E from 'fp-ts/Either';
import * as tf from '@tensorflow/tfjs';
import { lendValues } from '@resnet/backend';
import { readTensors, writeTensors, type NamedTensor, type TensorGroups, type TensorMap } from '@resnet/run-dir';

/** Named groups of variables, e.g. `{ params, state, velocity }`. */
export type VariableGroups = Readonly<Record<string, ReadonlyMap<string, tf.Variable>>>;

/**
 * The variables' values, to be written at once: their storage itself, no copy and, on onednn,
 * still the backend's to reuse (`lendValues`), so a checkpoint costs no second copy of the model
 * and leaves no arrays behind for the garbage collector. Valid until the next tfjs operation.
 * @example writeCheckpoint(dir, lentTensors({ params: model.params }), progress)
 */
export function lentTensors(groups: VariableGroups): TensorGroups {
  const out: Record<string, Map<string, NamedTensor>> = {};
  for (const [group, vars] of Object.entries(groups)) {
    const map = new Map<string, NamedTensor>();
    for (const [key, v] of vars) map.set(key, { shape: v.shape, values: lendValues(v) });
    out[group] = map;
  }
  return out;
}

/**
 * Writes the variables and a JSON-serialisable `meta` to the tensor folder `dir` (atomically).
 * @example saveTensors('runs/r/model', { params: model.params, state: model.state }, { spec })
 */
export function saveTensors(dir: string, groups: VariableGroups, meta: unknown): void {
  writeTensors(dir, lentTensors(groups), meta);
}

/**
 * Assigns loaded values to variables, requiring exactly the same keys and shapes.
 * @example assignTensors(model.params, loaded.groups.get('params'), 'params')
 */
export function assignTensors(
  target: ReadonlyMap<string, tf.Variable>,
  source: TensorMap | undefined,
  group: string,
): E.Either<string, void> {
  if (source === undefined) return E.left(`the saved file has no "${group}" tensors`);
  for (const [key, v] of target) {
    const s = source.get(key);
    if (s === undefined) return E.left(`the saved ${group} have no tensor "${key}": was it saved from another variant or version?`);
    if (s.shape.join(',') !== v.shape.join(','))
      return E.left(`saved ${group} tensor "${key}" has shape [${s.shape.join(', ')}], the model expects [${v.shape.join(', ')}]`);
  }
  const extra = [...source.keys()].find((k) => !target.has(k));
  if (extra !== undefined)
    return E.left(`the saved ${group} have a tensor "${extra}" that the model does not: was it saved from another variant or version?`);
  for (const [key, v] of target) {
    const s = source.get(key);
    if (s !== undefined) tf.tidy(() => v.assign(tf.tensor(s.values, [...s.shape])));
  }
  return E.right(undefined);
}

/**
 * Assigns every named group of `loaded` into the given variables (same keys and shapes required).
 * @example assignGroups('runs/r/model', loaded.groups, { params: model.params, state: model.state }) // Right(undefined)
 */
export function assignGroups(dir: string, loaded: ReadonlyMap<string, TensorMap>, targets: VariableGroups): E.Either<string, void> {
  for (const [group, target] of Object.entries(targets)) {
    const assigned = assignTensors(target, loaded.get(group), group);
    if (E.isLeft(assigned)) return E.left(`${dir}: ${assigned.left}`);
  }
  return E.right(undefined);
}

/**
 * Reads the tensor folder `dir` and assigns every named group into the given variables;
 * returns the manifest's meta. Errors name the folder.
 * @example restoreTensors('runs/r/model', { params: model.params, state: model.state }) // Right(meta)
 */
export function restoreTensors(dir: string, targets: VariableGroups): E.Either<string, unknown> {
  const loaded = readTensors(dir);
  if (E.isLeft(loaded)) return loaded;
  const assigned = assignGroups(dir, loaded.right.groups, targets);
  return E.isLeft(assigned) ? assigned : E.right(loaded.right.meta);
}
