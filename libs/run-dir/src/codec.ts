/**
 * The building blocks of the run directory's records. Each record is an io-ts codec — one value
 * that validates a parsed JSON value and gives its type (`t.TypeOf`) — named so that a failure
 * reads as a sentence: `"variant" must be one of 18, 34, 50, 101, 152, got 35`. Readers decode
 * at the boundary with {@link decode} and work with plain typed values inside.
 */
import * as t from 'io-ts';
import * as E from 'fp-ts/Either';

/**
 * `codec` under another name: the name is what a failure says the value "must be". (Name an
 * intersection with `t.intersection(codecs, name)` instead: a wrapper hides its members from {@link decode}.)
 * @example named(t.string, 'the run\'s creation time').name // "the run's creation time"
 */
export function named<A, O>(codec: t.Type<A, O, unknown>, name: string): t.Type<A, O, unknown> {
  return new t.Type(name, codec.is, (u, c) => codec.validate(u, c), codec.encode);
}

function check<A>(name: string, is: (u: unknown) => u is A): t.Type<A, A, unknown> {
  return new t.Type<A, A, unknown>(name, is, (u, c) => (is(u) ? t.success(u) : t.failure(u, c)), t.identity);
}

/**
 * A finite number (JSON has no NaN or Infinity, but a hand-edited file may hold a string).
 * @example finite.is(0.25) // true
 */
export const finite = check('a number', (u): u is number => typeof u === 'number' && Number.isFinite(u));

/**
 * A finite number > 0.
 * @example positive.is(0) // false
 */
export const positive = check('a number > 0', (u): u is number => typeof u === 'number' && Number.isFinite(u) && u > 0);

/**
 * A whole number ≥ `min`.
 * @example int(1).is(0) // false
 */
export function int(min: number, name = `an integer ≥ ${min}`): t.Type<number, number, unknown> {
  return check(name, (u): u is number => typeof u === 'number' && Number.isInteger(u) && u >= min);
}

/**
 * A string that `pattern` matches.
 * @example matching(/^[a-z]+$/, 'a lower-case word').is('abc') // true
 */
export function matching(pattern: RegExp, name: string): t.Type<string, string, unknown> {
  return check(name, (u): u is string => typeof u === 'string' && pattern.test(u));
}

/**
 * One of the listed values, typed as their union.
 * @example oneOf([18, 34] as const).is(34) // true
 */
export function oneOf<T extends string | number | boolean>(values: readonly T[], name?: string): t.Type<T, T, unknown> {
  const listed = name ?? `one of ${values.map((v) => (typeof v === 'string' ? `"${v}"` : String(v))).join(', ')}`;
  return check(listed, (u): u is T => (values as readonly unknown[]).includes(u));
}

/**
 * `codec`, or `fallback` where the field is absent (a record written before the field existed).
 * @example withDefault(t.array(t.string), []).decode(undefined) // Right([])
 */
export function withDefault<A, O>(codec: t.Type<A, O, unknown>, fallback: A): t.Type<A, O, unknown> {
  return new t.Type(codec.name, codec.is, (u, c) => (u === undefined ? t.success(fallback) : codec.validate(u, c)), codec.encode);
}

/**
 * `codec`, or `fallback` for any value it does not accept: for bookkeeping a reader can do
 * without (what machine made a run), never for a setting that changes what a run is.
 * @example lenient(t.string, null).decode(42) // Right(null)
 */
export function lenient<A, O, F>(codec: t.Type<A, O, unknown>, fallback: F): t.Type<A | F, O | F, unknown> {
  return new t.Type<A | F, O | F, unknown>(
    codec.name,
    (u): u is A | F => codec.is(u) || u === fallback,
    (u) => {
      const r = codec.validate(u, []);
      return t.success(E.isRight(r) ? r.right : fallback);
    },
    (a) => (a === fallback ? (fallback as F) : codec.encode(a as A)),
  );
}

/** Why a value is not the record: the top-level field (`(the whole file)` for the value itself), what it must be, what it is. */
export interface DecodeFailure {
  readonly field: string;
  readonly expected: string;
  readonly got: unknown;
}

/**
 * Decodes `value` with `codec`; on failure, the first failing top-level field and its codec's
 * name (`whole` names the value itself, when it is not even the right kind of value).
 * @example decode(t.type({ epoch: int(1) }), { epoch: 0 }) // Left({ field: 'epoch', expected: 'an integer ≥ 1', got: 0 })
 */
export function decode<A, O>(codec: t.Type<A, O, unknown>, value: unknown, whole = '(the whole file)'): E.Either<DecodeFailure, A> {
  const result = codec.decode(value);
  if (E.isRight(result)) return result;
  const first = result.left[0];
  // The context runs from the root to the failing value; intersections add a level of their own.
  const levels = (first?.context ?? []).filter(
    (_entry, i, all) => i > 0 && (all[i - 1]?.type as { _tag?: string } | undefined)?._tag !== 'IntersectionType',
  );
  const field = levels[0];
  if (field === undefined) return E.left({ field: whole, expected: codec.name, got: value });
  return E.left({ field: field.key, expected: field.type.name, got: field.actual });
}

/**
 * A failure in words: `"epoch" must be an integer ≥ 1, got 0` (long values cut at 120 characters).
 * @example describeFailure({ field: 'epoch', expected: 'an integer ≥ 1', got: 0 }) // '"epoch" must be an integer ≥ 1, got 0'
 */
export function describeFailure(f: DecodeFailure): string {
  return `"${f.field}" must be ${f.expected}, got ${JSON.stringify(f.got)?.slice(0, 120) ?? 'nothing'}`;
}

/**
 * Parses JSON text, then decodes it; a failure is one sentence (not JSON, or the field).
 * @example decodeJson(t.type({ a: t.number }), '{"a":1}') // Right({ a: 1 })
 */
export function decodeJson<A, O>(codec: t.Type<A, O, unknown>, text: string): E.Either<string, A> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    return E.left(`not valid JSON (${(e as Error).message})`);
  }
  return E.mapLeft(describeFailure)(decode(codec, value));
}
