/**
 * Call signaling over a real server with real mediasoup workers: who may
 * join, what joining answers, transports, the events stream, bad input that
 * stays with its sender, and the host ending the call. Media itself flows in
 * the browser suites (tests/e2e); here no RTP is sent.
 */
import { createTRPCClient, createWSClient, wsLink } from '@trpc/client';
import superjson from 'superjson';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CallEvent } from '../../shared/calls.ts';
import { mailTo, refusalOf, signedUpUser } from '../../tests/support/api.ts';
import { startTestServer, type TestServer } from '../../tests/support/server.ts';
import { startTestSmtpServer, type TestSmtpServer } from '../../tests/support/smtp.ts';
import type { AppRouter } from '../router.ts';

let smtp: TestSmtpServer;
let server: TestServer;

beforeAll(async () => {
  smtp = await startTestSmtpServer();
  server = await startTestServer({ ...mailTo(smtp), CALLS_WORKERS: '2', CALLS_PORT: '0' });
});
afterAll(async () => {
  await server?.dispose();
  await smtp?.close();
});

async function newUser(name: string) {
  const { email, accessToken, api } = await signedUpUser(server.url, smtp, name);
  const ws = createWSClient({
    url: `${server.url.replace('http', 'ws')}/trpc`,
    connectionParams: () => ({ accessToken }),
  });
  const live = createTRPCClient<AppRouter>({ links: [wsLink({ client: ws, transformer: superjson })] });
  return { email, api, live, close: () => ws.close() };
}

/** Collects a peer's call events; `next(type)` waits for the next one of that type. */
function listen(user: Awaited<ReturnType<typeof newUser>>, meetingId: string, peerId: string) {
  const events: CallEvent[] = [];
  const waiters: { type: CallEvent['type']; resolve: (event: CallEvent) => void }[] = [];
  let seen = 0;
  const subscription = user.live.calls.events.subscribe(
    { meetingId, peerId },
    {
      onData: (event) => {
        events.push(event);
        const waiter = waiters.find((w) => w.type === event.type);
        if (waiter !== undefined) {
          waiters.splice(waiters.indexOf(waiter), 1);
          waiter.resolve(event);
        }
      },
    },
  );
  return {
    events,
    unsubscribe: () => subscription.unsubscribe(),
    next<T extends CallEvent['type']>(type: T): Promise<Extract<CallEvent, { type: T }>> {
      const already = events.slice(seen).find((e) => e.type === type);
      if (already !== undefined) {
        seen = events.indexOf(already) + 1;
        return Promise.resolve(already as Extract<CallEvent, { type: T }>);
      }
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no ${type} event`)), 5_000);
        waiters.push({
          type,
          resolve: (event) => {
            clearTimeout(timer);
            seen = events.length;
            resolve(event as Extract<CallEvent, { type: T }>);
          },
        });
      });
    },
  };
}

describe('joining a call', () => {
  it('lets only the meeting’s people in, and tells each who else is there', async () => {
    const [alice, bob, eve] = await Promise.all([newUser('Alice'), newUser('Bob'), newUser('Eve')]);
    const meeting = await alice.api.meetings.create.mutate({ title: 'Kick-off', invitees: [bob.email] });
    expect(meeting.participants.map((p) => [p.displayName, p.role])).toEqual([
      ['Alice', 'host'],
      ['Bob', 'participant'],
    ]);

    // Eve is not invited: the meeting does not exist for her, and neither does its call.
    expect(await refusalOf(eve.api.meetings.get.query({ meetingId: meeting.id }))).toBe('NOT_FOUND');
    expect(await refusalOf(eve.api.calls.prepare.mutate({ meetingId: meeting.id }))).toBe('NOT_FOUND');

    const prepared = await alice.api.calls.prepare.mutate({ meetingId: meeting.id });
    const codecs = (prepared.routerRtpCapabilities['codecs'] as { mimeType: string }[]).map((c) => c.mimeType);
    expect(codecs).toEqual(expect.arrayContaining(['audio/opus', 'video/VP8', 'video/VP9', 'video/H264']));
    const caps = prepared.routerRtpCapabilities;
    expect(await refusalOf(eve.api.calls.join.mutate({ meetingId: meeting.id, rtpCapabilities: caps }))).toBe(
      'NOT_FOUND',
    );

    const aliceIn = await alice.api.calls.join.mutate({ meetingId: meeting.id, rtpCapabilities: caps });
    expect(aliceIn.peers).toEqual([]);
    const aliceEvents = listen(alice, meeting.id, aliceIn.peerId);
    const bobIn = await bob.api.calls.join.mutate({ meetingId: meeting.id, rtpCapabilities: caps });
    expect(bobIn.peers.map((p) => p.displayName)).toEqual(['Alice']);
    expect((await aliceEvents.next('peer-joined')).peer).toMatchObject({ displayName: 'Bob', role: 'participant' });
    expect((await alice.api.meetings.get.query({ meetingId: meeting.id })).inCall.length).toBe(2);

    // Eve cannot read Alice's events or act as her peer, even knowing the ids.
    expect(
      await refusalOf(
        eve.api.calls.createTransport.mutate({ meetingId: meeting.id, peerId: aliceIn.peerId, direction: 'send' }),
      ),
    ).toBe('NOT_FOUND');
    // Nor can Bob act as Alice.
    expect(
      await refusalOf(
        bob.api.calls.createTransport.mutate({ meetingId: meeting.id, peerId: aliceIn.peerId, direction: 'send' }),
      ),
    ).toBe('NOT_FOUND');

    const send = await alice.api.calls.createTransport.mutate({
      meetingId: meeting.id,
      peerId: aliceIn.peerId,
      direction: 'send',
    });
    expect(send.iceCandidates.length).toBeGreaterThan(0);
    expect(
      await refusalOf(
        alice.api.calls.createTransport.mutate({ meetingId: meeting.id, peerId: aliceIn.peerId, direction: 'send' }),
      ),
    ).toBe('CONFLICT');

    await bob.api.calls.leave.mutate({ meetingId: meeting.id, peerId: bobIn.peerId });
    expect((await aliceEvents.next('peer-left')).peerId).toBe(bobIn.peerId);
    aliceEvents.unsubscribe();
    for (const user of [alice, bob, eve]) void user.close();
  });

  it('refuses bad signaling for its sender only, and the call goes on', async () => {
    const [alice, bob] = await Promise.all([newUser('Alice'), newUser('Bob')]);
    const meeting = await alice.api.meetings.create.mutate({ title: 'Review', invitees: [bob.email] });
    const { routerRtpCapabilities: caps } = await alice.api.calls.prepare.mutate({ meetingId: meeting.id });
    const aliceIn = await alice.api.calls.join.mutate({ meetingId: meeting.id, rtpCapabilities: caps });
    const bobIn = await bob.api.calls.join.mutate({ meetingId: meeting.id, rtpCapabilities: caps });
    const send = await alice.api.calls.createTransport.mutate({
      meetingId: meeting.id,
      peerId: aliceIn.peerId,
      direction: 'send',
    });
    const ref = { meetingId: meeting.id, peerId: aliceIn.peerId };
    // RTP parameters the router cannot accept: mediasoup's refusal, as a validation error.
    expect(
      await refusalOf(
        alice.api.calls.produce.mutate({
          ...ref,
          transportId: send.id,
          kind: 'video',
          source: 'camera',
          rtpParameters: { codecs: [{ mimeType: 'video/NOPE', payloadType: 101, clockRate: 90000 }], encodings: [] },
        }),
      ),
    ).toBe('VALIDATION_FAILED');
    // The wrong kind for the source, unknown ids, an oversized payload.
    expect(
      await refusalOf(
        alice.api.calls.produce.mutate({
          ...ref,
          transportId: send.id,
          kind: 'video',
          source: 'microphone',
          rtpParameters: {},
        }),
      ),
    ).toBe('VALIDATION_FAILED');
    expect(await refusalOf(alice.api.calls.resumeConsumer.mutate({ ...ref, consumerId: 'nope' }))).toBe('NOT_FOUND');
    expect(
      await refusalOf(alice.api.calls.connectTransport.mutate({ ...ref, transportId: 'nope', dtlsParameters: {} })),
    ).toBe('NOT_FOUND');
    expect(
      await refusalOf(
        alice.api.calls.connectTransport.mutate({
          ...ref,
          transportId: send.id,
          dtlsParameters: { fingerprints: 'x'.repeat(20_000) },
        }),
      ),
    ).toBe('VALIDATION_FAILED');
    // Bob's call is untouched: he can still set up media.
    const bobSend = await bob.api.calls.createTransport.mutate({
      meetingId: meeting.id,
      peerId: bobIn.peerId,
      direction: 'send',
    });
    expect(bobSend.id).toBeTruthy();
    for (const user of [alice, bob]) void user.close();
  });
});

describe('ending a call', () => {
  it('ends it for everyone when the host ends the meeting; only the host may', async () => {
    const [alice, bob] = await Promise.all([newUser('Alice'), newUser('Bob')]);
    const meeting = await alice.api.meetings.create.mutate({ title: 'Wrap-up', invitees: [bob.email] });
    const { routerRtpCapabilities: caps } = await alice.api.calls.prepare.mutate({ meetingId: meeting.id });
    await alice.api.calls.join.mutate({ meetingId: meeting.id, rtpCapabilities: caps });
    const bobIn = await bob.api.calls.join.mutate({ meetingId: meeting.id, rtpCapabilities: caps });
    const bobEvents = listen(bob, meeting.id, bobIn.peerId);
    expect(await refusalOf(bob.api.meetings.end.mutate({ meetingId: meeting.id }))).toBe('FORBIDDEN');
    await alice.api.meetings.end.mutate({ meetingId: meeting.id });
    expect((await bobEvents.next('call-ended')).reason).toBe('ended-by-host');
    expect(await refusalOf(bob.api.calls.prepare.mutate({ meetingId: meeting.id }))).toBe('PRECONDITION_FAILED');
    for (const user of [alice, bob]) void user.close();
  });
});

describe('host controls', () => {
  async function callOf(host: Awaited<ReturnType<typeof newUser>>, ...others: Awaited<ReturnType<typeof newUser>>[]) {
    const meeting = await host.api.meetings.create.mutate({ title: 'Controls', invitees: others.map((o) => o.email) });
    const { routerRtpCapabilities: caps } = await host.api.calls.prepare.mutate({ meetingId: meeting.id });
    const hostIn = await host.api.calls.join.mutate({ meetingId: meeting.id, rtpCapabilities: caps });
    return { meeting, caps, hostIn, hostEvents: listen(host, meeting.id, hostIn.peerId) };
  }

  it('keeps people in the waiting room until the host admits or denies them', async () => {
    const [alice, bob, carol] = await Promise.all([newUser('Alice'), newUser('Bob'), newUser('Carol')]);
    const { meeting, caps, hostIn, hostEvents } = await callOf(alice, bob, carol);
    const ref = { meetingId: meeting.id, peerId: hostIn.peerId };
    await alice.api.calls.host.setWaitingRoom.mutate({ ...ref, enabled: true });

    const bobIn = await bob.api.calls.join.mutate({ meetingId: meeting.id, rtpCapabilities: caps });
    expect(bobIn.waiting).toBe(true);
    // Waiting, Bob learns nothing about who is inside and cannot send or receive media.
    expect(bobIn.peers).toEqual([]);
    expect(
      await refusalOf(
        bob.api.calls.createTransport.mutate({ meetingId: meeting.id, peerId: bobIn.peerId, direction: 'recv' }),
      ),
    ).toBe('PRECONDITION_FAILED');
    const bobEvents = listen(bob, meeting.id, bobIn.peerId);
    let waitingState = await hostEvents.next('room-state');
    while (waitingState.room.waiting.length === 0) waitingState = await hostEvents.next('room-state');
    expect(waitingState.room.waiting.map((p) => p.displayName)).toEqual(['Bob']);
    // Only the host may let people in.
    const carolIn = await carol.api.calls.join.mutate({ meetingId: meeting.id, rtpCapabilities: caps });
    expect(
      await refusalOf(
        carol.api.calls.host.admit.mutate({
          meetingId: meeting.id,
          peerId: carolIn.peerId,
          targetPeerId: bobIn.peerId,
        }),
      ),
    ).toBe('FORBIDDEN');

    await alice.api.calls.host.admit.mutate({ ...ref, targetPeerId: bobIn.peerId });
    await bobEvents.next('admitted');
    expect((await hostEvents.next('peer-joined')).peer.displayName).toBe('Bob');
    const transport = await bob.api.calls.createTransport.mutate({
      meetingId: meeting.id,
      peerId: bobIn.peerId,
      direction: 'recv',
    });
    expect(transport.id).toBeTruthy();

    const carolEvents = listen(carol, meeting.id, carolIn.peerId);
    await carolEvents.next('room-state');
    await alice.api.calls.host.deny.mutate({ ...ref, targetPeerId: carolIn.peerId });
    expect((await carolEvents.next('call-ended')).reason).toBe('denied');
    for (const user of [alice, bob, carol]) void user.close();
  });

  it('locks the call, hands over the host role, handles raised hands and removes people', async () => {
    const [alice, bob, carol] = await Promise.all([newUser('Alice'), newUser('Bob'), newUser('Carol')]);
    const { meeting, caps, hostIn, hostEvents } = await callOf(alice, bob, carol);
    const ref = { meetingId: meeting.id, peerId: hostIn.peerId };
    const bobIn = await bob.api.calls.join.mutate({ meetingId: meeting.id, rtpCapabilities: caps });
    const bobRef = { meetingId: meeting.id, peerId: bobIn.peerId };
    const bobEvents = listen(bob, meeting.id, bobIn.peerId);

    await alice.api.calls.host.setLocked.mutate({ ...ref, locked: true });
    expect(await refusalOf(carol.api.calls.join.mutate({ meetingId: meeting.id, rtpCapabilities: caps }))).toBe(
      'PRECONDITION_FAILED',
    );
    expect(await refusalOf(bob.api.calls.host.setLocked.mutate({ ...bobRef, locked: false }))).toBe('FORBIDDEN');

    await bob.api.calls.raiseHand.mutate({ ...bobRef, raised: true });
    let state = await hostEvents.next('room-state');
    while (!state.room.hands.includes(bobIn.peerId)) state = await hostEvents.next('room-state');
    await alice.api.calls.host.lowerHand.mutate({ ...ref, targetPeerId: bobIn.peerId });
    state = await hostEvents.next('room-state');
    expect(state.room.hands).toEqual([]);

    await alice.api.calls.host.transfer.mutate({ ...ref, targetPeerId: bobIn.peerId });
    let updated = await bobEvents.next('peer-updated');
    while (updated.peer.peerId !== bobIn.peerId) updated = await bobEvents.next('peer-updated');
    expect(updated.peer.role).toBe('host');
    expect((await bob.api.meetings.get.query({ meetingId: meeting.id })).myRole).toBe('host');
    // The old host is a participant now; the new one unlocks and removes her.
    expect(await refusalOf(alice.api.calls.host.setLocked.mutate({ ...ref, locked: false }))).toBe('FORBIDDEN');
    await bob.api.calls.host.setLocked.mutate({ ...bobRef, locked: false });
    await bob.api.calls.host.remove.mutate({ ...bobRef, targetPeerId: hostIn.peerId });
    expect((await hostEvents.next('call-ended')).reason).toBe('removed');
    const carolIn = await carol.api.calls.join.mutate({ meetingId: meeting.id, rtpCapabilities: caps });
    expect(carolIn.peers.map((p) => p.displayName)).toEqual(['Bob']);
    for (const user of [alice, bob, carol]) void user.close();
  });
});

describe('in-call chat', () => {
  it('sends to everyone in the call, keeps the messages for the meeting’s people only, and limits bursts', async () => {
    const [alice, bob, eve] = await Promise.all([newUser('Alice'), newUser('Bob'), newUser('Eve')]);
    const meeting = await alice.api.meetings.create.mutate({ title: 'Chatty', invitees: [bob.email] });
    const { routerRtpCapabilities: caps } = await alice.api.calls.prepare.mutate({ meetingId: meeting.id });
    const aliceIn = await alice.api.calls.join.mutate({ meetingId: meeting.id, rtpCapabilities: caps });
    const aliceEvents = listen(alice, meeting.id, aliceIn.peerId);
    await aliceEvents.next('room-state');
    const bobIn = await bob.api.calls.join.mutate({ meetingId: meeting.id, rtpCapabilities: caps });
    const bobRef = { meetingId: meeting.id, peerId: bobIn.peerId };

    const sent = await bob.api.calls.chat.send.mutate({ ...bobRef, text: '  Slides are <b>up</b>  ' });
    expect(sent).toMatchObject({ senderName: 'Bob', guest: false, text: 'Slides are <b>up</b>' });
    const heard = await aliceEvents.next('chat');
    expect(heard.message).toEqual(sent);
    expect((await alice.api.calls.chat.list.query({ meetingId: meeting.id })).map((m) => m.text)).toEqual([
      'Slides are <b>up</b>',
    ]);

    // Not Eve's meeting: she can neither read nor write.
    expect(await refusalOf(eve.api.calls.chat.list.query({ meetingId: meeting.id }))).toBe('NOT_FOUND');
    expect(await refusalOf(eve.api.calls.chat.send.mutate({ ...bobRef, text: 'hi' }))).toBe('NOT_FOUND');
    expect(await refusalOf(bob.api.calls.chat.send.mutate({ ...bobRef, text: 'x'.repeat(2_001) }))).toBe(
      'VALIDATION_FAILED',
    );
    expect(await refusalOf(bob.api.calls.chat.send.mutate({ ...bobRef, text: '   ' }))).toBe('VALIDATION_FAILED');
    for (let i = 1; i < 10; i += 1) await bob.api.calls.chat.send.mutate({ ...bobRef, text: `message ${i}` });
    expect(await refusalOf(bob.api.calls.chat.send.mutate({ ...bobRef, text: 'one too many' }))).toBe('RATE_LIMITED');
    // After the call the meeting's people still read it.
    await alice.api.meetings.end.mutate({ meetingId: meeting.id });
    expect(await bob.api.calls.chat.list.query({ meetingId: meeting.id })).toHaveLength(10);
    for (const user of [alice, bob, eve]) void user.close();
  });
});
