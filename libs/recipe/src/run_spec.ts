/**
 * The network a run trains, from the settings that name it. Pure: the one place a run's
 * settings become a spec (training builds it, the report and web app describe it).
 */
import type * as E from 'fp-ts/Either';
import type { SpecError } from '@resnet/spec';
import { resnet, type Depth, type ResNetSpec, type Version } from '@resnet/variants';

/** The settings that pick a run's network. */
export interface NetworkSettings {
  readonly variant: Depth;
  readonly version: Version;
  readonly stem: 'imagenet' | 'small';
  readonly classes: number;
}

/**
 * The network a run trains: its variant, block version, stem and classes on 1-channel
 * Fashion-MNIST images.
 * @example runSpec({ variant: 18, version: 'v1.5', stem: 'imagenet', classes: 10 }) // Right(ResNet-18 spec)
 */
export function runSpec(settings: NetworkSettings): E.Either<SpecError, ResNetSpec> {
  return resnet(settings.variant, { version: settings.version, inChannels: 1, classes: settings.classes, stem: settings.stem });
}
