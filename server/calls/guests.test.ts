/**
 * Guests by link over a real server: the host makes, lists and revokes invite
 * links; someone without an account previews a link and joins with a name;
 * the guest token reaches only that meeting's call signaling (waiting room
 * and lock included) and nothing else; expired, revoked and ended all answer
 * the same NOT_FOUND.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiClient, mailTo, refusalOf, signedUpUser } from '../../tests/support/api.ts';
import { startTestServer, type TestServer } from '../../tests/support/server.ts';
import { startTestSmtpServer, type TestSmtpServer } from '../../tests/support/smtp.ts';
import type { GuestTables } from './guests.ts';

let smtp: TestSmtpServer;
let server: TestServer;

beforeAll(async () => {
  smtp = await startTestSmtpServer();
  server = await startTestServer({ ...mailTo(smtp), CALLS_WORKERS: '1', CALLS_PORT: '0' });
});
afterAll(async () => {
  await server?.dispose();
  await smtp?.close();
});

const newUser = (name: string) => signedUpUser(server.url, smtp, name);

const tokenOf = (url: string) => new URL(url).pathname.replace('/join/', '');
const anonymous = () => apiClient(server.url);
const db = () => server.deps.db.withTables<GuestTables>();

describe('invite links', () => {
  it('the host makes, lists and revokes them; a guest previews, joins and gets a call-only token', async () => {
    const [alice, bob] = await Promise.all([newUser('Alice'), newUser('Bob')]);
    const meeting = await alice.api.meetings.create.mutate({ title: 'Design review', invitees: [bob.email] });

    // Only the host manages links.
    expect(await refusalOf(bob.api.calls.invites.create.mutate({ meetingId: meeting.id }))).toBe('FORBIDDEN');
    expect(await refusalOf(bob.api.calls.invites.list.query({ meetingId: meeting.id }))).toBe('FORBIDDEN');

    const before = Date.now();
    const invite = await alice.api.calls.invites.create.mutate({ meetingId: meeting.id, expiresInHours: 2 });
    expect(invite.url.startsWith(`${server.deps.publicOrigin()}/join/`)).toBe(true);
    const token = tokenOf(invite.url);
    expect(Buffer.from(token, 'base64url')).toHaveLength(32);
    expect(invite.expiresAt.getTime() - before).toBeGreaterThanOrEqual(2 * 3_600_000 - 1_000);
    expect(invite.expiresAt.getTime() - before).toBeLessThanOrEqual(2 * 3_600_000 + 5_000);
    // Stored only as a hash.
    const stored = await db().selectFrom('call_invites').selectAll().where('id', '=', invite.id).executeTakeFirst();
    expect(JSON.stringify(stored)).not.toContain(token);
    expect(await alice.api.calls.invites.list.query({ meetingId: meeting.id })).toEqual([
      { id: invite.id, createdAt: invite.createdAt, expiresAt: invite.expiresAt, revokedAt: null },
    ]);
    expect(await refusalOf(alice.api.calls.invites.create.mutate({ meetingId: meeting.id, expiresInHours: 169 }))).toBe(
      'VALIDATION_FAILED',
    );

    expect(await anonymous().calls.guests.preview.query({ token })).toEqual({
      meetingTitle: 'Design review',
      hostName: 'Alice',
      expiresAt: invite.expiresAt,
    });
    expect(await refusalOf(anonymous().calls.guests.join.mutate({ token, displayName: '   ' }))).toBe(
      'VALIDATION_FAILED',
    );
    const joined = await anonymous().calls.guests.join.mutate({ token, displayName: '  Gina  ' });
    expect(joined).toMatchObject({ meetingId: meeting.id, displayName: 'Gina' });
    expect(joined.guestToken.startsWith('mlg_')).toBe(true);
    // The guest's token lasts as long as the invite (under the 12 h cap).
    expect(joined.expiresAt).toEqual(invite.expiresAt);
    const guest = apiClient(server.url, { accessToken: joined.guestToken });

    // A guest is not a session: every user procedure refuses the token.
    for (const attempt of [
      () => guest.auth.me.query(),
      () => guest.meetings.list.query(),
      () => guest.meetings.get.query({ meetingId: meeting.id }),
      () => guest.calls.invites.create.mutate({ meetingId: meeting.id }),
      () => guest.calls.recording.list.query({ meetingId: meeting.id }),
      () => guest.calls.history.query({}),
      () => guest.calls.host.muteAll.mutate({ meetingId: meeting.id, peerId: 'x' }),
      () => guest.drafts.list.query({}),
      () => guest.security.sessions.query(),
    ])
      expect(await refusalOf(attempt())).toBe('UNAUTHENTICATED');

    // With the waiting room on, the guest waits (as a participant named by the link) until admitted.
    const { routerRtpCapabilities: caps } = await alice.api.calls.prepare.mutate({ meetingId: meeting.id });
    const aliceIn = await alice.api.calls.join.mutate({ meetingId: meeting.id, rtpCapabilities: caps });
    await alice.api.calls.host.setWaitingRoom.mutate({ meetingId: meeting.id, peerId: aliceIn.peerId, enabled: true });
    await guest.calls.prepare.mutate({ meetingId: meeting.id });
    const guestIn = await guest.calls.join.mutate({ meetingId: meeting.id, rtpCapabilities: caps });
    expect(guestIn.waiting).toBe(true);
    expect(guestIn.peers).toEqual([]);
    expect(guestIn.self).toMatchObject({ displayName: 'Gina', role: 'participant' });
    expect(guestIn.self.userId.startsWith('guest:')).toBe(true);
    // A guest cannot be handed the host role.
    await alice.api.calls.host.admit.mutate({
      meetingId: meeting.id,
      peerId: aliceIn.peerId,
      targetPeerId: guestIn.peerId,
    });
    expect(
      await refusalOf(
        alice.api.calls.host.transfer.mutate({
          meetingId: meeting.id,
          peerId: aliceIn.peerId,
          targetPeerId: guestIn.peerId,
        }),
      ),
    ).toBe('FORBIDDEN');
    const send = await guest.calls.createTransport.mutate({
      meetingId: meeting.id,
      peerId: guestIn.peerId,
      direction: 'send',
    });
    expect(send.id).toBeTruthy();
    // The guest cannot act as Alice's peer.
    expect(
      await refusalOf(
        guest.calls.createTransport.mutate({ meetingId: meeting.id, peerId: aliceIn.peerId, direction: 'recv' }),
      ),
    ).toBe('NOT_FOUND');
    // Nor reach host controls with its own peer.
    expect(
      await refusalOf(
        guest.calls.host.setLocked.mutate({ meetingId: meeting.id, peerId: guestIn.peerId, locked: true }),
      ),
    ).toBe('UNAUTHENTICATED');
    await guest.calls.leave.mutate({ meetingId: meeting.id, peerId: guestIn.peerId });

    // Locked: the guest cannot come back in.
    await alice.api.calls.host.setLocked.mutate({ meetingId: meeting.id, peerId: aliceIn.peerId, locked: true });
    expect(await refusalOf(guest.calls.join.mutate({ meetingId: meeting.id, rtpCapabilities: caps }))).toBe(
      'PRECONDITION_FAILED',
    );
    await alice.api.calls.host.setLocked.mutate({ meetingId: meeting.id, peerId: aliceIn.peerId, locked: false });
    const back = await guest.calls.join.mutate({ meetingId: meeting.id, rtpCapabilities: caps });
    expect(server.deps.calls.runningRoom(meeting.id)?.findPeer(back.peerId)).toBeDefined();

    // Revoking the link stops the link and its guests, and takes them out of the running call at once.
    expect(await alice.api.calls.invites.revoke.mutate({ meetingId: meeting.id, inviteId: invite.id })).toEqual({
      revoked: true,
      removedFromCall: 1,
    });
    expect(server.deps.calls.runningRoom(meeting.id)?.findPeer(back.peerId)).toBeUndefined();
    expect(await refusalOf(anonymous().calls.guests.preview.query({ token }))).toBe('NOT_FOUND');
    expect(await refusalOf(anonymous().calls.guests.join.mutate({ token, displayName: 'Gina' }))).toBe('NOT_FOUND');
    expect(await refusalOf(guest.calls.prepare.mutate({ meetingId: meeting.id }))).toBe('UNAUTHENTICATED');
    expect((await alice.api.calls.invites.list.query({ meetingId: meeting.id }))[0]!.revokedAt).not.toBeNull();
    await alice.api.calls.leave.mutate({ meetingId: meeting.id, peerId: aliceIn.peerId });
  });

  it('a guest of one meeting cannot reach another', async () => {
    const alice = await newUser('Alice');
    const [a, b] = await Promise.all([
      alice.api.meetings.create.mutate({ title: 'A' }),
      alice.api.meetings.create.mutate({ title: 'B' }),
    ]);
    const invite = await alice.api.calls.invites.create.mutate({ meetingId: a.id });
    const joined = await anonymous().calls.guests.join.mutate({ token: tokenOf(invite.url), displayName: 'Gus' });
    const guest = apiClient(server.url, { accessToken: joined.guestToken });
    expect(await refusalOf(guest.calls.prepare.mutate({ meetingId: b.id }))).toBe('NOT_FOUND');
    expect(await refusalOf(guest.calls.join.mutate({ meetingId: b.id, rtpCapabilities: {} }))).toBe('NOT_FOUND');
    expect(await guest.calls.prepare.mutate({ meetingId: a.id })).toHaveProperty('routerRtpCapabilities');
  });

  it('expired, unknown and ended links all answer the same NOT_FOUND', async () => {
    const alice = await newUser('Alice');
    const meeting = await alice.api.meetings.create.mutate({ title: 'Retro' });
    const expired = await alice.api.calls.invites.create.mutate({ meetingId: meeting.id });
    const live = await alice.api.calls.invites.create.mutate({ meetingId: meeting.id });
    const joined = await anonymous().calls.guests.join.mutate({ token: tokenOf(live.url), displayName: 'Gil' });
    const guest = apiClient(server.url, { accessToken: joined.guestToken });

    await db()
      .updateTable('call_invites')
      .set({ expires_at: Date.now() - 1 })
      .where('id', '=', expired.id)
      .execute();
    const answers = await Promise.all(
      [
        anonymous().calls.guests.preview.query({ token: tokenOf(expired.url) }),
        anonymous().calls.guests.preview.query({ token: 'A'.repeat(43) }),
      ].map(async (p) =>
        p.catch((e: { message: string; data?: { appCode?: string } }) => [e.data?.appCode, e.message]),
      ),
    );
    expect(answers[0]).toEqual(['NOT_FOUND', expect.stringContaining('expired or is not valid')]);
    expect(answers[1]).toEqual(answers[0]);

    // A guest whose own token has lapsed is out, though the link still works.
    const guestRow = await db()
      .selectFrom('call_guests')
      .select('id')
      .where('invite_id', '=', live.id)
      .executeTakeFirstOrThrow();
    await db()
      .updateTable('call_guests')
      .set({ expires_at: Date.now() - 1 })
      .where('id', '=', guestRow.id)
      .execute();
    expect(await refusalOf(guest.calls.prepare.mutate({ meetingId: meeting.id }))).toBe('UNAUTHENTICATED');
    expect(await anonymous().calls.guests.preview.query({ token: tokenOf(live.url) })).toMatchObject({
      meetingTitle: 'Retro',
    });

    await alice.api.meetings.end.mutate({ meetingId: meeting.id });
    expect(await refusalOf(anonymous().calls.guests.preview.query({ token: tokenOf(live.url) }))).toBe('NOT_FOUND');
    expect(await refusalOf(alice.api.calls.invites.create.mutate({ meetingId: meeting.id }))).toBe(
      'PRECONDITION_FAILED',
    );
  });
});
