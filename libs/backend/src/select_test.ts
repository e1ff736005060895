import * as tf from '@tensorflow/tfjs';
import { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import * as E from 'fp-ts/Either';
import { onednnStatus } from '@resnet/onednn';
import { activePrecision, BACKEND_CHOICES, selectBackend, type BackendChoice, type BackendError, type BackendName } from './select.ts';
import {
  bareLoaders,
  fakeOnednn,
  fakeRequire,
  GPU,
  NODE,
  notFound,
  registerFake,
  snapshot,
  UNAVAILABLE_REASON,
  WASM,
} from './_test_support.ts';

const BANNER = /looks like you are running TensorFlow\.js in Node\.js/;

function right(result: E.Either<BackendError, BackendChoice>): BackendChoice {
  if (E.isLeft(result)) throw new Error(`expected a backend, got ${result.left._tag}: ${result.left.message}`);
  return result.right;
}

function left(result: E.Either<BackendError, BackendChoice>): BackendError {
  if (E.isRight(result)) throw new Error(`expected an error, got ${JSON.stringify(result.right)}`);
  return result.left;
}

// Console output of `run`, on whichever channel tfjs uses.
async function consoleOutput(run: () => Promise<void>): Promise<string> {
  const warn = jest.spyOn(console, 'warn').mockImplementation(() => undefined);
  const log = jest.spyOn(console, 'log').mockImplementation(() => undefined);
  try {
    await run();
    return [...warn.mock.calls, ...log.mock.calls].map((args) => args.map(String).join(' ')).join('\n');
  } finally {
    warn.mockRestore();
    log.mockRestore();
  }
}

let restore: () => Promise<void>;
beforeAll(async () => {
  await tf.setBackend('cpu');
});
beforeEach(() => {
  restore = snapshot();
  delete process.env['TF_FORCE_GPU_ALLOW_GROWTH'];
});
afterEach(async () => {
  await restore();
});

describe('explicit choices', () => {
  test('BACKEND_CHOICES lists auto first, then every backend', () => {
    expect(BACKEND_CHOICES).toEqual(['auto', 'tensorflow', 'onednn', 'wasm', 'cpu']);
  });

  test('cpu is always selectable, whatever else is installed', async () => {
    const chosen = right(await selectBackend('cpu', { loaders: bareLoaders() }));
    expect(chosen).toEqual({ name: 'cpu', device: 'cpu (pure JS)', reason: 'cpu (requested)', precision: 'fp32' });
    expect(tf.getBackend()).toBe('cpu');
  });

  test('an unknown choice is an error listing the accepted ones', async () => {
    const error = left(await selectBackend('gpu' as BackendName));
    expect(error).toEqual({
      _tag: 'UnknownBackend',
      message: 'Unknown backend "gpu": expected one of auto, tensorflow, onednn, wasm, cpu',
    });
  });

  test('tensorflow without tfjs-node-gpu or tfjs-node says how to install either, or to use onednn', async () => {
    const error = left(await selectBackend('tensorflow', { loaders: bareLoaders() }));
    expect(error._tag).toBe('NotInstalled');
    expect(error.message).toMatch(
      /^tfjs-node-gpu is not installed: on a CUDA 11\.2 \+ cuDNN 8\.1 machine with internet access run `npm ci`/,
    );
    expect(error.message).toMatch(/@tensorflow\/tfjs-node@4\.22\.0.*the onednn backend$/);
  });

  test('tensorflow prefers tfjs-node-gpu and names the device cuda:0', async () => {
    const calls: string[] = [];
    const loaders = bareLoaders({
      require: fakeRequire({ [GPU]: { registers: 'tensorflow' }, [NODE]: { registers: 'tensorflow' } }, calls),
    });
    const chosen = right(await selectBackend('tensorflow', { loaders }));
    expect(chosen).toEqual({ name: 'tensorflow', device: 'cuda:0', reason: 'tensorflow via tfjs-node-gpu (requested)', precision: 'fp32' });
    expect(calls).toEqual([GPU]);
  });

  test('tensorflow falls back to tfjs-node on the CPU and says why', async () => {
    const loaders = bareLoaders({ require: fakeRequire({ [NODE]: { registers: 'tensorflow' } }, []) });
    const chosen = right(await selectBackend('tensorflow', { loaders }));
    expect(chosen).toEqual({
      name: 'tensorflow',
      device: 'cpu (libtensorflow)',
      reason: 'tensorflow via tfjs-node (requested; tfjs-node-gpu not installed)',
      precision: 'fp32',
    });
  });

  test('an installed package that fails to load is LoadFailed with its error, not NotInstalled', async () => {
    const cuda = new Error('libcudart.so.11.0: cannot open shared object file: No such file or directory');
    const loaders = bareLoaders({ require: fakeRequire({ [GPU]: { throws: cuda }, [NODE]: { throws: notFound('bindings') } }, []) });
    const error = left(await selectBackend('tensorflow', { loaders }));
    expect(error._tag).toBe('LoadFailed');
    expect(error.message).toContain('tfjs-node-gpu failed to load (libcudart.so.11.0: cannot open shared object file');
    expect(error.message).toContain("tfjs-node failed to load (Cannot find module 'bindings')");
    expect(error.message).toMatch(/LD_LIBRARY_PATH.*the onednn backend$/);
  });

  test('a package that registers its backend with another copy of tfjs-core is reported as a version mismatch', async () => {
    const loaders = bareLoaders({ require: fakeRequire({ [NODE]: { registers: null } }, []) });
    const error = left(await selectBackend('tensorflow', { loaders }));
    expect(error._tag).toBe('LoadFailed');
    expect(error.message).toContain('tfjs-node loaded but registered no "tensorflow" backend with this @tensorflow/tfjs-core');
    expect(error.message).toContain('npm ls @tensorflow/tfjs-core');
  });

  test('onednn, when registerOnednn reports ok, is selected with its threads, version and ISA as the device', async () => {
    const chosen = right(await selectBackend('onednn', { loaders: bareLoaders({ registerOnednn: fakeOnednn(true) }) }));
    expect(chosen).toEqual({
      name: 'onednn',
      device: 'cpu (2 threads, oneDNN 2.6.3, avx2)',
      reason: 'onednn (requested)',
      precision: 'fp32',
    });
    expect(tf.getBackend()).toBe('onednn');
  });

  test('onednn, when unavailable, is an error carrying the reason and its apt fix', async () => {
    const error = left(await selectBackend('onednn', { loaders: bareLoaders() }));
    expect(error).toEqual({ _tag: 'Unavailable', message: `onednn backend unavailable: ${UNAVAILABLE_REASON}; or use the cpu backend` });
    expect(error.message).toContain('apt-get install -y libdnnl-dev && node tools/build_native.cjs');
  });

  test('onednn with the real addon is selected when it is built, and otherwise explains the apt fix', async () => {
    const status = onednnStatus();
    const result = await selectBackend('onednn');
    if (status.ok) {
      expect(right(result)).toEqual({
        name: 'onednn',
        device: `cpu (${status.info.threads} threads, oneDNN ${status.info.version}, ${status.info.isa})`,
        reason: 'onednn (requested)',
        precision: 'fp32',
      });
      expect(tf.add(tf.tensor([1, 2]), tf.tensor([3, 4])).arraySync()).toEqual([4, 6]);
    } else {
      expect(left(result).message).toContain('apt-get install -y libdnnl-dev');
    }
  });

  test('wasm is refused for training (the default purpose): no Conv2DBackpropFilter kernel, use onednn or cpu', async () => {
    const calls: string[] = [];
    const loaders = bareLoaders({ require: fakeRequire({ [WASM]: { registers: 'wasm' } }, calls) });
    for (const options of [{ loaders }, { loaders, purpose: 'training' } as const]) {
      const error = left(await selectBackend('wasm', options));
      expect(error._tag).toBe('CannotTrain');
      expect(error.message).toMatch(/tfjs-backend-wasm 4\.22 has no Conv2DBackpropFilter kernel .*the onednn backend .*the cpu backend/);
    }
    expect(calls).toEqual([]);
  });

  test('wasm for inference is selected when tfjs-backend-wasm is installed', async () => {
    const loaders = bareLoaders({ require: fakeRequire({ [WASM]: { registers: 'wasm' } }, []) });
    const chosen = right(await selectBackend('wasm', { purpose: 'inference', loaders }));
    expect(chosen).toEqual({ name: 'wasm', device: 'cpu (WebAssembly)', reason: 'wasm (requested)', precision: 'fp32' });
  });

  test('wasm for inference without tfjs-backend-wasm says how to install it', async () => {
    const error = left(await selectBackend('wasm', { purpose: 'inference', loaders: bareLoaders() }));
    expect(error._tag).toBe('NotInstalled');
    expect(error.message).toMatch(
      /^tfjs-backend-wasm is not installed: run `npm install --no-save @tensorflow\/tfjs-backend-wasm@4\.22\.0`/,
    );
  });
});

describe('auto: tensorflow > onednn > cpu', () => {
  test('picks tfjs-node-gpu first and never asks onednn', async () => {
    const onednnCalls: string[] = [];
    const loaders = bareLoaders({
      require: fakeRequire({ [GPU]: { registers: 'tensorflow' } }, []),
      registerOnednn: fakeOnednn(true, onednnCalls),
    });
    const chosen = right(await selectBackend('auto', { loaders }));
    expect(chosen).toEqual({
      name: 'tensorflow',
      device: 'cuda:0',
      reason: 'auto: tensorflow via tfjs-node-gpu (first choice)',
      precision: 'fp32',
    });
    expect(onednnCalls).toEqual([]);
  });

  test('picks tfjs-node when only it is installed', async () => {
    const loaders = bareLoaders({ require: fakeRequire({ [NODE]: { registers: 'tensorflow' } }, []), registerOnednn: fakeOnednn(true) });
    const chosen = right(await selectBackend('auto', { loaders }));
    expect(chosen.reason).toBe('auto: tensorflow via tfjs-node (tfjs-node-gpu not installed)');
  });

  test('picks onednn when registerOnednn reports ok and no tensorflow package is installed', async () => {
    const chosen = right(await selectBackend('auto', { loaders: bareLoaders({ registerOnednn: fakeOnednn(true) }) }));
    expect(chosen).toEqual({
      name: 'onednn',
      device: 'cpu (2 threads, oneDNN 2.6.3, avx2)',
      reason: 'auto: onednn (tfjs-node-gpu and tfjs-node not installed)',
      precision: 'fp32',
    });
  });

  test('picks cpu when onednn is unavailable, naming both skips in one line', async () => {
    const chosen = right(await selectBackend('auto', { loaders: bareLoaders() }));
    expect(chosen).toEqual({
      name: 'cpu',
      device: 'cpu (pure JS)',
      reason: `auto: cpu (tfjs-node-gpu and tfjs-node not installed; onednn unavailable: ${UNAVAILABLE_REASON})`,
      precision: 'fp32',
    });
    expect(chosen.reason).not.toContain('\n');
  });

  test('never picks wasm, for training or inference, even when it is installed', async () => {
    for (const purpose of ['training', 'inference'] as const) {
      const calls: string[] = [];
      const chosen = right(
        await selectBackend('auto', { purpose, loaders: bareLoaders({ require: fakeRequire({ [WASM]: { registers: 'wasm' } }, calls) }) }),
      );
      expect(chosen.name).toBe('cpu');
      expect(calls).not.toContain(WASM);
    }
  });
});

describe('environment for tfjs-node', () => {
  // tfjs-node 4.22 calls util.isNullOrUndefined while loading; Node 23 removed it.
  function needsUtil(util: Record<string, unknown>): void {
    if (typeof util['isNullOrUndefined'] !== 'function') throw new TypeError('util.isNullOrUndefined is not a function');
    registerFake('tensorflow');
  }

  test('on Node 23 (no util.isNullOrUndefined) a shim is installed before tfjs-node loads, once', async () => {
    const util: Record<string, unknown> = {};
    const loaders = bareLoaders({ util, require: fakeRequire({ [NODE]: needsUtil }, [], util) });
    expect(right(await selectBackend('tensorflow', { loaders })).name).toBe('tensorflow');
    const shim = util['isNullOrUndefined'] as (v: unknown) => boolean;
    expect([null, undefined, 0, '', false, {}].map(shim)).toEqual([true, true, false, false, false, false]);
    right(await selectBackend('tensorflow', { loaders }));
    expect(util['isNullOrUndefined']).toBe(shim);
  });

  test('an existing util.isNullOrUndefined is left alone', async () => {
    const original = (v: unknown): boolean => v == null;
    const util: Record<string, unknown> = { isNullOrUndefined: original };
    right(await selectBackend('tensorflow', { loaders: bareLoaders({ util, require: fakeRequire({ [NODE]: needsUtil }, [], util) }) }));
    expect(util['isNullOrUndefined']).toBe(original);
  });

  test('TF_FORCE_GPU_ALLOW_GROWTH is "true" while tfjs-node-gpu loads, unless the user set it', async () => {
    const seen: (string | undefined)[] = [];
    const observe = (): void => {
      seen.push(process.env['TF_FORCE_GPU_ALLOW_GROWTH']);
      registerFake('tensorflow');
    };
    const loaders = bareLoaders({ require: fakeRequire({ [GPU]: observe }, []) });
    right(await selectBackend('tensorflow', { loaders }));
    process.env['TF_FORCE_GPU_ALLOW_GROWTH'] = 'false';
    right(await selectBackend('tensorflow', { loaders }));
    expect(seen).toEqual(['true', 'false']);
    expect(process.env['TF_FORCE_GPU_ALLOW_GROWTH']).toBe('false');
  });

  test('TF_FORCE_GPU_ALLOW_GROWTH is not left behind when no tensorflow package loads', async () => {
    left(await selectBackend('tensorflow', { loaders: bareLoaders() }));
    expect(process.env['TF_FORCE_GPU_ALLOW_GROWTH']).toBeUndefined();
  });
});

describe('the tfjs Node.js banner', () => {
  test('a fresh MathBackendCPU prints it on first use (so the tests below can fail)', async () => {
    tf.registerBackend('banner-probe', () => new MathBackendCPU(), 0);
    try {
      const output = await consoleOutput(async () => {
        await tf.setBackend('banner-probe');
        tf.tensor([1]).dispose();
      });
      expect(output).toMatch(BANNER);
    } finally {
      await tf.setBackend('cpu');
      tf.removeBackend('banner-probe');
    }
  });

  test('is silenced for cpu', async () => {
    // A fresh cpu instance, since an earlier test may already have used (and so silenced) this one.
    tf.removeBackend('cpu');
    tf.registerBackend('cpu', () => new MathBackendCPU(), 1);
    const output = await consoleOutput(async () => {
      right(await selectBackend('cpu'));
      tf.tensor([1]).dispose();
    });
    expect(output).not.toMatch(BANNER);
  });

  test('is silenced for onednn, which reuses MathBackendCPU', async () => {
    const output = await consoleOutput(async () => {
      right(await selectBackend('onednn', { loaders: bareLoaders({ registerOnednn: fakeOnednn(true) }) }));
      tf.tensor([1]).dispose();
    });
    expect(output).not.toMatch(BANNER);
  });
});

describe('--precision=bf16', () => {
  test('is refused for the tensorflow, wasm and cpu backends, before any is activated: only onednn runs bf16', async () => {
    for (const choice of ['tensorflow', 'wasm', 'cpu'] as const) {
      const error = left(await selectBackend(choice, { precision: 'bf16', loaders: bareLoaders() }));
      expect(error).toEqual({
        _tag: 'NoBf16',
        message: `--precision=bf16 runs on the onednn backend only (tfjs's ${choice} backend has no bf16 training): use --backend=onednn, or --precision=fp32`,
      });
    }
    expect(tf.getBackend()).toBe('cpu');
  });

  test('a CPU without native bf16 is refused with its ISA named, for onednn and for auto (never an fp32 fallback)', async () => {
    for (const choice of ['onednn', 'auto'] as const) {
      const error = left(
        await selectBackend(choice, { precision: 'bf16', loaders: { ...bareLoaders(), registerOnednn: fakeOnednn(true) } }),
      );
      expect(error).toEqual({
        _tag: 'NoBf16',
        message: '--precision=bf16 needs a CPU with native bf16 (avx512_core_bf16 or AMX); oneDNN runs on avx2 here: use --precision=fp32',
      });
    }
    expect(tf.getBackend()).toBe('cpu');
  });

  test('onednn unavailable: bf16 says so and names the fix, and auto does not fall back to cpu', async () => {
    const error = left(
      await selectBackend('auto', { precision: 'bf16', loaders: { ...bareLoaders(), registerOnednn: fakeOnednn(false) } }),
    );
    expect(error).toEqual({
      _tag: 'Unavailable',
      message: `--precision=bf16 needs the onednn backend, which is unavailable: ${UNAVAILABLE_REASON}; or use --precision=fp32`,
    });
  });

  test('an unknown precision is an error listing the accepted ones', async () => {
    const error = left(await selectBackend('cpu', { precision: 'fp16' as 'fp32' }));
    expect(error).toEqual({ _tag: 'UnknownBackend', message: 'Unknown precision "fp16": expected one of fp32, bf16' });
  });

  const real = onednnStatus();
  const native = real.ok && real.info.bf16;
  (native ? test : test.skip)(
    `on this CPU (native bf16): auto selects onednn in bf16, activePrecision says so, and an fp32 selection sets it back`,
    async () => {
      const chosen = right(await selectBackend('auto', { precision: 'bf16' }));
      expect(chosen).toMatchObject({
        name: 'onednn',
        precision: 'bf16',
        reason: expect.stringContaining('bf16 mixed precision on ') as unknown,
      });
      expect(activePrecision()).toBe('bf16');
      right(await selectBackend('onednn'));
      expect(activePrecision()).toBe('fp32');
      await tf.setBackend('cpu');
      expect(activePrecision()).toBe('fp32');
    },
  );
});
