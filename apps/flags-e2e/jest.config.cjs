module.exports = { ...require('../../jest.preset.js'), displayName: 'flags-e2e' };
