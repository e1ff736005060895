// Jest transformer for our .ts files: @swc/jest, then globals read once per module (local_globals.cjs).
module.exports = require('./local_globals.cjs').swc;
