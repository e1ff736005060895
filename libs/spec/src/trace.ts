/**
 * Shape inference and multiply-accumulate counting: one pure fold over a spec.
 *
 * Like ONNX's `infer_shapes`, it runs before any runtime and rejects invalid specs and
 * inputs with a {@link SpecError} naming the layer, instead of failing deep inside a
 * tensor library.
 */
import * as E from 'fp-ts/Either';
import { absurd, pipe } from 'fp-ts/function';
import { childPath, children, isLeaf, type Layer, type Leaf } from './layer.ts';
import { isIntAtLeast, outputSize } from './output_size.ts';
import { specError, type SpecError } from './spec_error.ts';

/** A tensor shape: `[N, H, W, C]` for images, `[N, F]` for features. */
export type Shape = readonly number[];

/** What the fold found at one layer. */
export interface TraceEntry {
  /** Dotted path from the root (the root's path is its name). */
  readonly path: string;
  /** Nesting depth: 0 for the root, 1 for its children, … */
  readonly depth: number;
  readonly layer: Layer;
  readonly input: Shape;
  readonly output: Shape;
  /**
   * Multiply-accumulates for ONE example in this layer and all layers inside it:
   * convolution and dense multiply-adds only (batch norm, ReLU, pooling and
   * additions count 0), which is what the ResNet paper reports as "FLOPs".
   */
  readonly macs: number;
}

/** The whole fold: the output shape, total MACs and one entry per layer (children before parents). */
export interface Trace {
  readonly output: Shape;
  readonly macs: number;
  readonly entries: readonly TraceEntry[];
}

/**
 * Infers every layer's output shape and MACs for an input batch shape.
 * @example
 * trace(resnet18Net, [1, 224, 224, 3]) // Right({ output: [1, 1000], macs: 1814073344, … })
 */
export function trace(layer: Layer, input: Shape): E.Either<SpecError, Trace> {
  return pipe(
    checkInput(input),
    E.flatMap(() => visit(layer, layer.name, 0, input)),
    E.map(({ output, macs, entries }) => ({ output, macs, entries })),
  );
}

/**
 * Only the output shape.
 * @example inferShape(dense('fc', { inFeatures: 4, outFeatures: 2 }), [8, 4]) // Right([8, 2])
 */
export function inferShape(layer: Layer, input: Shape): E.Either<SpecError, Shape> {
  return pipe(
    trace(layer, input),
    E.map((t) => t.output),
  );
}

/**
 * Only the MACs for one example.
 * @example countMacs(conv2d('c', { inChannels: 1, outChannels: 1, kernel: 3, padding: 1 }), [1, 4, 4, 1]) // Right(144)
 */
export function countMacs(layer: Layer, input: Shape): E.Either<SpecError, number> {
  return pipe(
    trace(layer, input),
    E.map((t) => t.macs),
  );
}

function checkInput(input: Shape): E.Either<SpecError, Shape> {
  if ((input.length !== 2 && input.length !== 4) || !input.every((d) => isIntAtLeast(d, 1))) {
    return E.left(
      specError(
        'InvalidInput',
        '',
        `input shape [${input.join(', ')}] is invalid: expected [N, H, W, C] or [N, F] with positive integer sizes`,
      ),
    );
  }
  return E.right(input);
}

interface Visited {
  readonly output: Shape;
  readonly macs: number;
  readonly entries: readonly TraceEntry[];
}

function visit(layer: Layer, path: string, depth: number, input: Shape): E.Either<SpecError, Visited> {
  return pipe(
    checkName(layer, path),
    E.flatMap(() => checkSiblings(layer, path)),
    E.flatMap(() => visitBody(layer, path, depth, input)),
    E.map((body) => ({ ...body, entries: [...body.entries, { path, depth, layer, input, output: body.output, macs: body.macs }] })),
  );
}

function visitBody(layer: Layer, path: string, depth: number, input: Shape): E.Either<SpecError, Visited> {
  if (isLeaf(layer)) {
    return pipe(
      leaf(layer, path, input),
      E.map(({ output, macs }) => ({ output, macs, entries: [] })),
    );
  }
  switch (layer._tag) {
    case 'Sequential':
      return chain(layer.layers, path, depth + 1, input);
    case 'Residual':
      return pipe(
        E.Do,
        E.bind('main', () =>
          layer.main.length === 0
            ? E.left(specError('InvalidLayer', path, 'a residual unit needs at least one main layer'))
            : chain(layer.main, path, depth + 1, input),
        ),
        E.bind('shortcut', () => chain(layer.shortcut, path, depth + 1, input)),
        E.flatMap(({ main, shortcut }) =>
          sameShape(main.output, shortcut.output)
            ? E.right({ output: main.output, macs: main.macs + shortcut.macs, entries: [...main.entries, ...shortcut.entries] })
            : E.left(
                specError(
                  'ShapeMismatch',
                  path,
                  `main branch gives [${main.output.join(', ')}] but the shortcut gives [${shortcut.output.join(', ')}]; add a projection shortcut (1×1 conv with the main branch's stride and output channels)`,
                ),
              ),
        ),
      );
    default:
      return absurd(layer);
  }
}

function chain(layers: readonly Layer[], parent: string, depth: number, input: Shape): E.Either<SpecError, Visited> {
  return layers.reduce<E.Either<SpecError, Visited>>(
    (acc, layer) =>
      pipe(
        acc,
        E.flatMap((before) =>
          pipe(
            visit(layer, childPath(parent, layer.name), depth, before.output),
            E.map((v) => ({ output: v.output, macs: before.macs + v.macs, entries: [...before.entries, ...v.entries] })),
          ),
        ),
      ),
    E.right({ output: input, macs: 0, entries: [] }),
  );
}

function leaf(layer: Leaf, path: string, input: Shape): E.Either<SpecError, { output: Shape; macs: number }> {
  switch (layer._tag) {
    case 'Conv2d': {
      const bad = firstInvalid(path, [
        ['inChannels', layer.inChannels, 1],
        ['outChannels', layer.outChannels, 1],
        ['kernel', layer.kernel, 1],
        ['stride', layer.stride, 1],
        ['padding', layer.padding, 0],
      ]);
      if (bad) return E.left(bad);
      return pipe(
        image(path, input),
        E.flatMap((x) =>
          pipe(
            channels(path, layer.inChannels, x.c),
            E.flatMap(() => spatial(path, layer, x.h, x.w)),
          ),
        ),
        E.map(([h, w]) => ({
          output: [input[0] ?? 1, h, w, layer.outChannels],
          macs: h * w * layer.outChannels * layer.kernel * layer.kernel * layer.inChannels,
        })),
      );
    }
    case 'MaxPool': {
      const bad = firstInvalid(path, [
        ['kernel', layer.kernel, 1],
        ['stride', layer.stride, 1],
        ['padding', layer.padding, 0],
      ]);
      if (bad) return E.left(bad);
      if (layer.padding * 2 > layer.kernel) {
        return E.left(
          specError(
            'InvalidLayer',
            path,
            `padding ${layer.padding} is more than half the kernel ${layer.kernel}; use padding ≤ ${Math.floor(layer.kernel / 2)}`,
          ),
        );
      }
      return pipe(
        image(path, input),
        E.flatMap((x) =>
          pipe(
            spatial(path, layer, x.h, x.w),
            E.map(([h, w]) => ({ output: [input[0] ?? 1, h, w, x.c], macs: 0 })),
          ),
        ),
      );
    }
    case 'BatchNorm': {
      const bad = firstInvalid(path, [['channels', layer.channels, 1]]);
      if (bad) return E.left(bad);
      if (!(layer.epsilon > 0) || !(layer.momentum >= 0 && layer.momentum <= 1)) {
        return E.left(
          specError(
            'InvalidLayer',
            path,
            `epsilon must be > 0 and momentum in [0, 1], got epsilon ${layer.epsilon} and momentum ${layer.momentum}`,
          ),
        );
      }
      return pipe(
        channels(path, layer.channels, input[input.length - 1] ?? 0),
        E.map(() => ({ output: input, macs: 0 })),
      );
    }
    case 'Relu':
      return E.right({ output: input, macs: 0 });
    case 'GlobalAvgPool':
      return pipe(
        image(path, input),
        E.map((x) => ({ output: [input[0] ?? 1, x.c], macs: 0 })),
      );
    case 'Dense': {
      const bad = firstInvalid(path, [
        ['inFeatures', layer.inFeatures, 1],
        ['outFeatures', layer.outFeatures, 1],
      ]);
      if (bad) return E.left(bad);
      if (input.length !== 2) {
        return E.left(
          specError(
            'ShapeMismatch',
            path,
            `expects features [N, ${layer.inFeatures}] but receives [${input.join(', ')}]; put a global average pool before it`,
          ),
        );
      }
      return pipe(
        channels(path, layer.inFeatures, input[1] ?? 0),
        E.map(() => ({ output: [input[0] ?? 1, layer.outFeatures], macs: layer.inFeatures * layer.outFeatures })),
      );
    }
    default:
      return absurd(layer);
  }
}

function image(path: string, input: Shape): E.Either<SpecError, { h: number; w: number; c: number }> {
  const [, h, w, c] = input;
  if (input.length !== 4 || h === undefined || w === undefined || c === undefined) {
    return E.left(specError('ShapeMismatch', path, `expects an image batch [N, H, W, C] but receives [${input.join(', ')}]`));
  }
  return E.right({ h, w, c });
}

function channels(path: string, expected: number, got: number): E.Either<SpecError, number> {
  return expected === got
    ? E.right(got)
    : E.left(
        specError(
          'ChannelMismatch',
          path,
          `expects ${expected} input channels but receives ${got}; make the previous layer output ${expected} or set this layer's input to ${got}`,
        ),
      );
}

function spatial(
  path: string,
  layer: { readonly kernel: number; readonly stride: number; readonly padding: number },
  h: number,
  w: number,
): E.Either<SpecError, readonly [number, number]> {
  const oh = outputSize(h, layer);
  const ow = outputSize(w, layer);
  return oh >= 1 && ow >= 1
    ? E.right([oh, ow])
    : E.left(
        specError(
          'InputTooSmall',
          path,
          `a ${h}×${w} input with kernel ${layer.kernel}, stride ${layer.stride}, padding ${layer.padding} leaves no output; use a larger input or more padding`,
        ),
      );
}

function firstInvalid(path: string, fields: readonly (readonly [string, number, number])[]): SpecError | undefined {
  const bad = fields.find(([, value, min]) => !isIntAtLeast(value, min));
  return bad === undefined ? undefined : specError('InvalidLayer', path, `${bad[0]} must be an integer ≥ ${bad[2]}, got ${bad[1]}`);
}

function checkName(layer: Layer, path: string): E.Either<SpecError, Layer> {
  return layer.name === '' || layer.name.includes('.')
    ? E.left(specError('InvalidLayer', path, `layer name ${JSON.stringify(layer.name)} must be non-empty and contain no "."`))
    : E.right(layer);
}

function checkSiblings(layer: Layer, path: string): E.Either<SpecError, Layer> {
  const names = children(layer).map((c) => c.name);
  const duplicate = names.find((name, i) => names.indexOf(name) !== i);
  return duplicate === undefined
    ? E.right(layer)
    : E.left(specError('DuplicateName', path, `two children are named ${JSON.stringify(duplicate)}; sibling names must be unique`));
}

function sameShape(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}
