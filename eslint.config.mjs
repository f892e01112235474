// typescript-eslint with type information: the rules that catch real bugs in async Kafka code
// (a promise nobody awaits, a misused async callback) and code nobody uses.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'dist-bench/**', 'node_modules/**', '.wal/**', '.wal-test/**', '.tmp/**', 'coverage/**', '**/*.js', '**/*.mjs'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/await-thenable': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none', ignoreRestSiblings: true }],
      '@typescript-eslint/no-unused-expressions': 'error',
      // Off, with reasons: JSON and kafkajs/avsc payloads are `any` at the edges where they are validated;
      // async methods without await implement async interfaces; jest's expect(obj.method) reads methods unbound.
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/require-await': 'off',
      '@typescript-eslint/unbound-method': 'off',
      // Rethrowing what a catch caught (an unknown) is fine; throwing a string literal is not.
      '@typescript-eslint/only-throw-error': ['error', { allowThrowingUnknown: true }],
      // Validation messages print values that the types say cannot occur (they can, in untyped input).
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNever: true, allowNumber: true }],
      // kafkajs' internal modules have no typings; the patch test loads one by path.
      '@typescript-eslint/no-require-imports': ['error', { allow: ['^kafkajs/src/'] }],
    },
  },
);
