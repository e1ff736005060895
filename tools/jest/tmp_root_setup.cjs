// jest globalSetup: every test run gets its own temporary folder, removed when the run ends
// (tmp_root_teardown.cjs). TMPDIR points at it before jest starts its workers, so `os.tmpdir()`
// in every test, and in every process a test starts (nx, the train app, a Slurm job, python),
// is inside it: what a test leaves behind (a training run killed mid-epoch, a sweep's checkpoints)
// goes with the run instead of filling the disk, run after run. The disk of a machine that had
// run the tests a few hundred times was full, and CI failed on it (ENOSPC).
'use strict';

const { chmodSync, mkdtempSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { join } = require('node:path');

module.exports = function createTmpRoot(_globalConfig, projectConfig) {
  const name = (projectConfig.displayName?.name ?? 'tests').replace(/[^A-Za-z0-9_.-]/g, '_');
  const dir = mkdtempSync(join(tmpdir(), `jest-${name}-`));
  // Others may pass through to what is made for them (munge to a Slurm test's cluster, nobody to
  // its own folder in a web test) but not list or write it.
  chmodSync(dir, 0o711);
  process.env['RESNET_JEST_TMP_ROOT'] = dir;
  process.env['RESNET_JEST_TMPDIR_BEFORE'] = process.env['TMPDIR'] ?? '';
  process.env['TMPDIR'] = dir;
};
