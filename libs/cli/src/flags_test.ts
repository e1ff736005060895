import fc from 'fast-check';
import * as E from 'fp-ts/Either';
import { helpText, parseFlags, type Schema } from './flags.ts';

const schema = {
  input: { kind: 'int', min: 1, max: 4096, default: 224, help: 'input side' },
  lr: { kind: 'number', min: 0, default: 0.1, help: 'learning rate' },
  version: { kind: 'enum', values: ['v1', 'v1.5'], default: 'v1', help: 'version' },
  variants: { kind: 'intList', values: [18, 34, 50], default: [18, 34, 50], help: 'variants' },
  augment: { kind: 'bool', default: false, help: 'augment' },
  backends: { kind: 'enumList', values: ['onednn', 'cpu'], default: ['onednn'], help: 'backends' },
  out: { kind: 'string', default: null, help: 'run dir' },
} as const satisfies Schema;

function message(result: E.Either<{ _tag: string; message?: string }, unknown>): string {
  return E.isLeft(result) ? (result.left.message ?? result.left._tag) : 'accepted';
}

describe('parseFlags', () => {
  test('no arguments gives every default', () => {
    expect(parseFlags([], schema)).toEqual(
      E.right({ input: 224, lr: 0.1, version: 'v1', variants: [18, 34, 50], augment: false, backends: ['onednn'], out: null }),
    );
  });

  test('any in-range integer is accepted as --name=value and as --name value', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 4096 }), (n) => {
        expect(parseFlags([`--input=${n}`], schema)).toMatchObject(E.right({ input: n }));
        expect(parseFlags(['--input', `${n}`], schema)).toMatchObject(E.right({ input: n }));
      }),
    );
  });

  test('out-of-range, fractional and non-numeric values are rejected naming the flag and the range', () => {
    expect(message(parseFlags(['--input=0'], schema))).toBe('--input must be between 1 and 4096, got 0');
    expect(message(parseFlags(['--input=2.5'], schema))).toBe('--input must be an integer, got "2.5"');
    expect(message(parseFlags(['--lr=abc'], schema))).toBe('--lr must be a number, got "abc"');
    expect(message(parseFlags(['--lr=-1'], schema))).toBe('--lr must be ≥ 0, got -1');
  });

  test('enums, lists and switches accept exactly their values', () => {
    expect(parseFlags(['--version=v1.5', '--variants=50,18', '--augment'], schema)).toMatchObject(
      E.right({ version: 'v1.5', variants: [50, 18], augment: true }),
    );
    expect(message(parseFlags(['--version=v2'], schema))).toBe('--version must be one of v1, v1.5, got "v2"');
    expect(message(parseFlags(['--variants=18,35'], schema))).toBe('--variants takes a comma-separated list from 18, 34, 50, got "35"');
    expect(message(parseFlags(['--augment=yes'], schema))).toContain('is a switch');
    expect(parseFlags(['--backends=cpu,onednn,cpu'], schema)).toMatchObject(E.right({ backends: ['cpu', 'onednn'] }));
    expect(message(parseFlags(['--backends=cpu,gpu'], schema))).toBe('--backends takes a comma-separated list from onednn, cpu, got "gpu"');
  });

  test('unknown flags, repeated flags, missing values and stray words are rejected', () => {
    expect(message(parseFlags(['--variant=18'], schema))).toContain(
      'unknown flag --variant; did you mean --variants? expected one of --input, --lr',
    );
    expect(message(parseFlags(['--input=1', '--input=2'], schema))).toBe('--input is given twice');
    expect(message(parseFlags(['--out'], schema))).toContain('--out needs a value');
    expect(message(parseFlags(['224'], schema))).toContain('unexpected argument "224"');
  });

  test('--help wins wherever it appears', () => {
    expect(parseFlags(['--input=0', '--help'], schema)).toEqual(E.left({ _tag: 'Help' }));
    expect(parseFlags(['-h'], schema)).toEqual(E.left({ _tag: 'Help' }));
  });

  test('help text lists every flag with its default', () => {
    const text = helpText('table', 'Prints Table 1.', schema);
    for (const name of Object.keys(schema)) expect(text).toContain(`--${name}`);
    expect(text).toContain('(default: 224)');
    expect(text).toContain('--version=v1|v1.5');
  });
});

describe('switches', () => {
  test('take --flag, --flag=true|false and --flag true|false', () => {
    expect(parseFlags(['--augment', 'false', '--input=3'], schema)).toMatchObject(E.right({ augment: false, input: 3 }));
    expect(parseFlags(['--augment', 'true'], schema)).toMatchObject(E.right({ augment: true }));
    expect(parseFlags(['--augment', '--input=3'], schema)).toMatchObject(E.right({ augment: true }));
  });
});
