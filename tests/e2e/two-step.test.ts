/// <reference lib="dom" />
// page.evaluate callbacks run in the browser: they see the DOM.
/**
 * Two-step verification end to end: a real server from a clean data dir,
 * mail through a real SMTP server on loopback, the built renderer in real
 * Chromium at http://localhost:<port> (WebAuthn needs a host name), with a
 * CDP virtual authenticator for passkeys.
 *
 * One story, in order: sign up in the UI; on the Security page set up an
 * authenticator app (codes computed from the secret the page shows) and
 * keep the backup codes it shows once; sign in with the app's code; sign in
 * with a backup code (9 left); the same backup code again is refused with a
 * clear message (another one works); add a passkey, rename it; sign in with
 * the passkey alone, then with the password and the passkey as the second
 * step; add a phone for SMS codes (texts go through Twilio's wire format to a
 * loopback server) after a step-up with a backup code; sign in with a texted
 * code; make SMS the default, so the next sign-in texts the code at once.
 * Refusals the story provokes on purpose are checked one by one; any other
 * console error fails the test.
 */
import { readFileSync } from 'node:fs';
import { generate } from 'otplib';
import type { Browser, BrowserContext, CDPSession, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureRendererBuilt } from '../../build/start.ts';
import { chromiumUnavailableReason, launchChromium, saveScreenshot, watchForErrors } from '../support/browser.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { startTestSmtpServer, type CapturedMail, type TestSmtpServer } from '../support/smtp.ts';
import { startTestTwilioServer, type TestTwilioServer } from '../support/twilio.ts';

const skipReason = chromiumUnavailableReason();
if (skipReason !== null) console.warn(`[e2e] skipping: ${skipReason}`);

let smtp: TestSmtpServer;
let twilio: TestTwilioServer;
let server: TestServer;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let errors: string[];
let origin: string;

beforeAll(async () => {
  if (skipReason !== null) return;
  ensureRendererBuilt();
  smtp = await startTestSmtpServer();
  twilio = await startTestTwilioServer();
  server = await startTestServer({
    SMS_TWILIO_ACCOUNT_SID: twilio.accountSid,
    SMS_TWILIO_AUTH_TOKEN: twilio.authToken,
    SMS_TWILIO_FROM: twilio.fromNumbers[0]!,
    SMS_TWILIO_BASE_URL: twilio.baseUrl,
    SMS_MIN_INTERVAL_SECONDS: '0',
    MAIL_SMTP_HOST: smtp.host,
    MAIL_SMTP_PORT: String(smtp.port),
    MAIL_SMTP_SECURITY: 'none',
    MAIL_FROM: 'MegiLance <no-reply@megilance.test>',
    // The widest window, so no step-up lapses however slow the machine.
    STEP_UP_WINDOW_MINUTES: '60',
  });
  // http://localhost:<port>: a host name WebAuthn accepts as the RP ID.
  origin = server.deps.publicOrigin();
  browser = await launchChromium();
  context = await browser.newContext({ viewport: { width: 1280, height: 900 }, colorScheme: 'light' });
  page = await context.newPage();
  errors = watchForErrors(page);
});

afterAll(async () => {
  await context?.close();
  await browser?.close();
  await server?.dispose();
  await twilio?.close();
  await smtp?.close();
});

const account = {
  name: 'Grace Hopper',
  email: `grace-${Date.now()}@example.com`,
  password: 'compiler a-0 in 1952',
  phone: { typed: '+44 7700 900461', e164: '+447700900461', masked: '+44*******461' },
};
let secret = '';
let backupCodes: string[] = [];

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

/** The code in the next text to the account's phone (after the `seen` earlier ones). */
async function textedCode(seen: number): Promise<string> {
  await expect
    .poll(() => twilio.messages.filter((m) => m.to === account.phone.e164).length, { timeout: 10_000 })
    .toBeGreaterThan(seen);
  const text = twilio.messages.filter((m) => m.to === account.phone.e164).at(-1)!;
  return /\b(\d{6})\b/.exec(text.body)![1]!;
}
const textsSoFar = () => twilio.messages.filter((m) => m.to === account.phone.e164).length;

/** The app's code `steps` time steps from now (the server accepts ±1 and never the same step twice). */
const appCode = (steps = 0) => generate({ secret, epoch: Math.floor(Date.now() / 1000) + steps * 30 });

const path = () => {
  const url = new URL(page.url());
  return `${url.pathname}${url.search}`;
};
const heading = () => page.getByRole('heading', { level: 1 }).textContent();
const twoStep = () => page.getByRole('region', { name: 'Two-step verification' });
const signedIn = () =>
  expect
    .poll(() => page.getByRole('banner').getByRole('button', { name: 'Sign out', exact: true }).count(), {
      timeout: 15_000,
    })
    .toBe(1);

/** Runs `action`, which makes the server refuse on purpose, and checks those refusals are the only console errors. */
async function expectRefusals(statuses: number[], action: () => Promise<void>): Promise<void> {
  const before = errors.length;
  await action();
  const caused = errors.splice(before);
  expect(caused).toHaveLength(statuses.length);
  for (const [i, status] of statuses.entries()) {
    expect(caused[i]).toMatch(
      new RegExp(`^Failed to load resource: the server responded with a status of ${status}\\b`),
    );
  }
}

async function signOut(): Promise<void> {
  await page.getByRole('banner').getByRole('button', { name: 'Sign out', exact: true }).click();
  await expect.poll(() => path()).toBe('/sign-in');
}

/** Email and password; the server then asks for the second step. */
async function signInWithPassword(): Promise<void> {
  await page.getByLabel('Email address').fill(account.email);
  await page.getByLabel('Password', { exact: true }).fill(account.password);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await expect.poll(() => path(), { timeout: 15_000 }).toMatch(/^\/sign-in\/second-step/);
  await expect.poll(() => heading()).toBe('Confirm it is you');
}

/** The shell scrolls inside <main>: grow the window to the content for a screenshot of all of it. */
async function saveWholeScreen(name: string): Promise<void> {
  const size = page.viewportSize() ?? { width: 1280, height: 900 };
  const overflow = await page.evaluate(() => {
    const main = document.querySelector('main');
    return main === null ? 0 : main.scrollHeight - main.clientHeight;
  });
  await page.setViewportSize({ width: size.width, height: size.height + Math.max(0, overflow) });
  await saveScreenshot(page, name);
  await page.setViewportSize(size);
}

describe('two-step verification in Chromium', () => {
  it('signs up and sets up an authenticator app, showing the backup codes once', async (ctx) => {
    if (skipReason !== null) return ctx.skip(skipReason);
    await page.goto(`${origin}/sign-up`);
    await expect.poll(() => heading()).toBe('Create your account');
    await page.getByLabel('Your name').fill(account.name);
    await page.getByLabel('Email address').fill(account.email);
    await page.getByLabel('Password', { exact: true }).fill(account.password);
    await page.getByRole('button', { name: 'Create account' }).click();
    await expect.poll(() => heading()).toBe('Confirm your email');
    await page.getByLabel('6-digit code').fill(await mailedCode(/Confirm your email/));
    await page.getByRole('button', { name: 'Confirm email' }).click();
    await signedIn();

    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Security' }).click();
    await expect.poll(() => heading()).toBe('Security');
    const section = twoStep();
    await expect.poll(() => section.textContent()).toContain('Off');
    await expect.poll(() => section.textContent()).toContain('No passkeys yet.');

    // The server asks for the password again (the session has not proved a second factor): one 400, on purpose.
    await expectRefusals([400], async () => {
      await section.getByRole('button', { name: 'Set up authenticator app' }).click();
      await expect.poll(() => section.getByLabel('Current password').count()).toBe(1);
    });
    await section.getByLabel('Current password').fill(account.password);
    await section.getByRole('button', { name: 'Continue' }).click();

    const qr = section.getByRole('img', { name: 'QR code for setting up your authenticator app' });
    await expect.poll(() => qr.count()).toBe(1);
    // The server's SVG as an image (a data URL), never markup in the page.
    expect(await qr.getAttribute('src')).toMatch(/^data:image\/svg\+xml;charset=utf-8,%3Csvg/);
    expect(await qr.evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth > 0)).toBe(true);
    expect(await section.locator('svg').count()).toBe(0);
    secret = (await section.getByLabel('Setup key').textContent())?.replace(/\s/g, '') ?? '';
    expect(secret).toMatch(/^[A-Z2-7]{16,}$/);
    await saveWholeScreen('two-step-qr');

    // A wrong code: the server's words beside the field.
    const codeField = section.getByLabel('6-digit code from the app');
    const right = await appCode();
    await expectRefusals([400], async () => {
      await codeField.fill(right === '000000' ? '111111' : '000000');
      await section.getByRole('button', { name: 'Turn on' }).click();
      await expect
        .poll(() => page.locator('#totp-confirm-code-error').textContent())
        .toMatch(/^That code is not right\. .*current code/);
    });
    await codeField.fill(await appCode());
    await section.getByRole('button', { name: 'Turn on' }).click();

    const list = section.getByRole('list', { name: 'Backup codes' });
    await expect.poll(() => list.getByRole('listitem').count()).toBe(10);
    backupCodes = (await list.locator('code').allTextContents()).map((c) => c.trim());
    expect(backupCodes.every((c) => /^[0-9a-z]{4}-[0-9a-z]{4}$/.test(c))).toBe(true);
    await expect.poll(() => page.evaluate(() => document.activeElement?.textContent)).toBe('Save your backup codes');
    await saveWholeScreen('two-step-backup-codes');

    const download = page.waitForEvent('download');
    await section.getByRole('button', { name: 'Download' }).click();
    const file = await download;
    expect(file.suggestedFilename()).toBe('megilance-backup-codes.txt');
    const text = readFileSync(await file.path(), 'utf8');
    for (const code of backupCodes) expect(text).toContain(code);

    await section.getByRole('button', { name: 'I have saved them' }).click();
    await expect.poll(() => section.textContent()).toContain('Your authenticator app is set up.');
    await expect.poll(() => section.textContent()).toContain('10 backup codes left.');
    // Shown once: gone from the page.
    expect(await section.getByRole('list', { name: 'Backup codes' }).count()).toBe(0);
    expect(errors).toEqual([]);
  });

  it('asks for the app code at the next sign-in', async (ctx) => {
    if (skipReason !== null) return ctx.skip(skipReason);
    await signOut();
    await signInWithPassword();
    const methods = page.getByRole('radiogroup', { name: 'Verify with' });
    expect(
      await methods.getByRole('radio').evaluateAll((radios) => radios.map((r) => r.parentElement?.textContent)),
    ).toEqual(['Authenticator app', 'Backup code']);
    expect(await methods.getByRole('radio', { name: 'Authenticator app' }).isChecked()).toBe(true);
    // The set-up code is spent: the next time step, which the server accepts early.
    await page.getByLabel('Code from your authenticator app').fill(await appCode(1));
    await expect.poll(() => page.getByRole('status').textContent(), { timeout: 15_000 }).toBe('Connected');
    await saveWholeScreen('two-step-second-step');
    await page.getByRole('button', { name: 'Verify and sign in' }).click();
    await signedIn();
    expect(errors).toEqual([]);
  });

  it('signs in with a backup code, says how many are left, and refuses it a second time', async (ctx) => {
    if (skipReason !== null) return ctx.skip(skipReason);
    await signOut();
    await signInWithPassword();
    await page.getByRole('radio', { name: 'Backup code' }).check();
    await page.getByRole('textbox', { name: 'Backup code' }).fill(backupCodes[0]!.toUpperCase());
    await page.getByRole('button', { name: 'Verify and sign in' }).click();
    await expect.poll(() => page.locator('main').textContent()).toContain('You have 9 backup codes left.');
    await saveWholeScreen('two-step-backup-code-used');
    await page.getByRole('button', { name: 'Continue' }).click();
    await signedIn();

    await signOut();
    await signInWithPassword();
    await page.getByRole('radio', { name: 'Backup code' }).check();
    const field = page.getByRole('textbox', { name: 'Backup code' });
    await expectRefusals([400], async () => {
      await field.fill(backupCodes[0]!);
      await page.getByRole('button', { name: 'Verify and sign in' }).click();
      await expect
        .poll(() => page.locator('#second-step-code-error').textContent())
        .toBe('That backup code is not right, or it was already used.');
    });
    expect(await field.getAttribute('aria-invalid')).toBe('true');
    await saveWholeScreen('two-step-backup-code-refused');
    // Another code still works on the same challenge.
    await field.fill(backupCodes[1]!);
    await page.getByRole('button', { name: 'Verify and sign in' }).click();
    await expect.poll(() => page.locator('main').textContent()).toContain('You have 8 backup codes left.');
    await page.getByRole('button', { name: 'Continue' }).click();
    await signedIn();
    expect(errors).toEqual([]);
  });

  let cdp: CDPSession;
  it('adds a passkey on the Security page and renames it', async (ctx) => {
    if (skipReason !== null) return ctx.skip(skipReason);
    cdp = await context.newCDPSession(page);
    await cdp.send('WebAuthn.enable', { enableUI: false });
    await cdp.send('WebAuthn.addVirtualAuthenticator', {
      options: {
        protocol: 'ctap2',
        ctap2Version: 'ctap2_1',
        transport: 'internal',
        hasResidentKey: true,
        hasUserVerification: true,
        isUserVerified: true,
        automaticPresenceSimulation: true,
      },
    });
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Security' }).click();
    await expect.poll(() => heading()).toBe('Security');
    const section = twoStep();
    await expect.poll(() => section.textContent()).toContain('8 backup codes left.');
    await section.getByRole('button', { name: 'Add a passkey' }).click();
    await section.getByLabel('Passkey name').fill('Test laptop');
    await section.getByRole('button', { name: 'Create passkey' }).click();
    await expect.poll(() => section.textContent(), { timeout: 15_000 }).toContain('Passkey “Test laptop” was added.');
    const passkeys = section.getByRole('list', { name: 'Passkeys' });
    await expect.poll(() => passkeys.getByRole('listitem').count()).toBe(1);

    await section.getByRole('button', { name: 'Rename Test laptop' }).click();
    await section.getByLabel('New name for Test laptop').fill('Work laptop');
    await section.getByRole('button', { name: 'Save' }).click();
    await expect.poll(() => passkeys.textContent()).toContain('Work laptop');
    await expect.poll(() => section.getByRole('button', { name: 'Remove Work laptop' }).count()).toBe(1);
    await section.scrollIntoViewIfNeeded();
    await saveWholeScreen('two-step-passkeys');
    await page.emulateMedia({ colorScheme: 'dark' });
    await saveWholeScreen('two-step-passkeys-dark');
    await page.emulateMedia({ colorScheme: 'light' });
    expect(errors).toEqual([]);
  });

  it('signs in with the passkey alone', async (ctx) => {
    if (skipReason !== null) return ctx.skip(skipReason);
    await signOut();
    expect(await page.getByLabel('Email address').inputValue()).toBe('');
    await page.getByRole('button', { name: 'Sign in with a passkey' }).click();
    await signedIn();
    await expect.poll(() => page.getByRole('banner').textContent()).toContain(account.name);
    expect(errors).toEqual([]);
  });

  it('offers the passkey as the second step after the password', async (ctx) => {
    if (skipReason !== null) return ctx.skip(skipReason);
    await signOut();
    await signInWithPassword();
    const methods = page.getByRole('radiogroup', { name: 'Verify with' });
    expect(
      await methods.getByRole('radio').evaluateAll((radios) => radios.map((r) => r.parentElement?.textContent)),
    ).toEqual(['Passkey or security key', 'Authenticator app', 'Backup code']);
    await saveWholeScreen('two-step-passkey-second-step');
    await page.getByRole('button', { name: 'Use passkey or security key' }).click();
    await signedIn();
    expect(errors).toEqual([]);
  });

  it('adds a phone after a step-up with a backup code, then signs in with a texted code', async (ctx) => {
    if (skipReason !== null) return ctx.skip(skipReason);
    // As if the window had passed: the session must prove a second factor again before adding one.
    await server.deps.db.updateTable('sessions').set({ mfa_verified_at: null }).execute();
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Security' }).click();
    await expect.poll(() => heading()).toBe('Security');
    const section = twoStep();
    await section.getByRole('button', { name: 'Add phone number' }).click();
    await section.getByLabel('Mobile number').fill('07700 900461');
    await expectRefusals([400], async () => {
      await section.getByRole('button', { name: 'Text me a code' }).click();
      await expect
        .poll(() => page.locator('#sms-number-phone-error').textContent())
        .toBe('Include the country code, starting with + (for example +44 7700 900123).');
    });
    await section.getByLabel('Mobile number').fill(account.phone.typed);
    const dialog = page.getByRole('dialog', { name: 'Confirm it is you' });
    await expectRefusals([403], async () => {
      await section.getByRole('button', { name: 'Text me a code' }).click();
      await expect.poll(() => dialog.isVisible()).toBe(true);
    });
    await dialog.getByRole('radio', { name: 'Backup code' }).check();
    await dialog.getByRole('textbox', { name: 'Backup code' }).fill(backupCodes[2]!);
    await saveScreenshot(page, 'two-step-step-up-dialog');
    await dialog.getByRole('button', { name: 'Confirm' }).click();
    // The step-up done, the number is sent again by itself.
    await section.getByLabel('Code from the text message').fill(await textedCode(0));
    await section.getByRole('button', { name: 'Turn on' }).click();
    await expect.poll(() => section.textContent()).toContain('Your phone is set up.');
    await expect.poll(() => section.textContent()).toContain(`Codes go to ${account.phone.masked}`);
    // The backup codes stayed (the phone is not the first factor): 7 left after the step-up.
    await expect.poll(() => section.textContent()).toContain('7 backup codes left.');
    await saveWholeScreen('two-step-sms-on');

    await signOut();
    await signInWithPassword();
    await page.getByRole('radio', { name: 'Code by text message' }).check();
    const seen = textsSoFar();
    await page.getByRole('button', { name: 'Text me a code' }).click();
    await expect.poll(() => page.locator('main').textContent()).toContain('We texted a new code.');
    await page.getByLabel('Code from the text message').fill(await textedCode(seen));
    await page.getByRole('button', { name: 'Verify and sign in' }).click();
    await signedIn();
    expect(errors).toEqual([]);
  });

  it('makes SMS the default method, after which a sign-in texts the code at once', async (ctx) => {
    if (skipReason !== null) return ctx.skip(skipReason);
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Security' }).click();
    const section = twoStep();
    const choice = section.getByRole('radiogroup', { name: 'Ask first with' });
    await expect.poll(() => choice.getByRole('radio', { name: 'Passkey or security key' }).isChecked()).toBe(true);
    // Signed in with a texted code a moment ago: fresh enough, no step-up dialog.
    await choice.getByRole('radio', { name: 'Code by text message' }).check();
    await expect.poll(() => section.textContent()).toContain('Sign-ins will offer that method first.');

    await signOut();
    const seen = textsSoFar();
    await signInWithPassword();
    expect(await page.getByRole('radio', { name: 'Code by text message' }).isChecked()).toBe(true);
    await expect
      .poll(() => page.locator('main').textContent())
      .toContain(`We texted a 6-digit code to ${account.phone.masked}.`);
    await page.getByLabel('Code from the text message').fill(await textedCode(seen));
    await saveWholeScreen('two-step-sms-second-step');
    await page.getByRole('button', { name: 'Verify and sign in' }).click();
    await signedIn();
    expect(errors).toEqual([]);
  });
});
