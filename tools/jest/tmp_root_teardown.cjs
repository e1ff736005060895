// jest globalTeardown: removes the run's temporary folder (tmp_root_setup.cjs) and gives TMPDIR
// back. A folder that cannot be removed (a tmpfs a test left mounted) is named on stderr.
'use strict';

const { rmSync } = require('node:fs');

module.exports = function removeTmpRoot() {
  const dir = process.env['RESNET_JEST_TMP_ROOT'];
  if (dir === undefined) return;
  const before = process.env['RESNET_JEST_TMPDIR_BEFORE'] ?? '';
  if (before === '') delete process.env['TMPDIR'];
  else process.env['TMPDIR'] = before;
  delete process.env['RESNET_JEST_TMP_ROOT'];
  delete process.env['RESNET_JEST_TMPDIR_BEFORE'];
  try {
    rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
  } catch (e) {
    process.stderr.write(`jest: could not remove the tests' temporary folder ${dir}: ${e.message}\n`);
  }
};
