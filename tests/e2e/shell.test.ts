/// <reference lib="dom" />
// page.evaluate callbacks run in the browser: they see the DOM.
/**
 * The app shell end to end: a real server from a clean data dir, the built
 * renderer in real Chromium, a tRPC query and a WebSocket subscription
 * round-trip, the theme toggle, and the connection state when the server goes.
 * The shell is for signed-in users: each page signs in first (the account
 * screens themselves are tested in accounts.test.ts).
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureRendererBuilt } from '../../build/start.ts';
import { chromiumUnavailableReason, launchChromium, saveScreenshot, watchForErrors } from '../support/browser.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { startTestSmtpServer, type TestSmtpServer } from '../support/smtp.ts';

const skipReason = chromiumUnavailableReason();
if (skipReason !== null) console.warn(`[e2e] skipping: ${skipReason}`);

let server: TestServer;
let smtp: TestSmtpServer;
let browser: Browser;
const account = { email: `shell-${Date.now()}@example.com`, password: 'correct horse battery staple' };

beforeAll(async () => {
  if (skipReason !== null) return;
  ensureRendererBuilt();
  smtp = await startTestSmtpServer();
  server = await startTestServer({
    MAIL_SMTP_HOST: smtp.host,
    MAIL_SMTP_PORT: String(smtp.port),
    MAIL_SMTP_SECURITY: 'none',
    MAIL_FROM: 'MegiLance <no-reply@megilance.test>',
  });
  browser = await launchChromium();
  await createAccount();
});

afterAll(async () => {
  await browser?.close();
  await server?.dispose();
  await smtp?.close();
});

/** Signs up through the UI and confirms the email with the mailed code. */
async function createAccount(): Promise<void> {
  const page = await browser.newPage();
  await page.goto(`${server.url}/sign-up`);
  await page.getByLabel('Your name').fill('Shell Tester');
  await page.getByLabel('Email address').fill(account.email);
  await page.getByLabel('Password', { exact: true }).fill(account.password);
  await page.getByRole('button', { name: 'Create account' }).click();
  const mail = await smtp.waitForMessage((m) => m.to.includes(account.email), 10_000);
  await page.getByLabel('6-digit code').fill(/\b(\d{6})\b/.exec(mail.text ?? '')?.[1] ?? '');
  await page.getByRole('button', { name: 'Confirm email' }).click();
  await page.waitForURL((url) => url.pathname === '/jobs', { timeout: 15_000 });
  await page.close();
}

async function openShell(path = '/'): Promise<{ page: Page; errors: string[]; frames: string[] }> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 }, colorScheme: 'light' });
  const errors = watchForErrors(page);
  const frames: string[] = [];
  page.on('websocket', (ws) => ws.on('framereceived', (frame) => frames.push(String(frame.payload))));
  await page.goto(`${server.url}${path}`);
  // A new browser context is signed out: the app asks to sign in, then goes where it was asked to.
  await expect.poll(() => new URL(page.url()).pathname).toBe('/sign-in');
  await page.getByLabel('Email address').fill(account.email);
  await page.getByLabel('Password', { exact: true }).fill(account.password);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await expect.poll(() => page.getByRole('navigation', { name: 'Main' }).count(), { timeout: 15_000 }).toBe(1);
  await expect.poll(() => page.getByRole('status').textContent(), { timeout: 15_000 }).toBe('Connected');
  return { page, errors, frames };
}

describe('app shell in Chromium', () => {
  it('renders the shell with navigation for every area, connected to the server', async (ctx) => {
    if (skipReason !== null) return ctx.skip(skipReason);
    const { page, errors, frames } = await openShell();
    expect(new URL(page.url()).pathname).toBe('/jobs');
    const nav = page.getByRole('navigation', { name: 'Main' });
    for (const area of ['Jobs', 'Contracts', 'Messages', 'Calls', 'Wallet', 'Security', 'Settings']) {
      await expect.poll(() => nav.getByRole('link', { name: area }).count()).toBe(1);
    }
    expect(await nav.getByRole('link', { name: 'Jobs' }).getAttribute('aria-current')).toBe('page');
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('Jobs');

    // The WebSocket subscription delivered live server status to the page.
    expect(frames.some((f) => f.includes('"state":"ready"'))).toBe(true);
    // The tRPC query (system.info) reached the status bar.
    await expect.poll(() => page.getByText('Server 0.1.0 · SQLite').count()).toBe(1);

    await saveScreenshot(page, 'shell-light');
    expect(errors).toEqual([]);
    await page.close();
  });

  it('navigates by keyboard and by deep link, with the server info on Settings', async (ctx) => {
    if (skipReason !== null) return ctx.skip(skipReason);
    const { page, errors } = await openShell('/settings');
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('Settings');
    const about = page.getByRole('heading', { name: 'About this server' });
    expect(await about.count()).toBe(1);
    await expect.poll(() => page.locator('main').textContent()).toContain('SQLite');

    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('Skip to content');
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Wallet' }).focus();
    await page.keyboard.press('Enter');
    await expect.poll(() => new URL(page.url()).pathname).toBe('/wallet');
    // The URL changes a few ms before the new screen renders (a React transition): wait for it.
    await expect.poll(() => page.getByRole('heading', { level: 1 }).textContent()).toBe('Wallet');
    expect(errors).toEqual([]);
    await page.close();
  });

  it('toggles between light and dark, and remembers the choice', async (ctx) => {
    if (skipReason !== null) return ctx.skip(skipReason);
    const { page, errors } = await openShell();
    const background = () => page.evaluate(() => getComputedStyle(document.body).backgroundColor);
    const theme = () => page.evaluate(() => document.documentElement.dataset['theme']);
    expect(await theme()).toBe('light');
    const lightBackground = await background();

    await page.getByRole('button', { name: 'Toggle theme' }).click();
    expect(await theme()).toBe('dark');
    expect(await background()).not.toBe(lightBackground);
    await saveScreenshot(page, 'shell-dark');

    await page.reload();
    await expect.poll(() => page.getByRole('status').textContent()).toBe('Connected');
    expect(await theme()).toBe('dark');

    await page.getByRole('button', { name: 'Toggle theme' }).click();
    expect(await theme()).toBe('light');
    expect(await background()).toBe(lightBackground);
    expect(errors).toEqual([]);
    await page.close();
  });

  it('shows the server restarting when it drains', async (ctx) => {
    if (skipReason !== null) return ctx.skip(skipReason);
    const { page } = await openShell();
    await server.stop('e2e drain');
    await expect
      .poll(() => page.getByRole('status').textContent(), { timeout: 15_000 })
      .toMatch(/^(Server restarting|Offline — reconnecting)$/);
    await saveScreenshot(page, 'shell-server-gone');
    await page.close();
  });
});
