// Shared by this lib's tests: a registered backend and small specs that train fast
// on the pure-JS cpu backend.
import * as tf from '@tensorflow/tfjs';
import { basic, bottleneck, network, type BlockKind } from '@resnet/variants';
import { weightSchema, type Layer, type Sequential } from '@resnet/spec';
import type { Model } from './model.ts';

/** Selects the backend named by TFJS_BACKEND (default cpu) and silences its Node banner. */
export async function useBackend(): Promise<void> {
  const name = process.env['TFJS_BACKEND'] ?? 'cpu';
  if (!(await tf.setBackend(name))) throw new Error(`tfjs backend "${name}" is not available`);
  (tf.backend() as unknown as { firstUse?: boolean }).firstUse = false;
}

/** A narrow ResNet of the given block kind: widths 4, 8, 16, 32 and one block per stage. */
export function tinyResNet(
  kind: BlockKind,
  options: {
    readonly strideOn?: '1x1' | '3x3';
    readonly stem?: 'imagenet' | 'small';
    readonly inChannels?: number;
    readonly classes?: number;
  } = {},
): Sequential {
  const stem =
    options.stem === 'imagenet'
      ? { kernel: 7, stride: 2, padding: 3, width: 4, pool: { kernel: 3, stride: 2, padding: 1 } }
      : { kernel: 3, stride: 1, padding: 1, width: 4, pool: null };
  return network(
    `tiny_${kind._tag.toLowerCase()}`,
    { block: kind, stem, stages: [4, 8, 16, 32].map((width, i) => ({ blocks: i === 1 ? 2 : 1, width, stride: i === 0 ? 1 : 2 })) },
    { inChannels: options.inChannels ?? 1, classes: options.classes ?? 10, strideOn: options.strideOn ?? '3x3' },
  );
}

export const TINY_KINDS: readonly BlockKind[] = [basic, bottleneck];

/** `model` with maps that note every key an interpreter reads, to compare with the weight schema. */
export function recording(model: Model): { readonly model: Model; readonly read: ReadonlySet<string> } {
  const read = new Set<string>();
  const spy = (vars: ReadonlyMap<string, tf.Variable>): ReadonlyMap<string, tf.Variable> => {
    const noted = new Map(vars);
    noted.get = (key: string) => {
      read.add(key);
      return vars.get(key);
    };
    return noted;
  };
  return { model: { spec: model.spec, params: spy(model.params), state: spy(model.state) }, read };
}

/** The weight schema of `net` as `name [shape]` rows, for the trainable (`true`) or state (`false`) tensors, or all. */
export function schemaRows(net: Layer, trainable?: boolean): string[] {
  return weightSchema(net)
    .filter((w) => trainable === undefined || w.trainable === trainable)
    .map((w) => `${w.name} [${w.shape.join(',')}]`);
}

/** Named tensors as `name [shape]` rows, in their order. */
export function tensorRows(tensors: Iterable<readonly [string, { readonly shape: readonly number[] }]>): string[] {
  return [...tensors].map(([name, t]) => `${name} [${t.shape.join(',')}]`);
}
