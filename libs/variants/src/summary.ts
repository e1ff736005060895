/**
 * Table 1 regenerated from a spec: per-stage output sizes and block brackets,
 * parameters and MACs. Everything is read off the spec tree and its trace, never
 * restated from the paper.
 */
import * as E from 'fp-ts/Either';
import { absurd, pipe } from 'fp-ts/function';
import { children, countParams, trace, type Layer, type SpecError } from '@resnet/spec';
import type { Depth, ResNetSpec, Version } from './resnet.ts';
import type { StemName } from './family.ts';

/** One row group of Table 1: a top-level stage of the network. */
export interface StageSummary {
  /** `conv1`, `conv2_x`, …, `head`. */
  readonly name: string;
  /** Height and width of the stage's output feature map (`[1, 1]` for the head). */
  readonly outputSize: readonly [number, number];
  /** Layers outside residual blocks, e.g. `7×7, 64, stride 2` or `3×3 max pool, stride 2`. */
  readonly layers: readonly string[];
  /** Main-branch convolutions of the stage's first block, e.g. `['3×3, 64', '3×3, 64']` (empty if none). */
  readonly bracket: readonly string[];
  /** Residual blocks in the stage. */
  readonly blocks: number;
}

/** A variant as Table 1 describes it, plus counts. */
export interface VariantSummary {
  readonly depth: Depth;
  readonly version: Version;
  readonly stem: StemName;
  readonly inputSize: readonly [number, number];
  readonly inChannels: number;
  readonly classes: number;
  /** Trainable parameters. */
  readonly params: number;
  /** Batch-norm moving statistics. */
  readonly nonTrainableParams: number;
  /** Multiply-accumulates for one image (the paper's "FLOPs"). */
  readonly macs: number;
  /** Convolutions and fully connected layers on the main path: the "layers" in "ResNet-50". */
  readonly weightedLayers: number;
  readonly stages: readonly StageSummary[];
}

/**
 * Summarises a variant at a square input size.
 * @example summarize(spec, 224) // Right({ depth: 50, params: 25557032, macs: 3.86e9, stages: [...] })
 */
export function summarize(spec: ResNetSpec, inputSize: number): E.Either<SpecError, VariantSummary> {
  return pipe(
    trace(spec.net, [1, inputSize, inputSize, spec.inChannels]),
    E.map((t) => {
      const params = countParams(spec.net);
      const stages = t.entries
        .filter((e) => e.depth === 1)
        .map((e): StageSummary => {
          const kids = children(e.layer);
          const blocks = kids.filter((k) => k._tag === 'Residual');
          const first = blocks[0];
          return {
            name: e.layer.name,
            outputSize: e.output.length === 4 ? [e.output[1] ?? 0, e.output[2] ?? 0] : [1, 1],
            layers: kids.flatMap(describe),
            bracket:
              first?._tag === 'Residual'
                ? first.main.flatMap((l) => (l._tag === 'Conv2d' ? [`${l.kernel}×${l.kernel}, ${l.outChannels}`] : []))
                : [],
            blocks: blocks.length,
          };
        });
      return {
        depth: spec.depth,
        version: spec.version,
        stem: spec.stem,
        inputSize: [inputSize, inputSize] as const,
        inChannels: spec.inChannels,
        classes: spec.classes,
        params: params.trainable,
        nonTrainableParams: params.nonTrainable,
        macs: t.macs,
        weightedLayers: weightedLayers(spec.net),
        stages,
      };
    }),
  );
}

/**
 * Counts convolutions and dense layers outside projection shortcuts — the depth
 * the paper names a network by (ResNet-50 has 50).
 * @example weightedLayers(resnet50.net) // 50
 */
export function weightedLayers(layer: Layer): number {
  switch (layer._tag) {
    case 'Conv2d':
    case 'Dense':
      return 1;
    case 'Residual':
      return layer.main.reduce((n, l) => n + weightedLayers(l), 0);
    case 'Sequential':
      return children(layer).reduce((n, l) => n + weightedLayers(l), 0);
    case 'BatchNorm':
    case 'Relu':
    case 'MaxPool':
    case 'GlobalAvgPool':
      return 0;
    default:
      return absurd(layer);
  }
}

function describe(layer: Layer): readonly string[] {
  switch (layer._tag) {
    case 'Conv2d':
      return [`${layer.kernel}×${layer.kernel}, ${layer.outChannels}` + (layer.stride === 1 ? '' : `, stride ${layer.stride}`)];
    case 'MaxPool':
      return [`${layer.kernel}×${layer.kernel} max pool` + (layer.stride === 1 ? '' : `, stride ${layer.stride}`)];
    case 'GlobalAvgPool':
      return ['average pool'];
    case 'Dense':
      return [`${layer.outFeatures}-d fc`];
    case 'BatchNorm':
    case 'Relu':
    case 'Sequential':
    case 'Residual':
      return children(layer).flatMap(describe);
    default:
      return absurd(layer);
  }
}
