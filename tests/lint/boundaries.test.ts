/**
 * STYLE.md's layering is a failing lint check, not a hope: each case lints
 * a would-be file in a top-level folder with the project's real ESLint config.
 */
import { join } from 'node:path';
import { ESLint } from 'eslint';
import tseslint from 'typescript-eslint';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..', '..');
// The real config, minus type-aware parsing (the probe files exist only in memory).
const eslint = new ESLint({ cwd: root, overrideConfig: [tseslint.configs.disableTypeChecked] });

async function boundaryErrors(filePath: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: join(root, filePath) });
  return (result?.messages ?? [])
    .filter((m) => m.ruleId === '@typescript-eslint/no-restricted-imports' || m.fatal === true)
    .map((m) => m.message);
}

describe('import boundaries', () => {
  it.each([
    [
      'renderer/src/probe.ts',
      "import { readFileSync } from 'node:fs';\nexport const x = readFileSync;\n",
      'no Node built-ins',
    ],
    ['renderer/src/probe.ts', "import path from 'path';\nexport const x = path;\n", 'no Node built-ins'],
    [
      'renderer/src/probe.ts',
      "import { ipcRenderer } from 'electron';\nexport const x = ipcRenderer;\n",
      'window.megilance',
    ],
    [
      'renderer/src/probe.ts',
      "import { appRouter } from '../../server/router.ts';\nexport const x = appRouter;\n",
      'only with `import type`',
    ],
    [
      'renderer/src/probe.ts',
      "import { x } from '../../electron/security.ts';\nexport const y = x;\n",
      'never imports electron/',
    ],
    [
      'shared/probe.ts',
      "import { createHash } from 'node:crypto';\nexport const x = createHash;\n",
      'no Node built-ins',
    ],
    [
      'shared/probe.ts',
      "import type { AppRouter } from '../server/router.ts';\nexport type X = AppRouter;\n",
      'nothing from server/',
    ],
    ['shared/probe.ts', "import { app } from 'electron';\nexport const x = app;\n", 'no Electron'],
    [
      'server/probe.ts',
      "import { x } from '../renderer/src/main.tsx';\nexport const y = x;\n",
      'never imports renderer/',
    ],
    [
      'server/probe.ts',
      "import { BrowserWindow } from 'electron';\nexport const x = BrowserWindow;\n",
      'without Electron',
    ],
    [
      'electron/probe.ts',
      "import { startServer } from '../server/main.ts';\nexport const x = startServer;\n",
      'never imports server/',
    ],
  ])('%s: rejects %j', async (file, code, why) => {
    const errors = await boundaryErrors(file, code);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toContain(why);
  });

  it.each([
    ['renderer/src/probe.ts', "import type { AppRouter } from '../../server/router.ts';\nexport type X = AppRouter;\n"],
    [
      'renderer/src/probe.ts',
      "import { errorCatalogue } from '../../shared/errors.ts';\nexport const x = errorCatalogue;\n",
    ],
    ['server/probe.ts', "import { errorCatalogue } from '../shared/errors.ts';\nexport const x = errorCatalogue;\n"],
    ['shared/probe.ts', "import { z } from 'zod';\nexport const x = z.string();\n"],
  ])('%s: allows %j', async (file, code) => {
    expect(await boundaryErrors(file, code)).toEqual([]);
  });
});
