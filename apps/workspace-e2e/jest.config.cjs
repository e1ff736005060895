module.exports = { ...require('../../jest.preset.js'), displayName: 'workspace-e2e' };
