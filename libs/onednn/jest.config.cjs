// Jest runs suites in parallel workers: one OpenMP thread per worker keeps them from
// oversubscribing the cores (diagnostics_test.ts runs multi-threaded on purpose).
process.env.OMP_NUM_THREADS ??= '1';
module.exports = { ...require('../../jest.preset.js'), displayName: 'onednn' };
