// ESLint (flat config) with typescript-eslint. Pragmatic on purpose: the recommended sets, plus
// the few type-aware rules that catch real bugs in NestJS code (a promise nobody awaits or
// handles). Formatting is Prettier's job (`npm run lint` runs both), not ESLint's.
const js = require('@eslint/js');
const tseslint = require('typescript-eslint');
const globals = require('globals');

module.exports = tseslint.config(
  {
    ignores: ['node_modules/**', 'dist/**', 'coverage/**', '.demo/**', 'apps/console/dist/**', 'bench/results/**'],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts', '**/*.tsx'],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: __dirname },
    },
    rules: {
      // Type-aware, and worth their cost: an unhandled promise is a lost error or a lost write.
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: false }],
      // Existing code uses `any` at the edges (raw SQL rows, Twilio payloads): visible, not fatal.
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none', ignoreRestSiblings: true },
      ],
      // Nest modules are classes that only carry decorators.
      '@typescript-eslint/no-extraneous-class': 'off',
    },
  },
  {
    rules: {
      // `require()` is used deliberately: CommonJS config files, optional or lazily loaded modules.
      '@typescript-eslint/no-require-imports': 'off',
    },
  },
  {
    files: ['apps/console/src/**/*.{ts,tsx}'],
    languageOptions: { globals: { ...globals.browser } },
  },
  {
    files: ['**/*.js'],
    languageOptions: { sourceType: 'commonjs', globals: { ...globals.node } },
  },
);
