/**
 * `node build/make-icon.ts`: renders build/icon.svg (the source of the app
 * icon) with Chromium into the PNGs electron-builder packages:
 *
 *   build/icon.png          1024×1024: macOS (converted to .icns) and Windows (.ico) take it from here
 *   build/icons/<N>x<N>.png the Linux icon set (hicolor sizes), named as electron-builder expects
 *
 * The PNGs are committed, so packaging needs no browser; run this again
 * after changing the SVG. Chromium comes from Debian (/usr/bin/chromium, or
 * MEGILANCE_CHROMIUM), driven by playwright-core.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { chromium } from 'playwright-core';

const root = resolve(import.meta.dirname, '..');
export const LINUX_ICON_SIZES = [16, 24, 32, 48, 64, 128, 256, 512] as const;
export const MAIN_ICON_SIZE = 1024;

export async function makeIcons(buildDir: string = join(root, 'build')): Promise<string[]> {
  const svg = readFileSync(join(buildDir, 'icon.svg'), 'utf8');
  const browser = await chromium.launch({
    executablePath: process.env['MEGILANCE_CHROMIUM'] ?? '/usr/bin/chromium',
    args: ['--no-sandbox', '--headless', '--disable-gpu', '--no-first-run', '--disable-background-networking'],
  });
  const written: string[] = [];
  try {
    const page = await browser.newPage({ deviceScaleFactor: 1 });
    const render = async (size: number, file: string): Promise<void> => {
      await page.setViewportSize({ width: size, height: size });
      // The SVG scaled to the viewport; a transparent page, so the rounded corners stay transparent.
      const sized = svg.replace(/width="1024" height="1024"/, `width="${size}" height="${size}"`);
      await page.setContent(
        `<!doctype html><style>html,body{margin:0;background:transparent}svg{display:block}</style>${sized}`,
      );
      await page.screenshot({ path: file, omitBackground: true, clip: { x: 0, y: 0, width: size, height: size } });
      written.push(file);
    };
    await render(MAIN_ICON_SIZE, join(buildDir, 'icon.png'));
    mkdirSync(join(buildDir, 'icons'), { recursive: true });
    for (const size of LINUX_ICON_SIZES) await render(size, join(buildDir, 'icons', `${size}x${size}.png`));
  } finally {
    await browser.close();
  }
  return written;
}

if (import.meta.main) {
  for (const file of await makeIcons()) console.log(`  ${relative(root, file)}`);
}
