// ESLint for the TypeScript of every layer (engine, CLI, extension, webviews, tests, benchmarks).
// typescript-eslint's recommended set without type information: the type-checked set builds the
// whole program on every run (over 6 minutes on two shared cores, against 1.5 for this one), and
// `tsc -p .` checks the types anyway.
// import/no-cycle keeps the import graph acyclic: in a cycle neither module can be read (or loaded
// by webpack) without the other half-initialised.
import { createNodeResolver, importX } from 'eslint-plugin-import-x';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: [
      'out/**',
      'dist/**',
      'node_modules/**',
      '.vscode-test/**',
      '.test-output/**',
      '.models/**',
      'samples/**',
      'python/**',
      // Written by tools (protobufjs' pbjs/pbts and the like), never by hand.
      '**/generated/**',
      '**/*.generated.*',
    ],
  },
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    plugins: { import: importX },
    settings: {
      // The rule parses every imported module: it must know .ts files and how to read them.
      'import-x/extensions': ['.ts', '.js'],
      'import-x/parsers': { '@typescript-eslint/parser': ['.ts'] },
      'import-x/resolver-next': [createNodeResolver({ extensions: ['.ts', '.js', '.json'] })],
    },
    rules: {
      'import/no-cycle': ['error', { ignoreExternal: true }],
      // `_` names what a loop or a signature must bind but does not use.
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    // Tests build and mutate untyped JSON (specs, reports, messages) on purpose.
    files: ['test/**/*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
  {
    // The plain Node scripts and configs are CommonJS.
    files: ['**/*.js', '**/*.cjs'],
    languageOptions: { sourceType: 'commonjs' },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
);
