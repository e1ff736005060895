// Lint for every project: typescript-eslint's recommended rules plus nx module
// boundaries, which keep dependencies pointing one way: spec ← interpreter ← training ← apps,
// and Prettier's formatting (.prettierrc.json): a file it would reformat fails lint.
import nx from '@nx/eslint-plugin';
import prettier from 'eslint-plugin-prettier/recommended';

const NODE_BUILTINS = [
  'node:*',
  'fs',
  'fs/*',
  'path',
  'os',
  'child_process',
  'crypto',
  'zlib',
  'http',
  'https',
  'net',
  'worker_threads',
  'process',
];

/**
 * For libs that must do no I/O (spec and interpreter libs): nx's bannedExternalImports
 * does not see Node built-ins, so ban them with ESLint's own rule.
 */
export const noIo = {
  files: ['**/*.ts'],
  ignores: ['**/*_test.ts'],
  rules: {
    'no-restricted-imports': [
      'error',
      { patterns: [{ group: NODE_BUILTINS, message: 'This lib does no I/O: do it in a training lib or an app and pass the data in.' }] },
    ],
  },
};

export default [
  ...nx.configs['flat/base'],
  ...nx.configs['flat/typescript'],
  { ignores: ['**/node_modules/**', '**/dist/**', '**/.nx/**', '**/coverage/**'] },
  {
    files: ['**/*.ts'],
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-non-null-assertion': 'error',
      // A switch over a tagged union lists every case and ends in `default: return absurd(x)`
      // (fp-ts/function): a new case is then a compile error at every switch that must handle it.
      'no-restricted-syntax': [
        'error',
        {
          selector: "SwitchCase[test=null]:not(:has(CallExpression[callee.name='absurd']))",
          message:
            'End a switch with `default: return absurd(x)` after listing every case (a default that does something else hides new cases).',
        },
        {
          selector: 'SwitchStatement:not(:has(> SwitchCase[test=null]))',
          message:
            'End a switch with `default: return absurd(x)` after listing every case (without it, a new case can slip through where nothing is returned).',
        },
      ],
      '@nx/enforce-module-boundaries': [
        'error',
        {
          enforceBuildableLibDependency: false,
          allow: [],
          depConstraints: [
            // Specs are pure data and folds: no tensors, no I/O.
            { sourceTag: 'type:spec', onlyDependOnLibsWithTags: ['type:spec'], bannedExternalImports: ['@tensorflow/*', ...NODE_BUILTINS] },
            // Interpreters lower specs to tensors but do no I/O of their own.
            {
              sourceTag: 'type:interpreter',
              onlyDependOnLibsWithTags: ['type:spec', 'type:interpreter', 'type:kernels'],
              bannedExternalImports: NODE_BUILTINS,
            },
            // Datasets: parsing is pure, locating and reading files is allowed here.
            { sourceTag: 'type:data', onlyDependOnLibsWithTags: ['type:data'] },
            // tfjs backends (e.g. native kernels): independent of specs.
            { sourceTag: 'type:backend', onlyDependOnLibsWithTags: ['type:backend', 'type:kernels', 'type:recipe'] },
            // How a network is trained, as data (schedules, protocols, precision): pure, like specs.
            {
              sourceTag: 'type:recipe',
              onlyDependOnLibsWithTags: ['type:spec'],
              bannedExternalImports: ['@tensorflow/*', ...NODE_BUILTINS],
            },
            // The run directory: its layout, records (codecs), lifecycle and raw tensors. Node fs, no tfjs,
            // so every reader of runs (results, report, web, sweep) reads them without loading tensors.
            {
              sourceTag: 'type:run-dir',
              onlyDependOnLibsWithTags: ['type:spec', 'type:recipe', 'type:files'],
              bannedExternalImports: ['@tensorflow/*'],
            },
            // The names of fused kernels: a contract between backends, the interpreter and the optimiser.
            { sourceTag: 'type:kernels', onlyDependOnLibsWithTags: [], bannedExternalImports: ['@tensorflow/*', ...NODE_BUILTINS] },
            // Exporters (ONNX): spec + tensors → bytes; no tfjs, no I/O (protobuf encoding only).
            {
              sourceTag: 'type:export',
              onlyDependOnLibsWithTags: ['type:spec'],
              bannedExternalImports: ['@tensorflow/*', ...NODE_BUILTINS],
            },
            {
              sourceTag: 'type:training',
              onlyDependOnLibsWithTags: [
                'type:spec',
                'type:interpreter',
                'type:data',
                'type:backend',
                'type:training',
                'type:kernels',
                'type:files',
                'type:recipe',
                'type:run-dir',
              ],
            },
            // Runs as results: reading run directories, summary rows, chart specifications.
            {
              sourceTag: 'type:results',
              onlyDependOnLibsWithTags: ['type:spec', 'type:recipe', 'type:run-dir', 'type:files', 'type:format'],
              bannedExternalImports: ['@tensorflow/*'],
            },
            // How numbers are shown (durations, counts, MACs, memory): pure, so the browser page may use it too.
            { sourceTag: 'type:format', onlyDependOnLibsWithTags: [], bannedExternalImports: ['@tensorflow/*', ...NODE_BUILTINS] },
            // Small pure helpers for apps (flag parsing).
            { sourceTag: 'type:util', onlyDependOnLibsWithTags: ['type:files'] },
            // Writing files safely (atomic writes, output-path checks, system errors): Node fs only.
            { sourceTag: 'type:files', onlyDependOnLibsWithTags: [], bannedExternalImports: ['@tensorflow/*'] },
            // End-to-end tests of the apps through nx: they read the apps' project.json, import only pure libs.
            { sourceTag: 'type:e2e', onlyDependOnLibsWithTags: ['type:spec', 'type:util'] },
            {
              sourceTag: 'type:app',
              onlyDependOnLibsWithTags: [
                'type:spec',
                'type:interpreter',
                'type:data',
                'type:backend',
                'type:training',
                'type:util',
                'type:export',
                'type:results',
                'type:files',
                'type:format',
                'type:recipe',
                'type:run-dir',
              ],
            },
          ],
        },
      ],
    },
  },
  prettier,
];
