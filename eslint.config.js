// @ts-check
/**
 * Lint, with STYLE.md's layering as failing rules: each top-level folder may
 * import only what its runtime allows. tests/lint/boundaries.test.ts proves
 * the rules fire.
 */
import { builtinModules } from 'node:module';
import js from '@eslint/js';
import reactHooks from 'eslint-plugin-react-hooks';
import globals from 'globals';
import tseslint from 'typescript-eslint';

const nodeBuiltins = ['node:*', ...builtinModules, ...builtinModules.map((m) => `${m}/*`)];

/**
 * @param {string} folder
 * @param {string} message
 * @param {boolean} [allowTypeImports] let `import type` through (renderer → server's AppRouter)
 */
const folder = (folder, message, allowTypeImports = false) => ({
  // Relative paths into the folder only: npm packages such as `@trpc/server/…` or `electron` are not folders of
  // ours (the bare `electron` package has its own rule with its own message).
  group: [`./${folder}`, `./${folder}/**`, `../**/${folder}`, `../**/${folder}/**`, `./**/${folder}/**`],
  message,
  allowTypeImports,
});

/** @param {{ name: string, message: string }[]} paths @param {object[]} patterns */
const restrict = (paths, patterns) => ({ '@typescript-eslint/no-restricted-imports': ['error', { paths, patterns }] });

export const boundaries = {
  shared: restrict(
    [{ name: 'electron', message: 'shared/ runs everywhere: no Electron.' }],
    [
      { group: nodeBuiltins, message: 'shared/ runs everywhere: no Node built-ins.' },
      folder('server', 'shared/ imports nothing from server/.'),
      folder('electron', 'shared/ imports nothing from electron/.'),
      folder('renderer', 'shared/ imports nothing from renderer/.'),
    ],
  ),
  renderer: restrict(
    [{ name: 'electron', message: 'The renderer is untrusted: reach the desktop only through window.megilance.' }],
    [
      { group: nodeBuiltins, message: 'The renderer runs in a browser: no Node built-ins.' },
      folder('electron', 'The renderer never imports electron/: use window.megilance (typed in shared/).'),
      folder('server', 'The renderer may import server/ only with `import type` (for AppRouter).', true),
    ],
  ),
  server: restrict(
    [{ name: 'electron', message: 'The server runs without Electron.' }],
    [folder('electron', 'server/ never imports electron/.'), folder('renderer', 'server/ never imports renderer/.')],
  ),
  electron: restrict(
    [],
    [
      folder('server', 'electron/ starts the server as a process; it never imports server/ code.'),
      folder('renderer', 'electron/ never imports renderer/ code.'),
    ],
  ),
};

export default tseslint.config(
  {
    ignores: ['dist/**', 'node_modules/**', 'coverage/**', 'test-results/**', 'bench/results/**'],
  },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        projectService: { allowDefaultProject: ['eslint.config.js'] },
        tsconfigRootDir: import.meta.dirname,
      },
      globals: { ...globals.node },
    },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/only-throw-error': 'error',
      'no-console': 'off',
      eqeqeq: ['error', 'always'],
    },
  },
  { files: ['**/*.js'], ...tseslint.configs.disableTypeChecked },
  { files: ['shared/**/*.ts'], rules: boundaries.shared },
  {
    files: ['renderer/**/*.{ts,tsx}'],
    languageOptions: { globals: { ...globals.browser } },
    plugins: { 'react-hooks': reactHooks },
    rules: {
      ...reactHooks.configs.recommended.rules,
      ...boundaries.renderer,
    },
  },
  { files: ['server/**/*.ts'], rules: boundaries.server },
  { files: ['electron/**/*.ts'], rules: boundaries.electron },
);
