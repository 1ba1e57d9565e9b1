// Lint rules (`npm run lint`, run by .ci/run): typescript-eslint's recommended set without type
// information, so a run takes seconds. Formatting is Prettier's (.prettierrc.json), never a lint rule.
import js from '@eslint/js';
import prettier from 'eslint-config-prettier';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['**/dist/**', '**/build/**', '**/node_modules/**', 'client/prebuilds/**', 'client/native/**', 'data/**', 'test/native/fixtures/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { ecmaVersion: 2022, sourceType: 'module' },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      // The compiler already refuses unused locals and parameters (tsconfig.json); `_name` marks one kept on purpose.
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      'no-constant-condition': ['error', { checkLoops: false }],
      eqeqeq: ['error', 'always', { null: 'ignore' }],
    },
  },
  {
    // Browser pages of the dashboard and the docs viewer: plain scripts for the browser.
    files: ['src/http/**/public/**/*.js'],
    languageOptions: { sourceType: 'module', globals: globals.browser },
  },
  {
    // Build scripts and the CLI shim: CommonJS run by Node.
    files: ['**/*.js', '**/*.cjs'],
    ignores: ['src/http/**/public/**/*.js'],
    languageOptions: { sourceType: 'commonjs', globals: globals.node },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    // Tests read answers as the JSON they are; typing every field of every answer would restate the schemas.
    files: ['test/**/*.ts', 'client/test/**/*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
  prettier,
);
