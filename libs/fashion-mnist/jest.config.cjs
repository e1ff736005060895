module.exports = { ...require('../../jest.preset.js'), displayName: 'fashion-mnist' };
