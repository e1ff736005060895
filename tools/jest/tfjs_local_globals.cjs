// Jest transformer for @tensorflow/* bundles: unchanged but for globals read once per module (local_globals.cjs).
module.exports = require('./local_globals.cjs').asIs;
