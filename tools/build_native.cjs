#!/usr/bin/env node
// Builds the oneDNN addon of libs/onednn (the `onednn` tfjs backend) with node-gyp.
//
// Runs as the root `postinstall`, so it must never break `npm ci`: when oneDNN's headers
// are missing, or the build fails, it prints what happened and the fix, and exits 0.
// `--strict` makes those cases exit 1 (for a CI step that must have the backend).
//
//   node tools/build_native.cjs            # build if possible, never fail
//   node tools/build_native.cjs --strict   # fail loudly if the addon cannot be built
'use strict';

const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const strict = process.argv.includes('--strict');
const libDir = path.join(__dirname, '..', 'libs', 'onednn');
const addonPath = path.join(libDir, 'build', 'Release', 'onednn.node');
const FIX = 'apt-get install -y libdnnl-dev && node tools/build_native.cjs';
const HEADERS = ['/usr/include/oneapi/dnnl/dnnl.hpp', '/usr/include/dnnl.hpp', '/usr/include/dnnl.h'];

function done(ok, message) {
  const line = `[onednn] ${message}`;
  if (ok) console.log(line);
  else console.warn(line);
  process.exit(ok || !strict ? 0 : 1);
}

function tail(text, lines) {
  return text.trim().split('\n').slice(-lines).join('\n');
}

// Compiler errors first (they can be far above node-gyp's stack trace), then the end.
function excerpt(text) {
  const errors = text
    .split('\n')
    .filter((l) => /error/i.test(l) && !l.startsWith('gyp ERR! stack'))
    .slice(0, 15);
  return `${errors.join('\n')}\n...\n${tail(text, 8)}`;
}

if (!HEADERS.some((h) => fs.existsSync(h))) {
  done(false, `backend unavailable: oneDNN headers not found (${HEADERS[0]}). Fix: ${FIX}`);
}

let nodeGyp;
try {
  nodeGyp = require.resolve('node-gyp/bin/node-gyp.js', { paths: [path.join(__dirname, '..')] });
} catch {
  done(
    false,
    `backend unavailable: node-gyp is not installed (dev dependencies omitted?). Fix: npm install && node tools/build_native.cjs`,
  );
}

// Build against the headers of the running node when they are on disk: node-gyp would
// otherwise download them, and this machine may have no access to nodejs.org.
const nodeDir = path.resolve(path.dirname(process.execPath), '..');
const localHeaders = fs.existsSync(path.join(nodeDir, 'include', 'node', 'node_api.h'));
const args = [nodeGyp, 'rebuild', '--loglevel=error', `--directory=${libDir}`, ...(localHeaders ? [`--nodedir=${nodeDir}`] : [])];

const started = Date.now();
const build = spawnSync(process.execPath, args, { cwd: libDir, encoding: 'utf8' });
if (build.status !== 0) {
  const output = excerpt(`${build.stdout ?? ''}\n${build.stderr ?? ''}${build.error ? `\n${build.error.message}` : ''}`);
  console.warn(output);
  done(
    false,
    `backend unavailable: node-gyp build failed (exit ${build.status}); output above. Retry with: node tools/build_native.cjs --strict`,
  );
}

// Load it in a fresh process: a missing libdnnl.so.2 or libgomp only shows up at dlopen.
const probe = spawnSync(process.execPath, ['-e', `console.log(JSON.stringify(require(${JSON.stringify(addonPath)}).info()))`], {
  encoding: 'utf8',
});
if (probe.status !== 0) {
  console.warn(tail(probe.stderr ?? '', 10));
  done(false, `backend unavailable: built ${path.relative(process.cwd(), addonPath)} but it does not load (output above). Fix: ${FIX}`);
}
const info = JSON.parse(probe.stdout);
const seconds = ((Date.now() - started) / 1000).toFixed(1);
done(
  true,
  `built ${path.relative(path.join(__dirname, '..'), addonPath)} (oneDNN ${info.version}, ${info.cpuRuntime}, ${info.threads} threads, ${info.isa}, loops ${info.loopsIsa}) in ${seconds}s`,
);
