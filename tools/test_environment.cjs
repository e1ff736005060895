#!/usr/bin/env node
// What the machine lends the tests, as one line: an nx `runtime` input of every cached test
// target (nx.json, namedInputs.testEnvironment). A test result replayed from the cache must have
// been produced with the same optional pieces present: a pass recorded while PyTorch, the ONNX
// checker, the dataset, Slurm or the oneDNN addon was missing (their tests skipped) is not a pass on a
// machine that has them, nor is a pass recorded with another addon build or another CPU ISA.
// Reads only: file sizes and times, a hash of the addon, /proc/cpuinfo flags, one python3 probe.
//
//   node tools/test_environment.cjs   # {"node":"v20…","isa":["avx2",…],"addon":"…",…}
'use strict';

const { createHash } = require('node:crypto');
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..');

/** Size and modification time of a file, or null when it is not there. */
function stamp(file) {
  try {
    const s = fs.statSync(file);
    return `${s.size}@${Math.round(s.mtimeMs)}`;
  } catch {
    return null;
  }
}

/** The SHA-256 of a file (the addon: rebuilt from other sources, or by another compiler, it is another input). */
function digest(file) {
  try {
    return createHash('sha256').update(fs.readFileSync(file)).digest('hex').slice(0, 16);
  } catch {
    return null;
  }
}

/** The CPU features oneDNN and our kernels dispatch on. */
function isa() {
  try {
    const flags = /^flags\s*:(.*)$/m.exec(fs.readFileSync('/proc/cpuinfo', 'utf8'))?.[1]?.trim().split(/\s+/) ?? [];
    return flags.filter((f) => /^(avx2|fma|avx512(f|bw|vl|_bf16|_vnni)|amx_(bf16|tile|int8))$/.test(f)).sort();
  } catch {
    return [];
  }
}

/** Which Python modules the tests use are importable by Debian's python3 (found, not imported: fast). */
function python() {
  const probe = spawnSync(
    '/usr/bin/python3',
    ['-c', 'import importlib.util as u; print(",".join(m for m in ("torch", "onnx") if u.find_spec(m)))'],
    { encoding: 'utf8' },
  );
  return probe.status === 0 ? probe.stdout.trim() : null;
}

const datasets = ['/usr/share/datasets/fashion-mnist', path.join(root, 'data', 'fashion-mnist')];
const files = ['train-images-idx3-ubyte.gz', 'train-labels-idx1-ubyte.gz', 't10k-images-idx3-ubyte.gz', 't10k-labels-idx1-ubyte.gz'];

const environment = {
  node: process.version,
  platform: `${process.platform}-${process.arch}`,
  isa: isa(),
  addon: digest(path.join(root, 'libs', 'onednn', 'build', 'Release', 'onednn.node')),
  libdnnl: stamp('/usr/include/oneapi/dnnl/dnnl.hpp'),
  python: python(),
  chromium: stamp('/usr/bin/chromium'),
  // The Slurm tests start a one-node cluster when Slurm and munge are installed and we are root.
  slurm: [stamp('/usr/sbin/slurmctld'), stamp('/usr/sbin/munged'), process.getuid?.() === 0].join(','),
  fonts: stamp('/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf'),
  datasets: datasets.map((dir) => files.map((f) => stamp(path.join(dir, f))).join(',')),
};
process.stdout.write(`${JSON.stringify(environment)}\n`);
