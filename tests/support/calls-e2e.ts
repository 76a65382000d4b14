/// <reference lib="dom" />
/**
 * What the call end-to-end suites share: a server with real mediasoup workers
 * and mail to a loopback SMTP server, one Chromium with fake camera,
 * microphone and screen, accounts made through the API, and people signed in
 * through the UI in their own browser contexts.
 */
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { expect } from 'vitest';
import { ensureRendererBuilt } from '../../build/start.ts';
import { apiClient, mailedCode, mailTo } from './api.ts';
import { launchChromium, watchForErrors } from './browser.ts';
import { startTestServer, type TestServer } from './server.ts';
import { startTestSmtpServer, type TestSmtpServer } from './smtp.ts';

export const CALL_PASSWORD = 'a long enough password for calls';

/** Chromium's fake media devices, a synthetic screen for getDisplayMedia, loopback ICE, autoplay. */
export const FAKE_MEDIA_ARGS = [
  '--use-fake-device-for-media-stream',
  '--use-fake-ui-for-media-stream',
  '--allow-loopback-in-peer-connection',
  '--autoplay-policy=no-user-gesture-required',
];

export interface SignInOptions {
  /** Default camera and microphone. */
  permissions?: string[];
  viewport?: { width: number; height: number };
  /** Runs on the context before the page opens (e.g. an init script). */
  prepare?: (context: BrowserContext) => Promise<unknown>;
}

export interface CallsHarness {
  smtp: TestSmtpServer;
  server: TestServer;
  browser: Browser;
  /** A fresh browser context (closed by `close`). */
  newContext(options?: { viewport?: { width: number; height: number } }): Promise<BrowserContext>;
  /** An account (signed up and verified through the API). */
  account(name: string): Promise<{ name: string; email: string; accessToken: string }>;
  /** An account signed in through the UI in its own context, with the given permissions granted. */
  signIn<A extends { email: string }>(
    account: A,
    options?: SignInOptions,
  ): Promise<A & { page: Page; errors: string[] }>;
  /** A new account, signed in (`account` then `signIn`). */
  signedIn(
    name: string,
    options?: SignInOptions,
  ): Promise<{ name: string; email: string; accessToken: string; page: Page; errors: string[] }>;
  close(): Promise<void>;
}

export async function startCallsHarness(env: Record<string, string> = {}): Promise<CallsHarness> {
  ensureRendererBuilt();
  const smtp = await startTestSmtpServer();
  const server = await startTestServer({
    ...mailTo(smtp),
    CALLS_WORKERS: '1',
    CALLS_PORT: '0',
    // New browsers signing in are not what these suites are about.
    RISK_MFA_THRESHOLD: '99',
    RISK_BLOCK_THRESHOLD: '100',
    ...env,
  });
  const browser = await launchChromium(FAKE_MEDIA_ARGS);
  const contexts: BrowserContext[] = [];
  const harness: CallsHarness = {
    smtp,
    server,
    browser,
    async newContext(options = {}) {
      const context = await browser.newContext({
        viewport: options.viewport ?? { width: 1280, height: 860 },
        colorScheme: 'light',
      });
      contexts.push(context);
      return context;
    },
    async account(name) {
      const email = `${name.toLowerCase()}-${Date.now()}@example.com`;
      const api = apiClient(server.url);
      await api.auth.signUp.mutate({ email, password: CALL_PASSWORD, displayName: name });
      const tokens = await api.auth.verifyEmail.mutate({
        email,
        code: await mailedCode(smtp, email, /Confirm your email/),
      });
      return { name, email, accessToken: tokens.accessToken };
    },
    async signIn(account, options = {}) {
      const context = await harness.newContext(options.viewport === undefined ? {} : { viewport: options.viewport });
      await context.grantPermissions(options.permissions ?? ['camera', 'microphone'], {
        origin: server.deps.publicOrigin(),
      });
      await options.prepare?.(context);
      const page = await context.newPage();
      const errors = watchForErrors(page);
      await page.goto(`${server.deps.publicOrigin()}/sign-in`);
      await page.getByLabel('Email address').fill(account.email);
      await page.getByLabel('Password', { exact: true }).fill(CALL_PASSWORD);
      await page.getByRole('button', { name: 'Sign in', exact: true }).click();
      await expect
        .poll(() => page.getByRole('banner').getByRole('button', { name: 'Sign out', exact: true }).count(), {
          timeout: 15_000,
        })
        .toBe(1);
      return { ...account, page, errors };
    },
    async signedIn(name, options = {}) {
      return harness.signIn(await harness.account(name), options);
    },
    async close() {
      for (const context of contexts) await context.close();
      await browser.close();
      await server.dispose();
      await smtp.close();
    },
  };
  return harness;
}

/** Frames decoded so far by the video of someone's tile (0 when there is none). */
export function tileFrames(page: Page, name: string): Promise<number> {
  return page
    .getByRole('list', { name: 'Participants' })
    .getByRole('listitem', { name, exact: true })
    .evaluate((li) => li.querySelector('video')?.getVideoPlaybackQuality().totalVideoFrames ?? 0)
    .catch(() => 0);
}
