/**
 * Electron's entry point (bundled to dist/electron/main.js). Only adapts the
 * real Electron modules for desktop-app.ts, where everything else happens,
 * so that logic runs under Node in tests.
 */
import { createRequire } from 'node:module';
import {
  app,
  BrowserWindow,
  desktopCapturer,
  dialog,
  ipcMain,
  Menu,
  Notification,
  protocol,
  screen,
  session,
  shell,
  Tray,
  utilityProcess,
} from 'electron';
import { runDesktopApp } from './desktop-app.ts';
import type { AppUpdaterLike } from './updates.ts';

void runDesktopApp(
  {
    app,
    createWindow: (options) => new BrowserWindow(options),
    defaultSession: () => session.defaultSession,
    protocol: {
      registerSchemesAsPrivileged: (schemes) => protocol.registerSchemesAsPrivileged(schemes),
      handle: (scheme, handler) => protocol.handle(scheme, handler),
    },
    screen: () => screen,
    ipcMain,
    openExternal: (url) => shell.openExternal(url),
    showErrorBox: (title, content) => dialog.showErrorBox(title, content),
    forkUtilityProcess: (modulePath, args, options) => utilityProcess.fork(modulePath, args, options),
    notifications: {
      isSupported: () => Notification.isSupported(),
      create: (options) => new Notification(options),
    },
    createTray: (iconPath) => new Tray(iconPath),
    buildMenu: (template) => Menu.buildFromTemplate(template),
    // Required by name when updates are on (like keytar), so it ships in node_modules and is not bundled.
    captureSources: () =>
      desktopCapturer.getSources({ types: ['screen', 'window'], thumbnailSize: { width: 320, height: 180 } }),
    setDisplayMediaRequestHandler: (handler) =>
      session.defaultSession.setDisplayMediaRequestHandler((request, callback) =>
        handler(request, (streams) => callback(streams)),
      ),
    loadUpdater: () =>
      (createRequire(import.meta.url)('electron-updater') as { autoUpdater: AppUpdaterLike }).autoUpdater,
  },
  {
    env: process.env,
    distDir: import.meta.dirname,
    platform: process.platform,
    versions: { electron: process.versions.electron, chrome: process.versions.chrome },
    argv: process.argv,
    defaultApp: process.defaultApp === true,
    execPath: process.execPath,
    resourcesPath: process.resourcesPath,
  },
).catch((error: unknown) => {
  dialog.showErrorBox(
    'MegiLance could not start',
    error instanceof Error ? (error.stack ?? error.message) : String(error),
  );
  app.exit(1);
});
