// Lints the service for the mistakes of asynchronous code that the compiler lets through:
// a promise nobody awaits or handles, a promise where a value or a void callback is
// expected (`if (store.getX())`, an async listener), and `await` on what is not a promise.
// Only these three rules, over kernel-service/src, with type information.
import { defineConfig } from 'eslint/config';
import tseslint from 'typescript-eslint';

export default defineConfig({
  files: ['kernel-service/src/**/*.ts'],
  languageOptions: {
    parser: tseslint.parser,
    parserOptions: { project: './kernel-service/tsconfig.json', tsconfigRootDir: import.meta.dirname }
  },
  plugins: { '@typescript-eslint': tseslint.plugin },
  linterOptions: { reportUnusedDisableDirectives: 'error' },
  rules: {
    '@typescript-eslint/no-floating-promises': 'error',
    '@typescript-eslint/no-misused-promises': 'error',
    '@typescript-eslint/await-thenable': 'error'
  }
});
