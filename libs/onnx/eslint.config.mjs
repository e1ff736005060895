import base, { noIo } from '../../eslint.config.mjs';

// Tests check the export against the reference interpreter (tfjs) and run it in ONNX
// Runtime, so they, unlike the lib, may import both.
const testsMayUseRuntimes = {
  files: ['**/*_test.ts', '**/_test_support.ts'],
  rules: {
    '@nx/enforce-module-boundaries': [
      'error',
      {
        enforceBuildableLibDependency: false,
        allow: [],
        depConstraints: [
          { sourceTag: 'type:export', onlyDependOnLibsWithTags: ['type:spec', 'type:interpreter'] },
          { sourceTag: '*', onlyDependOnLibsWithTags: ['*'] },
        ],
      },
    ],
    'no-restricted-imports': 'off',
  },
};

export default [...base, noIo, testsMayUseRuntimes];
