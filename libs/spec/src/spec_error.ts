/**
 * What is wrong with a spec or its input, and where. Every fold over a spec returns
 * `Either<SpecError, …>` instead of throwing.
 *
 * @example
 * // { _tag: 'ChannelMismatch', path: 'resnet18.conv2_x.1.conv1',
 * //   message: 'expects 64 input channels but receives 32 …' }
 */
export interface SpecError {
  readonly _tag:
    'InvalidInput' | 'InvalidLayer' | 'ChannelMismatch' | 'ShapeMismatch' | 'InputTooSmall' | 'DuplicateName' | 'UnknownVariant';
  /** Dotted path of the offending layer (`''` when the input or the request is at fault). */
  readonly path: string;
  /** One sentence: what is wrong and how to fix it. */
  readonly message: string;
}

/** Builds a {@link SpecError}; the message is prefixed with the path when there is one. */
export function specError(tag: SpecError['_tag'], path: string, message: string): SpecError {
  return { _tag: tag, path, message: path === '' ? message : `${path}: ${message}` };
}
