import { defaultLoaders, firstLine, isMissingModule, shimIsNullOrUndefined } from './_loaders.ts';
import { notFound } from './_test_support.ts';

describe('isMissingModule', () => {
  test('the real require of an absent package is "not installed"', () => {
    const id = '@resnet/no-such-package-for-backend-tests';
    let thrown: unknown = null;
    try {
      defaultLoaders.require(id);
    } catch (e) {
      thrown = e;
    }
    expect(isMissingModule(thrown, id)).toBe(true);
  });

  test('a missing dependency of the package is not "the package is not installed"', () => {
    expect(isMissingModule(notFound('bindings'), '@tensorflow/tfjs-node')).toBe(false);
    expect(isMissingModule(new Error("Cannot find module '@tensorflow/tfjs-node'"), '@tensorflow/tfjs-node')).toBe(false);
    expect(isMissingModule('not an error', '@tensorflow/tfjs-node')).toBe(false);
  });
});

describe('shimIsNullOrUndefined', () => {
  test('installs a null/undefined test only where it is missing', () => {
    const util: Record<string, unknown> = {};
    expect(shimIsNullOrUndefined(util)).toBe(true);
    const shim = util['isNullOrUndefined'];
    expect(shimIsNullOrUndefined(util)).toBe(false);
    expect(util['isNullOrUndefined']).toBe(shim);
  });

  test("this Node's own util is left untouched when it still has the function", () => {
    const before = defaultLoaders.util['isNullOrUndefined'];
    const installed = shimIsNullOrUndefined(defaultLoaders.util);
    expect(installed).toBe(before === undefined);
    if (!installed) expect(defaultLoaders.util['isNullOrUndefined']).toBe(before);
    if (installed) delete defaultLoaders.util['isNullOrUndefined'];
  });
});

test('firstLine keeps only the first line of an error message', () => {
  expect(firstLine(new Error('a\nb'))).toBe('a');
  expect(firstLine('plain')).toBe('plain');
});
