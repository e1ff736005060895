module.exports = { ...require('../../jest.preset.js'), displayName: 'run-dir' };
