/// <reference lib="dom" />
// page.evaluate callbacks run in the browser: they see the DOM.
/**
 * A guest joins by invite link, end to end: a real server with real mediasoup
 * workers and the built renderer in two Chromium contexts. The host (a
 * signed-in user) starts a call, turns the waiting room on and makes an invite
 * link in the call; a second browser with no account opens the link, sees
 * which meeting it is for, gives a name and joins; the host admits them; each
 * decodes the other's video. A made-up link says it is not valid.
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromiumUnavailableReason, saveScreenshot, watchForErrors } from '../support/browser.ts';
import { startCallsHarness, tileFrames, type CallsHarness } from '../support/calls-e2e.ts';
import type { TestServer } from '../support/server.ts';

const skipReason = chromiumUnavailableReason();
if (skipReason !== null) console.warn(`[e2e] skipping: ${skipReason}`);

let harness: CallsHarness;
let server: TestServer;

/** A browser context without an account (a guest, a visitor). */
async function newPage(permissions: string[]): Promise<{ page: Page; errors: string[] }> {
  const context = await harness.newContext();
  await context.grantPermissions(permissions, { origin: server.deps.publicOrigin() });
  const page = await context.newPage();
  return { page, errors: watchForErrors(page) };
}

/** A signed-in user in their own browser context (the clipboard for the invite link). */
const member = (name: string) =>
  harness.signedIn(name, { permissions: ['camera', 'microphone', 'clipboard-read', 'clipboard-write'] });

beforeAll(async () => {
  if (skipReason !== null) return;
  harness = await startCallsHarness();
  server = harness.server;
});

afterAll(async () => {
  await harness?.close();
});

describe('a guest by invite link', () => {
  it('joins from a browser with no account, waits, is admitted, and both see each other', async (ctx) => {
    if (skipReason !== null) return ctx.skip(skipReason);
    const host = await member('Hedy');

    // The host starts a call and joins it.
    await host.page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Calls' }).click();
    await host.page.getByLabel('Title').fill('Client check-in');
    await host.page.getByRole('button', { name: 'Start call' }).click();
    await expect.poll(() => host.page.getByRole('heading', { level: 1 }).textContent()).toBe('Client check-in');
    await host.page.getByRole('button', { name: 'Join call' }).click();
    await expect.poll(() => host.page.getByRole('status').first().textContent()).toContain('1 person in the call');
    await host.page.getByRole('button', { name: 'Turn on waiting room' }).click();
    await expect.poll(() => host.page.getByRole('button', { name: 'Turn off waiting room' }).count()).toBe(1);

    // "Invite link": made, copied to the clipboard, shown with its expiry.
    await host.page.getByRole('button', { name: 'Invite link' }).click();
    const linkField = host.page.getByLabel('Guest invite link');
    await expect.poll(() => linkField.count(), { timeout: 10_000 }).toBe(1);
    const link = await linkField.inputValue();
    expect(link).toMatch(new RegExp(`^${server.deps.publicOrigin()}/join/[\\w-]{43}$`));
    expect(await host.page.getByText(/Guests can join with it until|It works until/).count()).toBe(1);
    expect(await host.page.evaluate(() => navigator.clipboard.readText())).toBe(link);
    await saveScreenshot(host.page, 'guest-invite-link');

    // Someone with no account opens it in their own browser.
    const guest = await newPage(['camera', 'microphone']);
    await guest.page.goto(link);
    await expect
      .poll(() => guest.page.getByRole('heading', { level: 1 }).textContent(), { timeout: 15_000 })
      .toBe('Client check-in');
    expect(await guest.page.getByText('Hosted by Hedy').count()).toBe(1);
    await guest.page.getByLabel('Your name').fill('Gina');
    await guest.page.getByRole('button', { name: 'Join as guest' }).click();
    await expect.poll(() => guest.page.getByRole('button', { name: 'Join call' }).count(), { timeout: 10_000 }).toBe(1);
    await saveScreenshot(guest.page, 'guest-lobby');
    await guest.page.getByRole('button', { name: 'Join call' }).click();
    await expect.poll(() => guest.page.getByText('Waiting for the host').count(), { timeout: 10_000 }).toBe(1);

    // The host admits them from the waiting list.
    const waiting = host.page.getByRole('list', { name: 'Waiting to join' });
    await expect.poll(() => waiting.getByRole('listitem', { name: 'Gina' }).count(), { timeout: 10_000 }).toBe(1);
    await waiting.getByRole('button', { name: 'Admit' }).click();

    // Each decodes the other's video.
    await expect.poll(() => tileFrames(guest.page, 'Hedy'), { timeout: 20_000 }).toBeGreaterThan(0);
    await expect.poll(() => tileFrames(host.page, 'Gina'), { timeout: 20_000 }).toBeGreaterThan(0);
    expect(await guest.page.getByText('You joined as Gina (guest).').count()).toBe(1);
    await saveScreenshot(guest.page, 'guest-in-call');
    // The host sees them marked as a guest, who cannot be made host.
    const people = host.page.getByRole('list', { name: 'People in the call' });
    expect(await people.getByRole('listitem', { name: 'Gina' }).textContent()).toContain('Guest');
    expect(await host.page.getByRole('button', { name: 'Make Gina the host' }).count()).toBe(0);
    expect(await host.page.getByRole('button', { name: 'Mute Gina' }).count()).toBe(1);
    // A guest has no host controls, recording or invite links.
    for (const name of ['End for everyone', 'Record', 'Invite link', 'Turn on waiting room', 'Mute Hedy'])
      expect(await guest.page.getByRole('button', { name }).count()).toBe(0);
    // The guest never had a session: nothing was stored for them.
    const stored = await guest.page.evaluate(() =>
      [localStorage, sessionStorage].flatMap((storage) => Object.values(storage) as string[]).join('\n'),
    );
    expect(stored).not.toContain('mlg_');
    expect(guest.page.url()).not.toContain('mlg_');

    // The chat: the guest writes, the host reads it as text (markup is not markup), and answers.
    await guest.page.getByRole('textbox', { name: 'Message' }).fill('Hello from <b>Gina</b>');
    await guest.page.getByRole('button', { name: 'Send', exact: true }).click();
    const hostChat = host.page.getByRole('list', { name: 'Messages' });
    await expect.poll(() => hostChat.textContent(), { timeout: 10_000 }).toContain('Hello from <b>Gina</b>');
    expect(await hostChat.locator('b').count()).toBe(0);
    await host.page.getByRole('textbox', { name: 'Message' }).fill('Welcome!');
    await host.page.getByRole('button', { name: 'Send', exact: true }).click();
    await expect
      .poll(() => guest.page.getByRole('list', { name: 'Messages' }).textContent(), { timeout: 10_000 })
      .toContain('Welcome!');

    await guest.page.getByRole('button', { name: 'Leave' }).click();
    await expect.poll(() => guest.page.getByText('You left the call.').count(), { timeout: 10_000 }).toBe(1);
    expect(host.errors).toEqual([]);
    expect(guest.errors).toEqual([]);
  });

  it('says so when a link is not valid', async (ctx) => {
    if (skipReason !== null) return ctx.skip(skipReason);
    const visitor = await newPage([]);
    await visitor.page.goto(`${server.deps.publicOrigin()}/join/${'A'.repeat(43)}`);
    await expect
      .poll(() => visitor.page.getByRole('alert').first().textContent(), { timeout: 15_000 })
      .toContain('This link has expired or is not valid');
    expect(await visitor.page.getByRole('button', { name: 'Join as guest' }).count()).toBe(0);
  });
});
