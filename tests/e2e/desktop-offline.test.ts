/// <reference lib="dom" />
// page.evaluate callbacks run in the browser: they see the DOM.
/**
 * The desktop renderer opened while its server cannot be reached: the app
 * shows the account's saved data (from the local cache, through the preload)
 * with an offline banner instead of a dead end. Electron cannot run here, so
 * the page gets a stand-in for the preload's `window.megilance` (only what
 * this path uses: the server URL, credentials and the cache, answering as main
 * does when the server is down) and the API is cut off with Playwright's
 * routing. The stand-in's answers have the real shapes (`shared/desktop-api.ts`).
 */
import type { Browser, BrowserContext } from 'playwright-core';
import superjson from 'superjson';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureRendererBuilt } from '../../build/start.ts';
import { chromiumUnavailableReason, launchChromium, saveScreenshot } from '../support/browser.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

const skipReason = chromiumUnavailableReason();
if (skipReason !== null) console.warn(`[e2e] skipping: ${skipReason}`);

let server: TestServer;
let browser: Browser;
let context: BrowserContext;

beforeAll(async () => {
  if (skipReason !== null) return;
  ensureRendererBuilt();
  server = await startTestServer();
  browser = await launchChromium();
  context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
});

afterAll(async () => {
  await context?.close();
  await browser?.close();
  await server?.dispose();
});

describe('the desktop renderer with a stand-in preload', () => {
  it('opens on the saved data of the signed-in account, and says it is offline', async (ctx) => {
    if (skipReason !== null) return ctx.skip(skipReason);
    const saved = {
      profile: { id: 'u1', email: 'ada@example.com', displayName: 'Ada Lovelace', emailVerified: true, createdAt: 1 },
      meetings: JSON.parse(
        JSON.stringify(
          superjson.serialize([
            {
              id: '00000000-0000-4000-8000-000000000001',
              title: 'Saved kick-off',
              kind: 'adhoc',
              hostId: 'u1',
              myRole: 'host',
              participants: [{ userId: 'u1', displayName: 'Ada Lovelace', role: 'host' }],
              createdAt: new Date('2026-11-20T10:00:00Z'),
              endedAt: null,
              startsAt: null,
              endsAt: null,
              timeZone: null,
              description: null,
              cancelReason: null,
              inCall: [],
            },
          ]),
        ),
      ) as unknown,
    };
    await context.addInitScript(
      ({ serverUrl, data }) => {
        const record = (kind: string, id: string, payload: unknown) => ({
          kind,
          id,
          payload,
          serverUpdatedAt: 1,
          fetchedAt: Date.now() - 3_600_000,
          hasLocalChanges: false,
        });
        (window as unknown as { megilance: unknown }).megilance = {
          platform: 'linux',
          appVersion: '0.1.0',
          serverUrl,
          credentials: {
            refresh: () =>
              Promise.resolve({
                status: 'server-unavailable',
                message: 'Could not reach the server.',
                accountId: 'u1',
              }),
            save: () => Promise.resolve({ saved: 'keychain' }),
            forget: () => Promise.resolve({ forgotten: true }),
            status: () => Promise.resolve({ mode: 'keychain', available: true }),
            chooseMode: () => Promise.resolve({ mode: 'keychain', available: true }),
          },
          cache: {
            getRecord: ({ kind, id }: { kind: string; id: string }) =>
              Promise.resolve(
                kind === 'profile' && id === 'me'
                  ? record(kind, id, data.profile)
                  : kind === 'call' && id === 'meetings'
                    ? record(kind, id, data.meetings)
                    : null,
              ),
            putRecords: () => Promise.resolve({ written: 0, keptLocal: 0 }),
          },
        };
      },
      { serverUrl: server.url, data: saved },
    );
    const page = await context.newPage();
    // The server is down as far as the app can tell: every API call and socket fails.
    await page.route('**/trpc/**', (route) => route.abort('connectionrefused'));
    await page.routeWebSocket('**/trpc', (socket) => socket.close());
    await page.goto(`${server.url}/calls`);

    await expect
      .poll(() => page.getByRole('status').filter({ hasText: 'You are offline' }).count(), { timeout: 15_000 })
      .toBe(1);
    await expect.poll(() => page.getByRole('banner').textContent()).toContain('Ada Lovelace');
    await expect.poll(() => page.getByText('Saved kick-off').count(), { timeout: 10_000 }).toBe(1);
    await saveScreenshot(page, 'desktop-offline');
  });

  it('asks which screen or window to share when a call shares the screen, and answers main', async (ctx) => {
    if (skipReason !== null) return ctx.skip(skipReason);
    const page = await context.newPage();
    await page.addInitScript(() => {
      const api = (window as unknown as { megilance: Record<string, unknown> }).megilance;
      const answers: unknown[] = [];
      (window as unknown as { answers: unknown[] }).answers = answers;
      api['screenPicker'] = {
        choose: (input: unknown) => {
          answers.push(input);
          return Promise.resolve({ accepted: true });
        },
      };
      api['onScreenPickerRequest'] = (listener: (request: unknown) => void) => {
        // Main asks as soon as the page listens (as if a call had just asked to share).
        setTimeout(
          () =>
            listener({
              requestId: '6f1f4c8e-2b7a-4a58-9a55-0c1f6d3e9b21',
              sources: [
                { id: 'screen:0:0', name: 'Built-in display', kind: 'screen', thumbnail: null },
                { id: 'window:7:0', name: 'Proposal.pdf', kind: 'window', thumbnail: null },
              ],
            }),
          300,
        );
        return () => undefined;
      };
    });
    await page.route('**/trpc/**', (route) => route.abort('connectionrefused'));
    await page.goto(`${server.url}/calls`);
    const dialog = page.getByRole('dialog', { name: 'Choose what to share' });
    await expect.poll(() => dialog.isVisible(), { timeout: 15_000 }).toBe(true);
    await dialog.getByRole('option', { name: 'Proposal.pdf' }).click();
    await saveScreenshot(page, 'desktop-screen-picker');
    await dialog.getByRole('button', { name: 'Share' }).click();
    await expect
      .poll(() => page.evaluate(() => (window as unknown as { answers: unknown[] }).answers))
      .toEqual([{ requestId: '6f1f4c8e-2b7a-4a58-9a55-0c1f6d3e9b21', sourceId: 'window:7:0' }]);
    expect(await dialog.isVisible()).toBe(false);
  });
});
