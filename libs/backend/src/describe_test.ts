import * as tf from '@tensorflow/tfjs';
import * as E from 'fp-ts/Either';
import { onednnStatus } from '@resnet/onednn';
import { describeBackend } from './describe.ts';
import { selectBackend } from './select.ts';
import { snapshot } from './_test_support.ts';

let restore: () => Promise<void>;
beforeAll(async () => {
  await tf.setBackend('cpu');
});
beforeEach(() => {
  restore = snapshot();
});
afterEach(async () => {
  await restore();
});

describe('describeBackend', () => {
  test('records the cpu backend, tfjs and Node versions as JSON-serialisable data', async () => {
    const chosen = await selectBackend('cpu');
    expect(E.isRight(chosen)).toBe(true);
    const description = describeBackend(E.isRight(chosen) ? chosen.right : undefined);
    expect(description).toEqual({ name: 'cpu', device: 'cpu (pure JS)', tfjsVersion: '4.22.0', node: process.version });
    expect(JSON.parse(JSON.stringify(description))).toEqual(description);
  });

  test("uses the selection's device while it is the active backend, and ignores a stale one", () => {
    expect(describeBackend({ name: 'cpu', device: 'cpu (custom)' }).device).toBe('cpu (custom)');
    expect(describeBackend({ name: 'tensorflow', device: 'cuda:0' }).device).toBe('cpu (pure JS)');
  });

  const status = onednnStatus();
  // CI builds the addon: there a missing addon is a failure, not a skip.
  if (!status.ok && process.env['CI'] !== 'true') console.warn(`SKIPPED: describeBackend's oneDNN info: ${status.reason}`);
  (status.ok || process.env['CI'] === 'true' ? test : test.skip)(
    'adds oneDNN info when the backend is onednn (needs the built addon; required when CI=true)',
    async () => {
      if (!status.ok) throw new Error(`the oneDNN addon did not load: ${status.reason}`);
      const chosen = await selectBackend('onednn');
      const description = describeBackend();
      expect(E.isRight(chosen) && description.device === chosen.right.device).toBe(true);
      expect(description.name).toBe('onednn');
      expect(description.onednn).toEqual(
        status.ok
          ? {
              ...status.info,
              loopsIsa: expect.stringMatching(/^(avx512f|avx2|baseline)$/), // which of the native loops' builds runs
              cacheEntries: expect.any(Number),
              arenaBytes: expect.any(Number),
            }
          : undefined,
      );
    },
  );
});
