/// <reference lib="dom" />
// page.evaluate callbacks run in the browser: they see the DOM.
/**
 * A group call of six people in Chromium with last-N = 4: everyone receives
 * everyone's audio, but video from only the four most relevant others; a pin
 * brings a chosen person's video in (and another's out), still four. With at
 * most three people per router, the call runs on two routers on two workers,
 * every producer piped between them. Checked
 * on the server (which consumers flow, and that their RTP really arrives) and
 * in the pages (how many tiles show video, that the audio plays).
 *
 * Six fake cameras encoding on a 2-core machine: each page's camera is asked
 * for 320x180 at 15 fps (an init script narrows getUserMedia's constraints),
 * which is what the test is about, not picture quality.
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiClient } from '../support/api.ts';
import { chromiumUnavailableReason, saveScreenshot } from '../support/browser.ts';
import { startCallsHarness, type CallsHarness } from '../support/calls-e2e.ts';
import type { TestServer } from '../support/server.ts';

const skipReason = chromiumUnavailableReason();
if (skipReason !== null) console.warn(`[e2e] skipping: ${skipReason}`);

const NAMES = ['Ann', 'Ben', 'Cat', 'Dev', 'Eve', 'Fay'];
const LAST_N = 4;

let harness: CallsHarness;
let server: TestServer;

const account = (name: string) => harness.account(name);

/** Signed in with a small camera (see the file's comment). */
const openAs = (name: string, email: string) =>
  harness.signIn(
    { name, email },
    {
      viewport: { width: 1280, height: 900 },
      prepare: (context) =>
        context.addInitScript(() => {
          const original = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
          navigator.mediaDevices.getUserMedia = (constraints) =>
            original(
              typeof constraints?.video === 'object'
                ? { ...constraints, video: { ...constraints.video, width: 320, height: 180, frameRate: 15 } }
                : constraints,
            );
        }),
    },
  );
type Person = Awaited<ReturnType<typeof openAs>>;

/** Remote camera tiles showing video, on one page. */
const tilesWithVideo = (page: Page) =>
  page.getByRole('list', { name: 'Participants' }).locator('li[data-video="on"]:not([aria-label$="(you)"])').count();

beforeAll(async () => {
  if (skipReason !== null) return;
  harness = await startCallsHarness({
    // Two workers and three people per router: the call spreads over both (pipeToRouter).
    CALLS_WORKERS: '2',
    CALLS_MAX_PEERS_PER_ROUTER: '3',
    CALLS_LAST_N: String(LAST_N),
  });
  server = harness.server;
});

afterAll(async () => {
  await harness?.close();
});

describe('a group call in Chromium', () => {
  it(
    'gives each of six people all audio and exactly four videos (last-N), and follows a pin',
    { timeout: 240_000 },
    async (ctx) => {
      if (skipReason !== null) return ctx.skip(skipReason);
      const accounts = await Promise.all(NAMES.map((name) => account(name)));
      const meeting = await apiClient(server.url, { accessToken: accounts[0]!.accessToken }).meetings.create.mutate({
        title: 'All hands',
        invitees: accounts.slice(1).map((a) => a.email),
      });
      const people: Person[] = [];
      for (const a of accounts) {
        const person = await openAs(a.name, a.email);
        await person.page.goto(`${server.deps.publicOrigin()}/calls/${meeting.id}`);
        await person.page.getByRole('button', { name: 'Join call' }).click();
        people.push(person);
      }

      const room = () => {
        const running = server.deps.calls.runningRoom(meeting.id);
        if (running === undefined) throw new Error('the call is not running');
        return running;
      };
      // The server side: per person, 5 audio consumers flowing, 5 video consumers of which exactly 4 flow.
      const flows = () =>
        [...room().peers.values()].map((peer) => {
          const consumers = [...peer.consumers.values()];
          const audio = consumers.filter((c) => c.consumer.kind === 'audio');
          const video = consumers.filter((c) => c.consumer.kind === 'video');
          return {
            name: peer.displayName,
            audio: audio.length,
            audioFlowing: audio.filter((c) => !c.consumer.paused).length,
            video: video.length,
            videoFlowing: video.filter((c) => !c.consumer.paused).length,
          };
        });
      const expected = NAMES.map((name) => ({ name, audio: 5, audioFlowing: 5, video: 5, videoFlowing: LAST_N }));
      await expect
        .poll(() => flows().sort((a, b) => a.name.localeCompare(b.name)), { timeout: 60_000, interval: 1_000 })
        .toEqual(expected);
      // Six people, three per router: the call runs on both workers.
      expect(room().workerIndexes.sort()).toEqual([0, 1]);

      // The RTP really arrives: every flowing consumer of Ann's has sent packets.
      const ann = [...room().peers.values()].find((peer) => peer.displayName === 'Ann')!;
      await expect
        .poll(
          async () => {
            const counts = await Promise.all(
              [...ann.consumers.values()]
                .filter((c) => !c.consumer.paused)
                .map(
                  async (c) => (await c.consumer.getStats()).find((s) => s.type === 'outbound-rtp')?.packetCount ?? 0,
                ),
            );
            return counts.length === 5 + LAST_N && counts.every((count) => count > 0);
          },
          { timeout: 30_000 },
        )
        .toBe(true);

      // In every page: four remote tiles show video.
      for (const person of people) {
        await expect.poll(() => tilesWithVideo(person.page), { timeout: 30_000 }).toBe(LAST_N);
      }
      // Ann hears all five others (each remote tile's audio level moves at some point).
      const annPage = people[0]!.page;
      for (const name of NAMES.slice(1)) {
        const tile = annPage.getByRole('list', { name: 'Participants' }).getByRole('listitem', { name, exact: true });
        await expect
          .poll(() => tile.evaluate((li) => Number(li.getAttribute('data-audio-level') ?? '0')), { timeout: 20_000 })
          .toBeGreaterThan(0);
      }
      await saveScreenshot(annPage, 'group-call-six');

      // Ann pins someone whose video she does not get: that video comes in, another goes, still four.
      const notForwarded = NAMES.slice(1).filter(
        (name) =>
          ![...ann.consumers.values()].some(
            (c) =>
              c.consumer.kind === 'video' &&
              !c.consumer.paused &&
              [...room().peers.values()].find((p) => p.id === c.from)?.displayName === name,
          ),
      );
      expect(notForwarded).toHaveLength(5 - LAST_N);
      const chosen = notForwarded[0]!;
      const chosenTile = annPage
        .getByRole('list', { name: 'Participants' })
        .getByRole('listitem', { name: chosen, exact: true });
      await chosenTile.hover();
      await chosenTile.getByRole('button', { name: `Pin ${chosen}` }).click();
      await expect.poll(() => chosenTile.getAttribute('data-video'), { timeout: 20_000 }).toBe('on');
      expect(await tilesWithVideo(annPage)).toBe(LAST_N);
      const annFlows = flows().find((f) => f.name === 'Ann');
      expect(annFlows?.videoFlowing).toBe(LAST_N);
      for (const person of people) expect(person.errors).toEqual([]);
    },
  );
});
