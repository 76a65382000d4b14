/// <reference lib="dom" />
// page.evaluate callbacks run in the browser: they see the DOM.
/**
 * Accounts end to end: a real server from a clean data dir, mail through a
 * real SMTP server on loopback, the built renderer in real Chromium.
 *
 * One story, in order: a visitor asks for /security, is sent to sign-in,
 * signs up, confirms the email with the mailed code and lands on /security
 * signed in; signs out and back in; a second device (another browser
 * context) signs in, and the first signs it out from the Security page,
 * after which the second device's next action is refused and it is back at
 * sign-in. Failed requests the story provokes on purpose (a wrong code, a
 * wrong password, the revoked device) are checked one by one; any other
 * console error fails the test.
 */
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureRendererBuilt } from '../../build/start.ts';
import { chromiumUnavailableReason, launchChromium, saveScreenshot, watchForErrors } from '../support/browser.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { startTestSmtpServer, type CapturedMail, type TestSmtpServer } from '../support/smtp.ts';

const skipReason = chromiumUnavailableReason();
if (skipReason !== null) console.warn(`[e2e] skipping: ${skipReason}`);

const SAFARI_ON_MAC =
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_0) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Safari/605.1.15';

let smtp: TestSmtpServer;
let server: TestServer;
let browser: Browser;

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
});

afterAll(async () => {
  await browser?.close();
  await server?.dispose();
  await smtp?.close();
});

const account = {
  name: 'Ada Lovelace',
  email: `ada-${Date.now()}@example.com`,
  password: 'analytical engine 1843',
};

/** Codes already typed in: each step reads the newest mail it has not used. */
const usedMail = new Set<CapturedMail>();
async function mailedCode(subject: RegExp): Promise<string> {
  const mail = await smtp.waitForMessage(
    (m) => !usedMail.has(m) && m.to.includes(account.email) && subject.test(m.subject),
    10_000,
  );
  usedMail.add(mail);
  const code = /\b(\d{6})\b/.exec(mail.text ?? '')?.[1];
  if (code === undefined) throw new Error(`no code in mail "${mail.subject}"`);
  return code;
}

interface Device {
  context: BrowserContext;
  page: Page;
  errors: string[];
  /** WebSocket frames the page sent. */
  sent: string[];
}

async function openDevice(userAgent?: string): Promise<Device> {
  const context = await browser.newContext({
    viewport: { width: 1280, height: 860 },
    colorScheme: 'light',
    ...(userAgent === undefined ? {} : { userAgent }),
  });
  const page = await context.newPage();
  const errors = watchForErrors(page);
  const sent: string[] = [];
  page.on('websocket', (ws) => ws.on('framesent', (frame) => sent.push(String(frame.payload))));
  return { context, page, errors, sent };
}

const path = (page: Page) => {
  const url = new URL(page.url());
  return `${url.pathname}${url.search}`;
};
const heading = (page: Page) => page.getByRole('heading', { level: 1 }).textContent();
const connected = (page: Page) =>
  expect.poll(() => page.getByRole('status').textContent(), { timeout: 15_000 }).toBe('Connected');

/** The shell scrolls inside <main>: grow the window to the content for a screenshot of all of it. */
async function saveWholeScreen(page: Page, name: string): Promise<void> {
  const size = page.viewportSize() ?? { width: 1280, height: 860 };
  const overflow = await page.evaluate(() => {
    const main = document.querySelector('main');
    return main === null ? 0 : main.scrollHeight - main.clientHeight;
  });
  await page.setViewportSize({ width: size.width, height: size.height + Math.max(0, overflow) });
  await saveScreenshot(page, name);
  await page.setViewportSize(size);
}

/**
 * Runs `action`, which makes the server refuse requests on purpose, and checks
 * that the only console errors it caused are Chromium's notes of those refusals.
 */
async function expectRefusals(
  device: Device,
  statuses: (number | 'network')[],
  action: () => Promise<void>,
): Promise<void> {
  const before = device.errors.length;
  await action();
  const caused = device.errors.splice(before);
  expect(caused).toHaveLength(statuses.length);
  for (const [i, status] of statuses.entries()) {
    expect(caused[i]).toMatch(
      status === 'network'
        ? /^Failed to load resource: net::ERR_FAILED$/
        : new RegExp(`^Failed to load resource: the server responded with a status of ${status}\\b`),
    );
  }
}

/** Password accepted: either signed in at once, or (a risky sign-in) asked for the mailed code first. */
async function finishSignIn(device: Device, landing: string, screenshot?: string): Promise<'direct' | 'second-step'> {
  const { page } = device;
  await expect.poll(() => path(page), { timeout: 15_000 }).toMatch(new RegExp(`^(${landing}|/sign-in/second-step)`));
  if (!path(page).startsWith('/sign-in/second-step')) return 'direct';
  await expect.poll(() => heading(page)).toBe('Confirm it is you');
  if (screenshot !== undefined) await saveScreenshot(page, screenshot);
  await page.getByLabel('Code from the email').fill(await mailedCode(/sign-in code/i));
  await page.getByRole('button', { name: 'Verify and sign in' }).click();
  await expect.poll(() => path(page), { timeout: 15_000 }).toBe(landing);
  return 'second-step';
}

async function signIn(device: Device, landing: string, screenshot?: string) {
  const { page } = device;
  await page.getByLabel('Email address').fill(account.email);
  await page.getByLabel('Password', { exact: true }).fill(account.password);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  return finishSignIn(device, landing, screenshot);
}

let laptop: Device;
let phone: Device;

describe('accounts in Chromium', () => {
  it('sends a visitor to sign-in, signs them up, confirms the email and returns them where they were', async (ctx) => {
    if (skipReason !== null) return ctx.skip(skipReason);
    laptop = await openDevice();
    const { page } = laptop;
    await page.goto(`${server.url}/security`);
    await expect.poll(() => path(page)).toBe('/sign-in?next=%2Fsecurity');
    await expect.poll(() => heading(page)).toBe('Sign in');
    await connected(page);
    await saveScreenshot(page, 'accounts-sign-in');

    await page.getByRole('link', { name: 'Create an account' }).click();
    await expect.poll(() => path(page)).toBe('/sign-up?next=%2Fsecurity');
    await expect.poll(() => heading(page)).toBe('Create your account');

    // The server's rules, checked before sending, beside each field; the first one in trouble gets focus.
    await page.getByLabel('Email address').fill('ada@');
    await page.getByLabel('Password', { exact: true }).fill('too short');
    await page.getByRole('button', { name: 'Create account' }).click();
    const nameField = page.getByLabel('Your name');
    await expect.poll(() => nameField.evaluate((el) => el === document.activeElement)).toBe(true);
    expect(await nameField.getAttribute('aria-invalid')).toBe('true');
    expect(await page.locator('#sign-up-displayName-error').textContent()).toBe('Enter your name.');
    expect(await page.locator('#sign-up-email-error').textContent()).toBe(
      'Enter a valid email address, like name@example.com.',
    );
    expect(await page.locator('#sign-up-password-error').textContent()).toBe('Use at least 12 characters.');
    expect(await page.getByLabel('Password', { exact: true }).getAttribute('aria-describedby')).toContain(
      'sign-up-password-error',
    );
    await saveScreenshot(page, 'accounts-sign-up-errors');

    await nameField.fill(account.name);
    await page.getByLabel('Email address').fill(account.email);
    await page.getByLabel('Password', { exact: true }).fill(account.password);
    // An error goes as soon as its field is fixed.
    expect(await page.locator('#sign-up-password-error').count()).toBe(0);
    await saveScreenshot(page, 'accounts-sign-up');
    await page.getByRole('button', { name: 'Create account' }).click();

    await expect.poll(() => path(page)).toBe('/verify-email?next=%2Fsecurity');
    await expect.poll(() => heading(page)).toBe('Confirm your email');
    await expect.poll(() => page.locator('main').textContent()).toContain(`We sent a 6-digit code to ${account.email}`);
    // A new code cannot be asked for straight away.
    expect(await page.getByRole('button', { name: /^Send a new code \(\d+ s\)$/ }).getAttribute('aria-disabled')).toBe(
      'true',
    );

    const code = await mailedCode(/Confirm your email/);
    const codeField = page.getByLabel('6-digit code');
    const wrong = code === '000000' ? '111111' : '000000';
    await expectRefusals(laptop, [400], async () => {
      await codeField.fill(wrong);
      await page.getByRole('button', { name: 'Confirm email' }).click();
      await expect
        .poll(() => page.locator('#verify-email-code-error').textContent())
        .toBe('That code is not right or has expired. Check the latest email or ask for a new code.');
    });
    // Nothing typed is lost on an error.
    expect(await codeField.inputValue()).toBe(wrong);
    await saveScreenshot(page, 'accounts-verify-email-error');

    await codeField.fill(code);
    await page.getByRole('button', { name: 'Confirm email' }).click();
    await expect.poll(() => path(page), { timeout: 15_000 }).toBe('/security');
    await expect.poll(() => heading(page)).toBe('Security');
    const banner = page.getByRole('banner');
    await expect.poll(() => banner.textContent()).toContain(account.name);
    // Signed in over the WebSocket too: it reopened and presented the access token.
    await expect
      .poll(() => laptop.sent.some((f) => f.includes('"method":"connectionParams"') && /"accessToken":"mla_/.test(f)))
      .toBe(true);
    expect(laptop.errors).toEqual([]);
  });

  it('keeps the session across a reload, signs out from the header, and signs back in', async (ctx) => {
    if (skipReason !== null) return ctx.skip(skipReason);
    const { page } = laptop;
    // The access token lives in memory only; the refresh cookie brings the session back.
    await page.reload();
    await expect.poll(() => page.getByRole('banner').textContent()).toContain(account.name);
    expect(path(page)).toBe('/security');
    // Nothing a script could steal survives in storage: the refresh token is an httpOnly cookie.
    const stored = await page.evaluate(
      () => JSON.stringify({ ...localStorage }) + JSON.stringify({ ...sessionStorage }),
    );
    expect(stored).not.toMatch(/ml[ar]_/);
    const refreshCookie = (await laptop.context.cookies()).find((c) => c.name === 'megilance_refresh');
    expect(refreshCookie).toMatchObject({ httpOnly: true, secure: true, sameSite: 'Strict', path: '/trpc' });

    // A server out of reach at start-up does not sign anyone out: the app says so, and carries on once it answers.
    await page.route('**/trpc/auth.refresh*', (route) => route.abort());
    await expectRefusals(laptop, ['network'], async () => {
      await page.reload();
      await expect.poll(() => heading(page)).toBe('Cannot reach the server');
    });
    await saveScreenshot(page, 'accounts-unreachable');
    await page.unroute('**/trpc/auth.refresh*');
    await page.getByRole('button', { name: 'Try again' }).click();
    await expect.poll(() => heading(page)).toBe('Security');
    await expect.poll(() => page.getByRole('banner').textContent()).toContain(account.name);

    await page.getByRole('banner').getByRole('button', { name: 'Sign out', exact: true }).click();
    await expect.poll(() => path(page)).toBe('/sign-in');
    await expect.poll(() => page.locator('main').textContent()).toContain('You signed out.');

    // The server's own words for a wrong password, and the email stays typed in.
    await expectRefusals(laptop, [401], async () => {
      await page.getByLabel('Email address').fill(account.email);
      await page.getByLabel('Password', { exact: true }).fill('not the password at all');
      await page.getByRole('button', { name: 'Sign in', exact: true }).click();
      await expect
        .poll(() => page.getByRole('alert').textContent())
        .toBe('That email and password do not match an account.');
    });
    expect(await page.getByLabel('Email address').inputValue()).toBe(account.email);
    await saveScreenshot(page, 'accounts-sign-in-error');

    await page.getByLabel('Password', { exact: true }).fill(account.password);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await finishSignIn(laptop, '/jobs');
    await expect.poll(() => page.getByRole('banner').textContent()).toContain(account.name);
    expect(laptop.errors).toEqual([]);
  });

  it('lists this device on the Security page, with the security activity', async (ctx) => {
    if (skipReason !== null) return ctx.skip(skipReason);
    const { page } = laptop;
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Security' }).click();
    await expect.poll(() => path(page)).toBe('/security');
    const devices = page.getByRole('region', { name: 'Signed-in devices' });
    await expect.poll(() => devices.getByRole('listitem').count()).toBe(1);
    const thisDevice = devices.getByRole('listitem').first();
    expect(await thisDevice.textContent()).toContain('This device');
    expect(await thisDevice.textContent()).toContain('Active now');
    expect(await devices.textContent()).toContain('No other devices are signed in.');

    const activity = page.getByRole('region', { name: 'Security activity' });
    await expect.poll(() => activity.getByRole('listitem').count()).toBeGreaterThanOrEqual(5);
    const sentences = await activity.getByRole('listitem').allTextContents();
    expect(sentences.at(-1)).toContain('Account created');
    expect(sentences.some((s) => s.startsWith('Signed out'))).toBe(true);
    expect(sentences.some((s) => s.includes('Failed sign-in attempt: wrong password'))).toBe(true);
    expect(await page.getByRole('region', { name: 'Two-step verification' }).textContent()).toContain(
      'Set up authenticator app',
    );
    await saveWholeScreen(page, 'accounts-security');
    await page.getByRole('button', { name: 'Toggle theme' }).click();
    await saveWholeScreen(page, 'accounts-security-dark');
    await page.getByRole('button', { name: 'Toggle theme' }).click();
    expect(laptop.errors).toEqual([]);
  });

  it('signs another device out from the Security page; its next action is refused and it is back at sign-in', async (ctx) => {
    if (skipReason !== null) return ctx.skip(skipReason);
    phone = await openDevice(SAFARI_ON_MAC);
    await phone.page.goto(`${server.url}/security`);
    await expect.poll(() => path(phone.page)).toBe('/sign-in?next=%2Fsecurity');
    await connected(phone.page);
    await signIn(phone, '/security', 'accounts-second-step');
    const phoneDevices = phone.page.getByRole('region', { name: 'Signed-in devices' });
    await expect.poll(() => phoneDevices.getByRole('listitem').count()).toBe(2);
    expect(await phoneDevices.getByRole('listitem').first().textContent()).toMatch(/^Safari 17 on macOS\s*This device/);

    // The laptop sees the new device (after a reload of the list) and signs it out, after confirming.
    const { page } = laptop;
    await page.reload();
    await connected(page);
    const devices = page.getByRole('region', { name: 'Signed-in devices' });
    await expect.poll(() => devices.getByRole('listitem').count()).toBe(2);
    await devices.getByRole('button', { name: 'Sign out Safari 17 on macOS' }).click();
    const dialog = page.getByRole('dialog', { name: 'Sign out Safari 17 on macOS?' });
    await expect.poll(() => dialog.isVisible()).toBe(true);
    // Cancel has focus: a stray Enter signs nobody out.
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('Cancel');
    await saveScreenshot(page, 'accounts-security-confirm');
    await dialog.getByRole('button', { name: 'Sign out device' }).click();
    await expect.poll(() => devices.textContent()).toContain('Safari 17 on macOS was signed out.');
    await expect.poll(() => devices.getByRole('listitem').count()).toBe(1);
    expect(await page.getByRole('dialog').count()).toBe(0);
    await expect
      .poll(() => page.getByRole('region', { name: 'Security activity' }).textContent())
      .toContain('You signed out a device');
    await saveWholeScreen(page, 'accounts-security-after');
    expect(laptop.errors).toEqual([]);

    // The server closes the phone's live connection at once, so the phone learns it was signed out without
    // doing anything; at the latest its next call is refused. Either way it lands on the sign-in screen, and
    // the only console errors are Chromium's notes of those refusals (how many depends on the timing).
    const before = phone.errors.length;
    await expect.poll(() => path(phone.page), { timeout: 15_000 }).toBe('/sign-in?next=%2Fsecurity');
    await expect.poll(() => heading(phone.page)).toBe('Sign in');
    await expect
      .poll(() => phone.page.locator('main').textContent())
      .toContain('You have been signed out. Please sign in again.');
    // Calls still in flight when the session ended are refused too; let them settle before counting.
    for (let seen = -1; seen !== phone.errors.length;) {
      seen = phone.errors.length;
      await phone.page.waitForTimeout(500);
    }
    for (const refusal of phone.errors.splice(before)) {
      expect(refusal).toMatch(/^Failed to load resource: the server responded with a status of 401\b/);
    }
    await saveScreenshot(phone.page, 'accounts-signed-out-remotely');
    expect(phone.errors).toEqual([]);

    // The laptop was not touched.
    await page.reload();
    await expect.poll(() => devices.getByRole('listitem').count()).toBe(1);
    expect(path(page)).toBe('/security');
    expect(laptop.errors).toEqual([]);
  });

  it('resets a forgotten password with the mailed code, which signs out every device', async (ctx) => {
    if (skipReason !== null) return ctx.skip(skipReason);
    const { page } = phone;
    await page.getByLabel('Email address').fill(account.email);
    await page.getByRole('link', { name: 'Forgot your password?' }).click();
    await expect.poll(() => heading(page)).toBe('Reset your password');
    // The address typed on the sign-in screen came along.
    expect(await page.getByLabel('Email address').inputValue()).toBe(account.email);
    await page.getByRole('button', { name: 'Send code' }).click();

    await expect.poll(() => heading(page)).toBe('Choose a new password');
    expect(path(page)).toBe('/reset-password?next=%2Fsecurity');
    await page.getByLabel('6-digit code').fill(await mailedCode(/Reset your MegiLance password/));
    await page.getByLabel('New password', { exact: true }).fill('short');
    await page.getByRole('button', { name: 'Reset password' }).click();
    await expect
      .poll(() => page.locator('#reset-password-newPassword-error').textContent())
      .toBe('Use at least 12 characters.');
    await saveScreenshot(page, 'accounts-reset-password');
    account.password = 'difference engine 1822';
    await page.getByLabel('New password', { exact: true }).fill(account.password);
    await page.getByRole('button', { name: 'Reset password' }).click();

    await expect.poll(() => path(page)).toBe('/sign-in?next=%2Fsecurity');
    await expect.poll(() => page.locator('main').textContent()).toContain('Your password was reset');
    expect(await page.getByLabel('Email address').inputValue()).toBe(account.email);
    await page.getByLabel('Password', { exact: true }).fill(account.password);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await finishSignIn(phone, '/security');
    expect(phone.errors).toEqual([]);

    // The reset ended the laptop's session too: the next time it opens, it is asked to sign in.
    await expectRefusals(laptop, [401], async () => {
      await laptop.page.reload();
      await expect.poll(() => path(laptop.page), { timeout: 15_000 }).toBe('/sign-in?next=%2Fsecurity');
    });
    await expect
      .poll(() => laptop.page.locator('main').textContent())
      .toContain('You have been signed out. Please sign in again.');
    expect(laptop.errors).toEqual([]);
    await phone.context.close();
    await laptop.context.close();
  });
});
