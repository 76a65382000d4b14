/// <reference lib="dom" />
// page.evaluate callbacks run in the browser: they see the DOM.
/**
 * Calls end to end: a real server with real mediasoup workers, the built
 * renderer in two Chromium contexts (two people, each with Chromium's fake
 * camera and microphone), signaling over tRPC and media through the SFU on
 * 127.0.0.1. Each side must decode the other's video at the size it was sent
 * and hear the other's audio. Then: a screen share arrives as its own tile;
 * the host mutes the guest from the people panel and the guest is told; with
 * the waiting room on, a third person waits until the host admits them; the
 * host's "end for everyone" ends it for all. Reports the join time (click on
 * "Join call" to the first remote frame).
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiClient } from '../support/api.ts';
import { chromiumUnavailableReason, saveScreenshot } from '../support/browser.ts';
import { CALL_PASSWORD, startCallsHarness, type CallsHarness } from '../support/calls-e2e.ts';
import type { TestServer } from '../support/server.ts';

const skipReason = chromiumUnavailableReason();
if (skipReason !== null) console.warn(`[e2e] skipping: ${skipReason}`);

const PASSWORD = CALL_PASSWORD;

let harness: CallsHarness;
let server: TestServer;

const person = (name: string) => harness.signedIn(name);

/** What the other person's tile shows: decoded video size and frames, and the loudness of their audio. */
function remoteTile(page: Page, name: string) {
  const tile = page.getByRole('list', { name: 'Participants' }).getByRole('listitem', { name, exact: true });
  return {
    tile,
    video: () =>
      tile.evaluate((li) => {
        const video = li.querySelector('video');
        if (video === null) return { width: 0, height: 0, frames: 0 };
        return {
          width: video.videoWidth,
          height: video.videoHeight,
          frames: video.getVideoPlaybackQuality().totalVideoFrames,
        };
      }),
    audioLevel: () => tile.evaluate((li) => Number(li.getAttribute('data-audio-level') ?? '0')),
  };
}

beforeAll(async () => {
  if (skipReason !== null) return;
  harness = await startCallsHarness();
  server = harness.server;
});

afterAll(async () => {
  await harness?.close();
});

describe('calls in Chromium', () => {
  it('connects two people through the SFU: each decodes the other’s video and hears their audio', async (ctx) => {
    if (skipReason !== null) return ctx.skip(skipReason);
    const [host, guest, late] = await Promise.all([person('Hedy'), person('Grace'), person('Ada')]);

    // The host starts a call from the Calls page, inviting the guest by email.
    await host.page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Calls' }).click();
    await host.page.getByLabel('Title').fill('Design review');
    await host.page.getByLabel('Invite').fill(`${guest.email}, ${late.email}`);
    await host.page.getByRole('button', { name: 'Start call' }).click();
    await expect.poll(() => host.page.getByRole('heading', { level: 1 }).textContent()).toBe('Design review');
    const meetingPath = new URL(host.page.url()).pathname;
    expect(meetingPath).toMatch(/^\/calls\/[0-9a-f-]{36}$/);
    // The lobby: the camera preview plays and the microphone meter moves (Chromium's fake devices beep).
    await expect
      .poll(() => host.page.getByLabel('Your camera').evaluate((v: HTMLVideoElement) => v.videoWidth), {
        timeout: 10_000,
      })
      .toBeGreaterThan(0);
    await expect
      .poll(() => host.page.getByRole('meter', { name: 'Microphone level' }).getAttribute('aria-valuenow'), {
        timeout: 10_000,
      })
      .not.toBe('0');
    await saveScreenshot(host.page, 'calls-lobby');
    await host.page.getByRole('button', { name: 'Join call' }).click();
    await expect.poll(() => host.page.getByRole('status').first().textContent()).toContain('1 person in the call');

    // The guest finds the meeting in their list and joins.
    await guest.page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Calls' }).click();
    await guest.page.getByRole('link', { name: 'Open Design review' }).click();
    await expect.poll(() => guest.page.getByRole('button', { name: 'Join call' }).count()).toBe(1);
    const clickedAt = Date.now();
    await guest.page.getByRole('button', { name: 'Join call' }).click();

    const hostAtGuest = remoteTile(guest.page, 'Hedy');
    await expect.poll(async () => (await hostAtGuest.video()).frames, { timeout: 20_000 }).toBeGreaterThan(0);
    const joinMs = Date.now() - clickedAt;
    console.info(`[calls] join time (click to first remote frame): ${joinMs} ms`);
    const guestAtHost = remoteTile(host.page, 'Grace');
    await expect.poll(async () => (await guestAtHost.video()).frames, { timeout: 20_000 }).toBeGreaterThan(5);
    // Simulcast: the layer follows the tile. A grid tile (~400x225) gets the half-size layer...
    const sent = await remoteTile(host.page, 'Hedy (you)').video();
    expect(sent.width).toBeGreaterThan(0);
    await expect.poll(async () => (await hostAtGuest.video()).width, { timeout: 30_000 }).toBe(sent.width / 2);
    // ...and the speaker view's large tile the full size, as sent.
    await guest.page.getByRole('button', { name: 'Speaker view' }).click();
    await expect.poll(async () => (await hostAtGuest.video()).width, { timeout: 30_000 }).toBe(sent.width);
    expect((await hostAtGuest.video()).height).toBe(sent.height);
    console.info(`[calls] received the host's camera at ${sent.width}x${sent.height}, as sent`);
    await guest.page.getByRole('button', { name: 'Grid view' }).click();
    await expect.poll(() => hostAtGuest.audioLevel(), { timeout: 15_000 }).toBeGreaterThan(0);
    await expect.poll(() => guestAtHost.audioLevel(), { timeout: 15_000 }).toBeGreaterThan(0);
    // Each tile knows its connection's health from the SFU's scores: on loopback, good.
    await expect.poll(() => guestAtHost.tile.getAttribute('data-quality'), { timeout: 20_000 }).toBe('good');
    await expect.poll(() => hostAtGuest.tile.getAttribute('data-quality'), { timeout: 20_000 }).toBe('good');
    await saveScreenshot(guest.page, 'calls-two-people');

    // The guest shares a screen (Chromium's fake capture): the host gets it as a separate tile.
    await guest.page.getByRole('button', { name: 'Share screen' }).click();
    const screenAtHost = remoteTile(host.page, 'Grace’s screen');
    await expect.poll(async () => (await screenAtHost.video()).frames, { timeout: 20_000 }).toBeGreaterThan(0);
    expect((await screenAtHost.video()).width).toBeGreaterThan(0);
    // The camera is still its own track.
    expect((await guestAtHost.video()).frames).toBeGreaterThan(0);
    await saveScreenshot(host.page, 'calls-screen-share');

    // The host mutes the guest from the people panel; the guest is told, and the host sees it on the tile.
    await host.page.getByRole('button', { name: 'Mute Grace' }).click();
    await expect
      .poll(() => guest.page.getByRole('alert').first().textContent(), { timeout: 10_000 })
      .toContain('The host muted you.');
    await expect.poll(() => guestAtHost.tile.textContent(), { timeout: 10_000 }).toContain('Muted');
    expect(await guest.page.getByRole('button', { name: 'Unmute' }).count()).toBe(1);

    // Waiting room: Ada waits until the host admits her.
    await host.page.getByRole('button', { name: 'Turn on waiting room' }).click();
    await expect.poll(() => host.page.getByRole('button', { name: 'Turn off waiting room' }).count()).toBe(1);
    await late.page.goto(`${server.deps.publicOrigin()}${meetingPath}`);
    await late.page.getByRole('button', { name: 'Join call' }).click();
    await expect.poll(() => late.page.getByText('Waiting for the host').count(), { timeout: 10_000 }).toBe(1);
    const waiting = host.page.getByRole('list', { name: 'Waiting to join' });
    await expect.poll(() => waiting.getByRole('listitem', { name: 'Ada' }).count(), { timeout: 10_000 }).toBe(1);
    await saveScreenshot(host.page, 'calls-waiting-room');
    await waiting.getByRole('button', { name: 'Admit' }).click();
    const hostAtLate = remoteTile(late.page, 'Hedy');
    await expect.poll(async () => (await hostAtLate.video()).frames, { timeout: 20_000 }).toBeGreaterThan(0);

    // The host records a few seconds: everyone sees the indicator while it runs.
    await host.page.getByRole('button', { name: 'Record' }).click();
    for (const someone of [host, guest, late]) {
      await expect
        .poll(() => someone.page.getByRole('img', { name: 'Recording' }).count(), { timeout: 15_000 })
        .toBe(1);
    }
    await new Promise((resolve) => setTimeout(resolve, 4_000));
    await host.page.getByRole('button', { name: 'Stop recording' }).click();
    await expect.poll(() => guest.page.getByRole('img', { name: 'Recording' }).count(), { timeout: 15_000 }).toBe(0);

    // The host ends the call for everyone.
    await host.page.getByRole('button', { name: 'End for everyone' }).click();
    for (const other of [guest, late]) {
      await expect.poll(() => other.page.getByText('The host ended the call.').count(), { timeout: 10_000 }).toBe(1);
    }
    // The recording is there to play, for the participants.
    await host.page.reload();
    const recordings = host.page.getByRole('list', { name: 'Recordings' });
    await expect.poll(() => recordings.getByRole('button', { name: 'Play' }).count(), { timeout: 20_000 }).toBe(1);
    await recordings.getByRole('button', { name: 'Play' }).click();
    const player = host.page.getByLabel('Recording', { exact: true });
    await expect
      .poll(() => player.evaluate((video: HTMLVideoElement) => video.duration), { timeout: 15_000 })
      .toBeGreaterThan(2);
    expect(host.errors).toEqual([]);
    expect(guest.errors).toEqual([]);
    expect(late.errors).toEqual([]);
  });

  it('survives a media worker dying mid-call: the server goes on, both sides reconnect and media flows again', async (ctx) => {
    if (skipReason !== null) return ctx.skip(skipReason);
    const [host, guest] = await Promise.all([person('Lise'), person('Emmy')]);
    const api = apiClient(server.url);
    const signIn = await api.auth.signIn.mutate({ email: host.email, password: PASSWORD });
    if (signIn.status !== 'signed_in') throw new Error(signIn.status);
    const meeting = await apiClient(server.url, { accessToken: signIn.tokens.accessToken }).meetings.create.mutate({
      title: 'Resilience',
      invitees: [guest.email],
    });
    for (const someone of [host, guest]) {
      await someone.page.goto(`${server.deps.publicOrigin()}/calls/${meeting.id}`);
      await someone.page.getByRole('button', { name: 'Join call' }).click();
    }
    const emmyAtLise = remoteTile(host.page, 'Emmy');
    const liseAtEmmy = remoteTile(guest.page, 'Lise');
    await expect.poll(async () => (await emmyAtLise.video()).frames, { timeout: 20_000 }).toBeGreaterThan(0);
    await expect.poll(async () => (await liseAtEmmy.video()).frames, { timeout: 20_000 }).toBeGreaterThan(0);

    const [before] = server.deps.calls.pool.load();
    if (before === undefined) throw new Error('no worker');
    const killedAt = Date.now();
    process.kill(before.pid, 'SIGKILL');
    // A new worker takes the dead one's place; the server keeps answering.
    await expect.poll(() => server.deps.calls.pool.load()[0]?.pid, { timeout: 10_000 }).not.toBe(before.pid);
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);

    // Both sides rejoin by themselves, and video flows again (frames keep coming).
    const flowing = async (tile: ReturnType<typeof remoteTile>) => {
      const first = (await tile.video()).frames;
      await new Promise((resolve) => setTimeout(resolve, 700));
      return (await tile.video()).frames > first;
    };
    await expect.poll(() => flowing(emmyAtLise), { timeout: 30_000 }).toBe(true);
    await expect.poll(() => flowing(liseAtEmmy), { timeout: 30_000 }).toBe(true);
    console.info(`[calls] media flowing again ${Date.now() - killedAt} ms after the worker was killed`);
    expect(server.deps.calls.runningRoom(meeting.id)?.peers.size).toBe(2);
    // A request already on its way for the old peer (a tile's size report, say) may be refused as
    // "not in this call" (404) while the room is replaced; nothing else may fail.
    const unexpected = (errors: string[]) =>
      errors.filter((line) => !/^Failed to load resource: the server responded with a status of 404\b/.test(line));
    expect(unexpected(host.errors)).toEqual([]);
    expect(unexpected(guest.errors)).toEqual([]);
  });
});
