/**
 * The architecture explorer's numbers: Table 1 for one choice of depth, version, stem,
 * input size, channels and classes, with parameters and MACs per stage. Pure, and built
 * only from @resnet/spec and @resnet/variants, so the browser computes exactly what the
 * table app prints.
 */
import * as E from 'fp-ts/Either';
import { pipe } from 'fp-ts/function';
import { countParams, trace } from '@resnet/spec';
import { resnet, summarize, type Depth, type StageSummary, type StemName, type Version } from '@resnet/variants';

/** What the visitor picks. */
export interface Choice {
  readonly depth: Depth;
  readonly version: Version;
  readonly stem: StemName;
  /** Input height and width in pixels. */
  readonly input: number;
  readonly channels: number;
  readonly classes: number;
}

/** One row group of the explorer's table: Table 1's stage plus its own counts. */
export interface ExplorerStage extends StageSummary {
  /** Trainable parameters inside the stage. */
  readonly params: number;
  /** Multiply-accumulates of the stage for one image. */
  readonly macs: number;
}

/** Table 1 for one choice. */
export interface Explored {
  readonly choice: Choice;
  readonly stages: readonly ExplorerStage[];
  /** Trainable parameters of the whole network. */
  readonly params: number;
  readonly nonTrainableParams: number;
  /** Multiply-accumulates for one image. */
  readonly macs: number;
  readonly weightedLayers: number;
}

/** The paper's setting: ResNet-50 v1 at 224×224×3, 1000 classes. */
export const PAPER_CHOICE: Choice = { depth: 50, version: 'v1', stem: 'imagenet', input: 224, channels: 3, classes: 1000 };

/**
 * Table 1 for `choice`, or the spec's own error message (e.g. an input size of 0).
 * @example explore({ ...PAPER_CHOICE, depth: 18 }) // Right({ params: 11689512, macs: 1814073344, stages: [conv1, …, head] })
 * explore({ ...PAPER_CHOICE, input: 0 })  // Left('input shape [1, 0, 0, 3] is invalid: …')
 */
export function explore(choice: Choice): E.Either<string, Explored> {
  return pipe(
    resnet(choice.depth, { version: choice.version, stem: choice.stem, inChannels: choice.channels, classes: choice.classes }),
    E.flatMap((spec) =>
      pipe(
        E.Do,
        E.apS('summary', summarize(spec, choice.input)),
        E.apS('trace', trace(spec.net, [1, choice.input, choice.input, choice.channels])),
      ),
    ),
    E.map(({ summary, trace: t }) => {
      const top = t.entries.filter((e) => e.depth === 1);
      const stages = summary.stages.map((stage, i): ExplorerStage => {
        const entry = top[i];
        return { ...stage, params: entry === undefined ? 0 : countParams(entry.layer).trainable, macs: entry?.macs ?? 0 };
      });
      return {
        choice,
        stages,
        params: summary.params,
        nonTrainableParams: summary.nonTrainableParams,
        macs: summary.macs,
        weightedLayers: summary.weightedLayers,
      };
    }),
    E.mapLeft((e) => e.message),
  );
}
