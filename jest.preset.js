// Shared jest settings: Deno-style `*_test.ts` beside the code, swc for speed
// (types are checked by each project's `typecheck` target), tsconfig paths as module names.
const path = require('node:path');
const { compilerOptions } = require('./tsconfig.base.json');

// Every suite on the onednn backend: reused output storage is filled with NaN first, so a
// kernel that relies on zeroed output fails its tests instead of passing by luck.
process.env.ONEDNN_POISON_REUSED ??= '1';

const moduleNameMapper = Object.fromEntries(
  Object.entries(compilerOptions.paths).map(([alias, [target]]) => [`^${alias.replace('/', '\\/')}$`, path.join(__dirname, target)]),
);

module.exports = {
  testEnvironment: 'node',
  testMatch: ['<rootDir>/src/**/*_test.ts'],
  // `*_slow_test.ts` files (whole training processes killed, starved of disk, run on Slurm; every
  // flag through real nx) are the slow tier: not in `test` (`npx nx test`), in each project's
  // `test-slow` target (nx.json targetDefaults), which CI runs after `npx nx test`.
  testPathIgnorePatterns: ['/node_modules/', '_slow_test\\.ts$'],
  moduleFileExtensions: ['ts', 'js', 'cjs', 'json'],
  // Each module reads Math & co. once instead of through the vm context's interceptor on every
  // use (tools/jest/local_globals.cjs): our sources after swc, and tfjs's own bundles as they are.
  transform: {
    '^.+\\.ts$': [
      path.join(__dirname, 'tools/jest/swc_local_globals.cjs'),
      { jsc: { parser: { syntax: 'typescript' }, target: 'es2022' }, module: { type: 'commonjs' } },
    ],
    '/node_modules/@tensorflow/.+\\.js$': path.join(__dirname, 'tools/jest/tfjs_local_globals.cjs'),
  },
  transformIgnorePatterns: ['/node_modules/(?!@tensorflow/)'],
  moduleNameMapper,
  // One temporary folder per test run, TMPDIR for the tests and what they start, removed at the end.
  globalSetup: path.join(__dirname, 'tools/jest/tmp_root_setup.cjs'),
  globalTeardown: path.join(__dirname, 'tools/jest/tmp_root_teardown.cjs'),
  setupFilesAfterEnv: [path.join(__dirname, 'tools/jest/fast_check_setup.ts')],
  // tfjs kernels on the pure-JS backend are slow; a test that needs more is a bench, not a test.
  testTimeout: 60_000,
};
