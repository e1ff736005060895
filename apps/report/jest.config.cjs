// vega and vega-lite ship only ES modules (with d3 and friends): let swc turn them into
// CommonJS for jest, as it does our TypeScript. The transform is cached after the first run.
const path = require('node:path');
const preset = require('../../jest.preset.js');

const ESM_PACKAGES = ['vega', 'vega-[^/]+', 'd3-[^/]+', 'internmap', 'delaunator', 'robust-predicates', 'json-stringify-pretty-compact'];

module.exports = {
  ...preset,
  displayName: 'report',
  transform: {
    ...preset.transform,
    '^.+\\.m?js$': ['@swc/jest', { jsc: { parser: { syntax: 'ecmascript' }, target: 'es2022' }, module: { type: 'commonjs' } }],
  },
  transformIgnorePatterns: [`/node_modules/(?!(${ESM_PACKAGES.join('|')})/)`],
  moduleNameMapper: {
    ...preset.moduleNameMapper,
    // The node build probes for node-canvas with a top-level await, which CommonJS cannot
    // hold; we render without canvas anyway, which is what the browser build does without a DOM.
    '^vega-canvas$': path.join(__dirname, '../../node_modules/vega-canvas/build/vega-canvas.browser.js'),
  },
};
