// A jest environment for tests that run onnxruntime-node: its native outputs are typed
// arrays of Node's own realm, while jest's sandbox has its own Float32Array & co, so
// onnxruntime-common's `instanceof Float32Array` check fails. Share the host's typed arrays.
// Use with a `@jest-environment ../../tools/jest/ort_environment.cjs` docblock.
const { TestEnvironment } = require('jest-environment-node');

const SHARED = [
  'ArrayBuffer',
  'Uint8Array',
  'Int8Array',
  'Uint16Array',
  'Int16Array',
  'Uint32Array',
  'Int32Array',
  'Float32Array',
  'Float64Array',
  'BigInt64Array',
  'BigUint64Array',
  'Uint8ClampedArray',
  'DataView',
];

class OrtEnvironment extends TestEnvironment {
  constructor(config, context) {
    super(config, context);
    for (const name of SHARED) this.global[name] = globalThis[name];
  }
}

module.exports = OrtEnvironment;
