/**
 * Electron's entry point (bundled to dist/electron/main.js). Only adapts the
 * real Electron modules for desktop-app.ts, where everything else happens,
 * so that logic runs under Node in tests.
 */
import { app, BrowserWindow, dialog, ipcMain, session, shell, utilityProcess } from 'electron';
import { runDesktopApp } from './desktop-app.ts';

void runDesktopApp(
  {
    app,
    createWindow: (options) => new BrowserWindow(options),
    defaultSession: () => session.defaultSession,
    ipcMain,
    openExternal: (url) => shell.openExternal(url),
    showErrorBox: (title, content) => dialog.showErrorBox(title, content),
    forkUtilityProcess: (modulePath, args, options) => utilityProcess.fork(modulePath, args, options),
  },
  {
    env: process.env,
    distDir: import.meta.dirname,
    platform: process.platform,
    versions: { electron: process.versions.electron, chrome: process.versions.chrome },
  },
).catch((error: unknown) => {
  dialog.showErrorBox(
    'MegiLance could not start',
    error instanceof Error ? (error.stack ?? error.message) : String(error),
  );
  app.exit(1);
});
