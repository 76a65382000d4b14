/**
 * Vite builds the renderer (renderer/ → dist/renderer). Vitest's two
 * projects live here too: `unit` (tests beside the code, Node) and `e2e`
 * (tests/e2e, real Chromium against a real server).
 */
import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vitest/config';

const root = fileURLToPath(new URL('.', import.meta.url));
const serverPort = Number(process.env['MEGILANCE_PORT'] ?? 8420);

export default defineConfig({
  root: `${root}renderer`,
  base: '/',
  plugins: [react()],
  build: {
    outDir: `${root}dist/renderer`,
    emptyOutDir: true,
    sourcemap: true,
    target: 'es2023',
  },
  server: {
    // `npm run dev`: the UI with hot reload, the API from a running server.
    port: 5173,
    strictPort: true,
    proxy: {
      '/trpc': { target: `http://127.0.0.1:${serverPort}`, ws: true },
      '/healthz': `http://127.0.0.1:${serverPort}`,
    },
  },
  test: {
    root,
    projects: [
      {
        extends: false,
        test: {
          name: 'unit',
          root,
          include: ['{server,shared,electron,renderer,build,tests}/**/*.test.{ts,tsx}'],
          exclude: ['tests/e2e/**', 'node_modules/**', 'dist/**'],
          environment: 'node',
          testTimeout: 20_000,
          hookTimeout: 30_000,
        },
      },
      {
        extends: false,
        test: {
          name: 'e2e',
          root,
          include: ['tests/e2e/**/*.test.ts'],
          environment: 'node',
          testTimeout: 60_000,
          hookTimeout: 90_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
