/** Real Chromium (Debian's) driven by playwright-core, with the flags this offline machine needs. */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';

export const chromiumPath = process.env['MEGILANCE_CHROMIUM'] ?? '/usr/bin/chromium';
export const artifactsDir = join(import.meta.dirname, '..', '..', 'test-results', 'e2e');

/** null when Chromium can run, otherwise why the browser suites are skipped. */
export function chromiumUnavailableReason(): string | null {
  return existsSync(chromiumPath)
    ? null
    : `Chromium not found at ${chromiumPath} (apt-get install chromium, or set MEGILANCE_CHROMIUM)`;
}

export async function launchChromium(extraArgs: string[] = []): Promise<Browser> {
  return chromium.launch({
    executablePath: chromiumPath,
    headless: true,
    args: [
      '--no-sandbox',
      '--headless',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      ...extraArgs,
    ],
  });
}

/** Collects console errors and page crashes so a test can assert there were none. */
export function watchForErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(message.text());
  });
  page.on('pageerror', (error) => errors.push(error.message));
  return errors;
}

export async function saveScreenshot(page: Page, name: string): Promise<string> {
  mkdirSync(artifactsDir, { recursive: true });
  const path = join(artifactsDir, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}
