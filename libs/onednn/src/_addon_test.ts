import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ADDON_FUNCTIONS, addonPath, codeOf, loadAddon, OP_NAMES, opTableDifferences } from './_addon.ts';

// A table with exactly OP_NAMES' names, codes 0, 1, 2, … per group.
function matchingTable(): Record<string, Record<string, unknown>> {
  return Object.fromEntries(Object.entries(OP_NAMES).map(([group, names]) => [group, Object.fromEntries(names.map((n, i) => [n, i]))]));
}

// The built addon's exports, read without loadAddon (which refuses a table that differs, and
// then every onednn suite would be skipped instead of this test failing).
const built = existsSync(addonPath()) || process.env['CI'] === 'true';
if (!built) console.warn(`[onednn] SKIPPED "the addon's op table": ${addonPath()} not built`);

(built ? describe : describe.skip)("the addon's op table", () => {
  test('has exactly the groups and names OP_NAMES declares, each code an integer used once per group', () => {
    const exports = createRequire(addonPath())(addonPath()) as { ops?: unknown };
    expect(opTableDifferences(exports.ops)).toEqual([]);
    const ops = exports.ops as Record<string, Record<string, number>>;
    expect(Object.fromEntries(Object.entries(ops).map(([g, codes]) => [g, Object.keys(codes)]))).toEqual(OP_NAMES);
  });

  test('cannot be changed from TypeScript (frozen)', () => {
    const exports = createRequire(addonPath())(addonPath()) as { ops: Record<string, Record<string, number>> };
    expect([Object.isFrozen(exports.ops), ...Object.values(exports.ops).map((g) => Object.isFrozen(g))].every(Boolean)).toBe(true);
  });
});

describe('op table checks', () => {
  test('a table differing from OP_NAMES in any way is told apart, with each difference named', () => {
    expect(opTableDifferences(matchingTable())).toEqual([]);
    const t = matchingTable();
    delete t['unary']?.['square'];
    Object.assign(t['binary'] ?? {}, { pow: 6 });
    Object.assign(t['pool'] ?? {}, { avgExcludePadding: 0 });
    Object.assign(t['reduce'] ?? {}, { mean: 1.5 });
    delete t['layout'];
    t['resize'] = { bilinear: 0 };
    expect(opTableDifferences(t).sort()).toEqual(
      [
        'binary: unknown pow',
        'group layout missing',
        'pool: avgExcludePadding and max share code 0',
        'reduce: mean is 1.5, not an integer',
        'unary: square missing',
        'unknown group resize',
      ].sort(),
    );
    expect(opTableDifferences(undefined)).toEqual(['no op table']);
  });

  test('loadAddon refuses an addon built from another op table, naming the difference and the fix', () => {
    const dir = mkdtempSync(join(tmpdir(), 'onednn-ops-'));
    try {
      const table = matchingTable();
      delete table['unary']?.['square'];
      const functions = ADDON_FUNCTIONS;
      const file = join(dir, 'stale.js');
      writeFileSync(file, `module.exports = { ops: ${JSON.stringify(table)}, ${functions.map((f) => `${f}() {}`).join(', ')} };`);
      const result = loadAddon(file);
      expect(result.ok ? '' : result.reason).toBe(
        `${file} was built from another op table than this lib's (unary: square missing). Fix: node tools/build_native.cjs`,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("codeOf gives a name's code, and undefined for a name the group lacks (inherited names included)", () => {
    const activation = { linear: 0, relu: 1 };
    expect([codeOf(activation, 'relu'), codeOf(activation, 'prelu'), codeOf(activation, 'toString')]).toEqual([1, undefined, undefined]);
  });
});

(built ? describe : describe.skip)('memory given back', () => {
  // In a child process: the threshold is set when the addon loads, before anything else allocates.
  const threshold = (env: NodeJS.ProcessEnv): unknown =>
    JSON.parse(
      execFileSync(
        process.execPath,
        ['-e', 'process.stdout.write(JSON.stringify(require(process.argv[1]).info().mmapThreshold))', addonPath()],
        {
          env,
          encoding: 'utf8',
        },
      ),
    );

  test("the addon fixes glibc's mmap threshold at 1 MiB when loaded, and leaves a user's MALLOC_MMAP_THRESHOLD_ alone", () => {
    const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => name !== 'MALLOC_MMAP_THRESHOLD_'));
    expect(threshold(env)).toBe(1 << 20);
    expect(threshold({ ...env, MALLOC_MMAP_THRESHOLD_: '65536' })).toBeNull();
  });
});
