/**
 * Authorization, table-driven: every procedure of the API is listed here with
 * who may call it. The test fails when a procedure is added without a row,
 * so this table grows with the API. Each protected procedure is called
 * anonymously (refused), and every procedure that touches a user's data is
 * called as another user (refused, or answers with nothing of the first).
 */
import { generate } from 'otplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { notificationHub } from '../../server/notifications/hub.ts';
import type { CallHistoryTables } from '../../server/calls/history.ts';
import { insertRecording, recordingsDb, type RecordingTables } from '../../server/calls/recording-store.ts';
import { appRouter } from '../../server/router.ts';
import { DEFAULT_WEEKLY_HOURS } from '../../shared/schedule.ts';
import { apiClient, firstEventOf, mailTo, mailedCode, refusalOf } from '../support/api.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { startTestSmtpServer, type TestSmtpServer } from '../support/smtp.ts';

type Client = ReturnType<typeof clientFor>;

interface Person {
  email: string;
  password: string;
  accessToken: string;
  sessionId: string;
  client: Client;
}

interface Row {
  /** Who may call it at all (`caller`: a user session or a guest-by-link token, calls.ts signaling only). */
  access: 'public' | 'authed' | 'stepUp' | 'admin' | 'caller';
  /** Calls the procedure with a valid input as `client` (whose access token is `token`, for subscriptions). */
  call: (client: Client, people: { alice: Person; bob: Person }, token: string | undefined) => Promise<unknown>;
  /** For procedures on a user's data: Bob acting on Alice must be refused or see nothing of hers. */
  asOtherUser?: (people: { alice: Person; bob: Person }) => Promise<void>;
}

// Well-formed but meaningless WebAuthn answers: enough to reach the authorization checks.
const fakeRegistration = {
  id: 'bm8tc3VjaC1rZXk',
  rawId: 'bm8tc3VjaC1rZXk',
  type: 'public-key' as const,
  clientExtensionResults: {},
  response: { clientDataJSON: 'e30', attestationObject: 'oA' },
};
const fakeAssertion = {
  id: 'bm8tc3VjaC1rZXk',
  rawId: 'bm8tc3VjaC1rZXk',
  type: 'public-key' as const,
  clientExtensionResults: {},
  response: { clientDataJSON: 'e30', authenticatorData: 'AA', signature: 'AA' },
};

const callRef = () => ({ meetingId: crypto.randomUUID(), peerId: 'none' });

const nextWeek = () => Date.now() + 7 * 24 * 3_600_000;
const scheduleInput = (title: string) => ({
  title,
  startsAt: nextWeek(),
  durationMinutes: 30,
  timeZone: 'Europe/London',
});

const table: Record<string, Row> = {
  'system.info': { access: 'public', call: (c) => c.system.info.query() },
  'system.status': { access: 'public', call: () => Promise.resolve('subscription: covered by server/main.test.ts') },
  'auth.signUp': {
    access: 'public',
    call: (c) =>
      c.auth.signUp.mutate({ email: `x${Date.now()}@example.com`, password: 'long enough password', displayName: 'X' }),
  },
  'auth.resendVerification': {
    access: 'public',
    call: (c) => c.auth.resendVerification.mutate({ email: 'nobody@example.com' }),
  },
  'auth.verifyEmail': {
    access: 'public',
    call: (c) => c.auth.verifyEmail.mutate({ email: 'nobody@example.com', code: '123456' }),
  },
  'auth.signIn': {
    access: 'public',
    call: (c) => c.auth.signIn.mutate({ email: 'nobody@example.com', password: 'whatever password' }),
  },
  'auth.completeSignIn': {
    access: 'public',
    call: (c) => c.auth.completeSignIn.mutate({ challengeId: 'none', method: 'email', code: '123456' }),
  },
  'auth.sendSignInCode': { access: 'public', call: (c) => c.auth.sendSignInCode.mutate({ challengeId: 'none' }) },
  'auth.refresh': { access: 'public', call: (c) => c.auth.refresh.mutate({ refreshToken: 'mlr_nothing' }) },
  'auth.requestPasswordReset': {
    access: 'public',
    call: (c) => c.auth.requestPasswordReset.mutate({ email: 'nobody@example.com' }),
  },
  'auth.resetPassword': {
    access: 'public',
    call: (c) =>
      c.auth.resetPassword.mutate({
        email: 'nobody@example.com',
        code: '123456',
        newPassword: 'another long password',
      }),
  },
  'auth.signOut': { access: 'authed', call: (c) => c.auth.signOut.mutate() },
  'auth.me': {
    access: 'authed',
    call: (c) => c.auth.me.query(),
    asOtherUser: async ({ alice, bob }) => {
      expect((await bob.client.auth.me.query()).email).toBe(bob.email);
      expect((await alice.client.auth.me.query()).email).toBe(alice.email);
    },
  },
  'auth.changePassword': {
    access: 'authed',
    call: (c) =>
      c.auth.changePassword.mutate({ currentPassword: 'wrong current one', newPassword: 'a new long password' }),
    asOtherUser: async ({ alice, bob }) => {
      // Bob knows Alice's password: it is still Bob's account that would change, and his check fails.
      const failure = await refusal(
        bob.client.auth.changePassword.mutate({ currentPassword: alice.password, newPassword: 'hijacked password!' }),
      );
      expect(failure).toBe('VALIDATION_FAILED');
    },
  },
  'security.sessions': {
    access: 'authed',
    call: (c) => c.security.sessions.query(),
    asOtherUser: async ({ alice, bob }) => {
      const ids = (await bob.client.security.sessions.query()).map((s) => s.id);
      expect(ids).toContain(bob.sessionId);
      expect(ids).not.toContain(alice.sessionId);
    },
  },
  'security.revokeSession': {
    access: 'authed',
    call: (c) => c.security.revokeSession.mutate({ sessionId: 'no-such-session' }),
    asOtherUser: async ({ alice, bob }) => {
      expect(await refusal(bob.client.security.revokeSession.mutate({ sessionId: alice.sessionId }))).toBe('NOT_FOUND');
      expect((await alice.client.auth.me.query()).email).toBe(alice.email);
    },
  },
  'security.revokeOtherSessions': {
    access: 'authed',
    call: (c) => c.security.revokeOtherSessions.mutate(),
    asOtherUser: async ({ alice, bob }) => {
      await bob.client.security.revokeOtherSessions.mutate();
      expect((await alice.client.auth.me.query()).email).toBe(alice.email);
    },
  },
  'security.events': {
    access: 'authed',
    call: (c) => c.security.events.query({ limit: 5 }),
    asOtherUser: async ({ alice, bob }) => {
      const bobsEvents = await bob.client.security.events.query({ limit: 200 });
      expect(bobsEvents.length).toBeGreaterThan(0);
      expect(bobsEvents.some((e) => e.sessionId === alice.sessionId)).toBe(false);
    },
  },
  'admin.exportSecurityEvents': {
    access: 'admin',
    call: (c) => c.admin.exportSecurityEvents.mutate({ format: 'json' }),
  },
  'mfa.status': {
    access: 'authed',
    call: (c) => c.mfa.status.query(),
  },
  'mfa.totp.begin': {
    access: 'authed',
    call: (c, { bob }) => c.mfa.totp.begin.mutate({ currentPassword: bob.password }),
    asOtherUser: async ({ alice, bob }) => {
      // Each set-up is the caller's own: a code from Alice's secret does not turn on Bob's, and hers stays off.
      const hers = await alice.client.mfa.totp.begin.mutate({ currentPassword: alice.password });
      const his = await bob.client.mfa.totp.begin.mutate({ currentPassword: bob.password });
      expect(his.secret).not.toBe(hers.secret);
      const code = await generate({ secret: hers.secret });
      expect(await refusal(bob.client.mfa.totp.confirm.mutate({ code }))).toBe('VALIDATION_FAILED');
      expect((await alice.client.mfa.status.query()).totp.enabled).toBe(false);
      expect((await bob.client.mfa.status.query()).totp.enabled).toBe(false);
    },
  },
  'mfa.totp.confirm': { access: 'authed', call: (c) => c.mfa.totp.confirm.mutate({ code: '123456' }) },
  'mfa.totp.remove': { access: 'stepUp', call: (c) => c.mfa.totp.remove.mutate() },
  'mfa.sms.begin': {
    access: 'authed',
    call: (c, { bob }) => c.mfa.sms.begin.mutate({ phone: '+44 7700 900456', currentPassword: bob.password }),
  },
  'mfa.sms.confirm': { access: 'authed', call: (c) => c.mfa.sms.confirm.mutate({ code: '123456' }) },
  'mfa.sms.remove': { access: 'stepUp', call: (c) => c.mfa.sms.remove.mutate() },
  'mfa.backupCodes.regenerate': { access: 'stepUp', call: (c) => c.mfa.backupCodes.regenerate.mutate() },
  'mfa.setDefault': { access: 'stepUp', call: (c) => c.mfa.setDefault.mutate({ method: 'totp' }) },
  'passkeys.registrationOptions': {
    access: 'authed',
    call: (c) => c.passkeys.registrationOptions.mutate({ kind: 'passkey' }),
  },
  'passkeys.register': {
    access: 'authed',
    call: (c) => c.passkeys.register.mutate({ challengeId: 'none', response: fakeRegistration }),
    asOtherUser: async ({ alice, bob }) => {
      // Alice's registration challenge is hers: Bob cannot complete it.
      const { challengeId } = await alice.client.passkeys.registrationOptions.mutate({ kind: 'passkey' });
      expect(await refusal(bob.client.passkeys.register.mutate({ challengeId, response: fakeRegistration }))).toBe(
        'PRECONDITION_FAILED',
      );
    },
  },
  'passkeys.list': {
    access: 'authed',
    call: (c) => c.passkeys.list.query(),
    asOtherUser: async ({ bob }) => {
      expect(await bob.client.passkeys.list.query()).toEqual([]);
    },
  },
  'passkeys.rename': {
    access: 'authed',
    call: (c) => c.passkeys.rename.mutate({ id: 'bm8tc3VjaC1rZXk', name: 'Laptop' }),
  },
  'passkeys.remove': { access: 'stepUp', call: (c) => c.passkeys.remove.mutate({ id: 'bm8tc3VjaC1rZXk' }) },
  'passkeys.signInOptions': { access: 'public', call: (c) => c.passkeys.signInOptions.mutate() },
  'passkeys.signIn': {
    access: 'public',
    call: (c) => c.passkeys.signIn.mutate({ challengeId: 'none', response: fakeAssertion }),
  },
  'passkeys.secondStepOptions': {
    access: 'public',
    call: (c) => c.passkeys.secondStepOptions.mutate({ challengeId: 'none' }),
  },
  'passkeys.completeSignIn': {
    access: 'public',
    call: (c) =>
      c.passkeys.completeSignIn.mutate({ challengeId: 'none', passkeyChallengeId: 'none', response: fakeAssertion }),
  },
  'passkeys.stepUpOptions': { access: 'authed', call: (c) => c.passkeys.stepUpOptions.mutate() },
  'passkeys.stepUp': {
    access: 'authed',
    call: (c) => c.passkeys.stepUp.mutate({ challengeId: 'none', response: fakeAssertion }),
  },
  'meetings.create': {
    access: 'authed',
    call: (c) => c.meetings.create.mutate({ title: 'Kick-off' }),
  },
  'meetings.list': {
    access: 'authed',
    call: (c) => c.meetings.list.query(),
    asOtherUser: async ({ alice, bob }) => {
      const hers = await alice.client.meetings.create.mutate({ title: 'Alice only' });
      expect((await bob.client.meetings.list.query()).some((m) => m.id === hers.id)).toBe(false);
    },
  },
  'meetings.get': {
    access: 'authed',
    call: (c) => c.meetings.get.query({ meetingId: crypto.randomUUID() }),
    asOtherUser: async ({ alice, bob }) => {
      const hers = await alice.client.meetings.create.mutate({ title: 'Alice only' });
      expect(await refusal(bob.client.meetings.get.query({ meetingId: hers.id }))).toBe('NOT_FOUND');
    },
  },
  'meetings.invite': {
    access: 'authed',
    call: (c, { bob }) => c.meetings.invite.mutate({ meetingId: crypto.randomUUID(), invitees: [bob.email] }),
    asOtherUser: async ({ alice, bob }) => {
      const hers = await alice.client.meetings.create.mutate({ title: 'Alice only' });
      // Bob cannot invite himself into Alice's meeting.
      expect(await refusal(bob.client.meetings.invite.mutate({ meetingId: hers.id, invitees: [bob.email] }))).toBe(
        'NOT_FOUND',
      );
      expect((await alice.client.meetings.get.query({ meetingId: hers.id })).participants).toHaveLength(1);
    },
  },
  'meetings.end': {
    access: 'authed',
    call: (c) => c.meetings.end.mutate({ meetingId: crypto.randomUUID() }),
    asOtherUser: async ({ alice, bob }) => {
      const hers = await alice.client.meetings.create.mutate({ title: 'Alice only' });
      expect(await refusal(bob.client.meetings.end.mutate({ meetingId: hers.id }))).toBe('NOT_FOUND');
      expect((await alice.client.meetings.get.query({ meetingId: hers.id })).endedAt).toBeNull();
    },
  },
  'meetings.schedule': {
    access: 'authed',
    call: (c) => c.meetings.schedule.mutate(scheduleInput('Planning')),
    asOtherUser: async ({ alice, bob }) => {
      const hers = await alice.client.meetings.schedule.mutate(scheduleInput('Alice only, scheduled'));
      expect((await bob.client.meetings.list.query()).some((m) => m.id === hers.id)).toBe(false);
      expect(await refusal(bob.client.meetings.get.query({ meetingId: hers.id }))).toBe('NOT_FOUND');
    },
  },
  'meetings.reschedule': {
    access: 'authed',
    call: (c) =>
      c.meetings.reschedule.mutate({ meetingId: crypto.randomUUID(), startsAt: nextWeek(), durationMinutes: 30 }),
    asOtherUser: async ({ alice, bob }) => {
      const hers = await alice.client.meetings.schedule.mutate(scheduleInput('Alice only, scheduled'));
      const moved = { meetingId: hers.id, startsAt: nextWeek() + 3_600_000, durationMinutes: 60 };
      expect(await refusal(bob.client.meetings.reschedule.mutate(moved))).toBe('NOT_FOUND');
      expect((await alice.client.meetings.get.query({ meetingId: hers.id })).startsAt).toEqual(hers.startsAt);
    },
  },
  'meetings.cancel': {
    access: 'authed',
    call: (c) => c.meetings.cancel.mutate({ meetingId: crypto.randomUUID() }),
    asOtherUser: async ({ alice, bob }) => {
      const hers = await alice.client.meetings.schedule.mutate(scheduleInput('Alice only, scheduled'));
      expect(await refusal(bob.client.meetings.cancel.mutate({ meetingId: hers.id }))).toBe('NOT_FOUND');
      expect((await alice.client.meetings.get.query({ meetingId: hers.id })).endedAt).toBeNull();
    },
  },
  'schedule.availability.get': {
    access: 'authed',
    call: (c) => c.schedule.availability.get.query(),
    asOtherUser: async ({ alice, bob }) => {
      await alice.client.schedule.availability.set.mutate({ timeZone: 'Asia/Tokyo', weekly: DEFAULT_WEEKLY_HOURS });
      expect((await bob.client.schedule.availability.get.query()).timeZone).not.toBe('Asia/Tokyo');
    },
  },
  'schedule.availability.set': {
    access: 'authed',
    call: (c) => c.schedule.availability.set.mutate({ timeZone: 'UTC', weekly: DEFAULT_WEEKLY_HOURS }),
    asOtherUser: async ({ alice, bob }) => {
      await alice.client.schedule.availability.set.mutate({ timeZone: 'Asia/Tokyo', weekly: DEFAULT_WEEKLY_HOURS });
      // Bob's own row changes; Alice's stays as she saved it.
      await bob.client.schedule.availability.set.mutate({ timeZone: 'America/Chicago', weekly: DEFAULT_WEEKLY_HOURS });
      expect((await alice.client.schedule.availability.get.query()).timeZone).toBe('Asia/Tokyo');
      expect((await bob.client.schedule.availability.get.query()).timeZone).toBe('America/Chicago');
    },
  },
  'schedule.suggest': {
    access: 'authed',
    call: (c) =>
      c.schedule.suggest.query({
        invitees: [],
        durationMinutes: 30,
        from: Date.now(),
        to: nextWeek(),
        timeZone: 'UTC',
      }),
    asOtherUser: async ({ alice, bob }) => {
      await alice.client.schedule.availability.set.mutate({ timeZone: 'Asia/Tokyo', weekly: DEFAULT_WEEKLY_HOURS });
      await alice.client.meetings.schedule.mutate(scheduleInput('Alice private topic'));
      const answer = await bob.client.schedule.suggest.query({
        invitees: [alice.email],
        durationMinutes: 30,
        from: Date.now(),
        to: nextWeek() + 7 * 24 * 3_600_000,
        timeZone: 'UTC',
      });
      // Times only: nothing of Alice's hours, zone or meetings.
      expect(Object.keys(answer).sort()).toEqual(['assumedDefaults', 'slots', 'youAssumed']);
      expect(JSON.stringify(answer)).not.toMatch(/Tokyo|Alice private topic/);
      for (const slot of answer.slots) expect(Object.keys(slot).sort()).toEqual(['endsAt', 'startsAt']);
      // Nor can Bob plan around the people of a meeting he is not in.
      const hers = await alice.client.meetings.schedule.mutate(scheduleInput('Alice only, scheduled'));
      expect(
        await refusal(
          bob.client.schedule.suggest.query({
            invitees: [],
            durationMinutes: 30,
            from: Date.now(),
            to: nextWeek(),
            timeZone: 'UTC',
            meetingId: hers.id,
          }),
        ),
      ).toBe('NOT_FOUND');
    },
  },
  'notifications.stream': {
    access: 'authed',
    call: (_c, _people, token) =>
      firstEventOf(server.url, token, (client, handlers) => client.notifications.stream.subscribe(undefined, handlers)),
    asOtherUser: async ({ alice, bob }) => {
      const hub = notificationHub(server.deps);
      const [aliceId, bobId] = [(await alice.client.auth.me.query()).id, (await bob.client.auth.me.query()).id];
      const reminder = (meetingId: string) => ({
        kind: 'meeting-reminder' as const,
        meetingId,
        title: meetingId,
        startsAt: new Date(nextWeek()),
        minutesBefore: 10,
      });
      // Alice's notification goes out first, every time: Bob's stream must still only ever see his own.
      const timer = setInterval(() => {
        hub.publish(aliceId, reminder('for-alice'));
        hub.publish(bobId, reminder('for-bob'));
      }, 50);
      try {
        const first = await firstEventOf(server.url, bob.accessToken, (client, handlers) =>
          client.notifications.stream.subscribe(undefined, handlers),
        );
        expect(first).toMatchObject({ meetingId: 'for-bob' });
      } finally {
        clearInterval(timer);
      }
    },
  },
  'calls.prepare': {
    access: 'caller',
    call: (c) => c.calls.prepare.mutate({ meetingId: crypto.randomUUID() }),
    asOtherUser: async ({ alice, bob }) => {
      const hers = await alice.client.meetings.create.mutate({ title: 'Alice only' });
      expect(await refusal(bob.client.calls.prepare.mutate({ meetingId: hers.id }))).toBe('NOT_FOUND');
    },
  },
  'calls.invites.create': {
    access: 'authed',
    call: (c) => c.calls.invites.create.mutate({ meetingId: crypto.randomUUID() }),
    asOtherUser: async ({ alice, bob }) => {
      const hers = await alice.client.meetings.create.mutate({ title: 'Alice only' });
      expect(await refusal(bob.client.calls.invites.create.mutate({ meetingId: hers.id }))).toBe('NOT_FOUND');
      // Invited but not the host: still no invite links.
      const shared = await alice.client.meetings.create.mutate({ title: 'Shared', invitees: [bob.email] });
      expect(await refusal(bob.client.calls.invites.create.mutate({ meetingId: shared.id }))).toBe('FORBIDDEN');
    },
  },
  'calls.invites.list': {
    access: 'authed',
    call: (c) => c.calls.invites.list.query({ meetingId: crypto.randomUUID() }),
    asOtherUser: async ({ alice, bob }) => {
      const { meetingId } = await aliceInvite(alice, bob);
      expect(await refusal(bob.client.calls.invites.list.query({ meetingId }))).toBe('FORBIDDEN');
      expect(await alice.client.calls.invites.list.query({ meetingId })).toHaveLength(1);
    },
  },
  'calls.invites.revoke': {
    access: 'authed',
    call: (c) => c.calls.invites.revoke.mutate({ meetingId: crypto.randomUUID(), inviteId: crypto.randomUUID() }),
    asOtherUser: async ({ alice, bob }) => {
      const { meetingId, inviteId } = await aliceInvite(alice, bob);
      expect(await refusal(bob.client.calls.invites.revoke.mutate({ meetingId, inviteId }))).toBe('FORBIDDEN');
      expect((await alice.client.calls.invites.list.query({ meetingId }))[0]!.revokedAt).toBeNull();
    },
  },
  'calls.guests.preview': {
    access: 'public',
    call: (c) => c.calls.guests.preview.query({ token: 'A'.repeat(43) }),
  },
  'calls.guests.join': {
    access: 'public',
    call: (c) => c.calls.guests.join.mutate({ token: 'A'.repeat(43), displayName: 'Guest' }),
  },
  'calls.join': {
    access: 'caller',
    call: (c) => c.calls.join.mutate({ meetingId: crypto.randomUUID(), rtpCapabilities: {} }),
  },
  'calls.events': {
    access: 'caller',
    call: (_c, _people, token) =>
      firstEventOf(server.url, token, (client, handlers) =>
        client.calls.events.subscribe({ meetingId: crypto.randomUUID(), peerId: 'none' }, handlers),
      ),
  },
  'calls.createTransport': {
    access: 'caller',
    call: (c) => c.calls.createTransport.mutate({ ...callRef(), direction: 'send' }),
  },
  'calls.connectTransport': {
    access: 'caller',
    call: (c) => c.calls.connectTransport.mutate({ ...callRef(), transportId: 'none', dtlsParameters: {} }),
  },
  'calls.produce': {
    access: 'caller',
    call: (c) =>
      c.calls.produce.mutate({
        ...callRef(),
        transportId: 'none',
        kind: 'audio',
        source: 'microphone',
        rtpParameters: {},
      }),
  },
  'calls.resumeConsumer': {
    access: 'caller',
    call: (c) => c.calls.resumeConsumer.mutate({ ...callRef(), consumerId: 'x' }),
  },
  'calls.pauseConsumer': {
    access: 'caller',
    call: (c) => c.calls.pauseConsumer.mutate({ ...callRef(), consumerId: 'x' }),
  },
  'calls.pauseProducer': {
    access: 'caller',
    call: (c) => c.calls.pauseProducer.mutate({ ...callRef(), producerId: 'x' }),
  },
  'calls.resumeProducer': {
    access: 'caller',
    call: (c) => c.calls.resumeProducer.mutate({ ...callRef(), producerId: 'x' }),
  },
  'calls.closeProducer': {
    access: 'caller',
    call: (c) => c.calls.closeProducer.mutate({ ...callRef(), producerId: 'x' }),
  },
  'calls.leave': { access: 'caller', call: (c) => c.calls.leave.mutate(callRef()) },
  'calls.setConsumerView': {
    access: 'caller',
    call: (c) =>
      c.calls.setConsumerView.mutate({ ...callRef(), consumerId: 'x', visible: true, width: 320, height: 180 }),
  },
  'calls.pin': { access: 'caller', call: (c) => c.calls.pin.mutate({ ...callRef(), pinnedPeerIds: [] }) },
  'calls.raiseHand': { access: 'caller', call: (c) => c.calls.raiseHand.mutate({ ...callRef(), raised: true }) },
  'calls.chat.send': { access: 'caller', call: (c) => c.calls.chat.send.mutate({ ...callRef(), text: 'hello' }) },
  'calls.chat.list': {
    access: 'caller',
    call: (c) => c.calls.chat.list.query({ meetingId: crypto.randomUUID() }),
    asOtherUser: async ({ alice, bob }) => {
      // Bob is not in Alice's meeting: he cannot read its chat.
      const hers = await alice.client.meetings.create.mutate({ title: 'Alice only' });
      expect(await refusal(bob.client.calls.chat.list.query({ meetingId: hers.id }))).toBe('NOT_FOUND');
    },
  },
  'calls.host.mute': {
    access: 'authed',
    call: (c) => c.calls.host.mute.mutate({ ...callRef(), targetPeerId: 'x', source: 'microphone' }),
  },
  'calls.host.muteAll': { access: 'authed', call: (c) => c.calls.host.muteAll.mutate(callRef()) },
  'calls.host.remove': {
    access: 'authed',
    call: (c) => c.calls.host.remove.mutate({ ...callRef(), targetPeerId: 'x' }),
  },
  'calls.host.setLocked': {
    access: 'authed',
    call: (c) => c.calls.host.setLocked.mutate({ ...callRef(), locked: true }),
  },
  'calls.host.setWaitingRoom': {
    access: 'authed',
    call: (c) => c.calls.host.setWaitingRoom.mutate({ ...callRef(), enabled: true }),
  },
  'calls.host.admit': { access: 'authed', call: (c) => c.calls.host.admit.mutate({ ...callRef(), targetPeerId: 'x' }) },
  'calls.host.deny': { access: 'authed', call: (c) => c.calls.host.deny.mutate({ ...callRef(), targetPeerId: 'x' }) },
  'calls.host.lowerHand': {
    access: 'authed',
    call: (c) => c.calls.host.lowerHand.mutate({ ...callRef(), targetPeerId: 'x' }),
  },
  'calls.host.transfer': {
    access: 'authed',
    call: (c) => c.calls.host.transfer.mutate({ ...callRef(), targetPeerId: 'x' }),
  },
  'calls.recording.start': {
    access: 'authed',
    call: (c) => c.calls.recording.start.mutate({ meetingId: crypto.randomUUID() }),
    asOtherUser: async ({ alice, bob }) => {
      const hers = await alice.client.meetings.create.mutate({ title: 'Alice only' });
      expect(await refusal(bob.client.calls.recording.start.mutate({ meetingId: hers.id }))).toBe('NOT_FOUND');
    },
  },
  'calls.recording.stop': {
    access: 'authed',
    call: (c) => c.calls.recording.stop.mutate({ meetingId: crypto.randomUUID() }),
    asOtherUser: async ({ alice, bob }) => {
      const hers = await alice.client.meetings.create.mutate({ title: 'Alice only' });
      expect(await refusal(bob.client.calls.recording.stop.mutate({ meetingId: hers.id }))).toBe('NOT_FOUND');
    },
  },
  'calls.recording.list': {
    access: 'authed',
    call: (c) => c.calls.recording.list.query({ meetingId: crypto.randomUUID() }),
    asOtherUser: async ({ alice, bob }) => {
      const { meetingId } = await aliceRecording(alice);
      expect(await refusal(bob.client.calls.recording.list.query({ meetingId }))).toBe('NOT_FOUND');
      expect(await alice.client.calls.recording.list.query({ meetingId })).toHaveLength(1);
    },
  },
  'calls.recording.url': {
    access: 'authed',
    call: (c) => c.calls.recording.url.mutate({ recordingId: crypto.randomUUID() }),
    asOtherUser: async ({ alice, bob }) => {
      const { recordingId } = await aliceRecording(alice);
      expect(await refusal(bob.client.calls.recording.url.mutate({ recordingId }))).toBe('NOT_FOUND');
      const { url } = await alice.client.calls.recording.url.mutate({ recordingId });
      // Her link is hers: with Bob's id in it, it is refused.
      const path = new URL(url);
      const [aliceId, bobId] = await Promise.all([alice, bob].map(async (p) => (await p.client.auth.me.query()).id));
      const asBob = path.search.replace(aliceId!, bobId!);
      expect((await fetch(`${server.url}${path.pathname}${asBob}`)).status).toBe(403);
      expect(
        (await fetch(`${server.url}${path.pathname}`, { headers: { authorization: `Bearer ${bob.accessToken}` } }))
          .status,
      ).toBe(404);
    },
  },
  'calls.history': {
    access: 'authed',
    call: (c) => c.calls.history.query({}),
    asOtherUser: async ({ alice, bob }) => {
      const { meetingId } = await aliceRecording(alice);
      expect((await alice.client.calls.history.query()).some((h) => h.meetingId === meetingId)).toBe(true);
      expect((await bob.client.calls.history.query()).some((h) => h.meetingId === meetingId)).toBe(false);
      expect(await refusal(bob.client.calls.history.query({ meetingId }))).toBe('NOT_FOUND');
    },
  },
  'mfa.sendStepUpCode': { access: 'authed', call: (c) => c.mfa.sendStepUpCode.mutate() },
  'mfa.stepUp': {
    access: 'authed',
    call: (c) => c.mfa.stepUp.mutate({ method: 'backup_code', code: 'abcd-2345' }),
  },
  'drafts.list': {
    access: 'authed',
    call: (c) => c.drafts.list.query({}),
    asOtherUser: async ({ alice, bob }) => {
      const id = crypto.randomUUID();
      await alice.client.drafts.save.mutate({ id, kind: 'note', title: 'Alice', body: 'private', baseVersion: 0 });
      expect((await bob.client.drafts.list.query({ limit: 100 })).items.some((d) => d.id === id)).toBe(false);
    },
  },
  'drafts.get': {
    access: 'authed',
    call: (c) => c.drafts.get.query({ id: crypto.randomUUID() }),
    asOtherUser: async ({ alice, bob }) => {
      const id = crypto.randomUUID();
      await alice.client.drafts.save.mutate({ id, kind: 'note', title: 'Alice', body: 'private', baseVersion: 0 });
      expect(await refusal(bob.client.drafts.get.query({ id }))).toBe('NOT_FOUND');
    },
  },
  'drafts.save': {
    access: 'authed',
    call: (c) => c.drafts.save.mutate({ id: crypto.randomUUID(), kind: 'note', title: 't', body: 'b', baseVersion: 0 }),
    asOtherUser: async ({ alice, bob }) => {
      const id = crypto.randomUUID();
      const hers = { id, kind: 'note' as const, title: 'Alice', body: 'private', baseVersion: 0 };
      const key = crypto.randomUUID();
      await alice.client.drafts.save.mutate({ ...hers, idempotencyKey: key });
      // Bob naming her draft finds nothing under that id in his own drafts: a conflict, and hers is untouched.
      expect(await refusal(bob.client.drafts.save.mutate({ ...hers, body: 'overwritten', baseVersion: 1 }))).toBe(
        'CONFLICT',
      );
      // Her idempotency key replays nothing of hers for Bob: his call runs as his own write.
      await bob.client.drafts.save.mutate({ ...hers, idempotencyKey: key });
      expect((await bob.client.drafts.get.query({ id })).version).toBe(1);
      expect(await alice.client.drafts.get.query({ id })).toMatchObject({ body: 'private', version: 1 });
    },
  },
  'drafts.remove': {
    access: 'authed',
    call: (c) => c.drafts.remove.mutate({ id: crypto.randomUUID() }),
    asOtherUser: async ({ alice, bob }) => {
      const id = crypto.randomUUID();
      await alice.client.drafts.save.mutate({ id, kind: 'note', title: 'Alice', body: 'private', baseVersion: 0 });
      expect(await bob.client.drafts.remove.mutate({ id })).toMatchObject({ removed: false });
      expect(await alice.client.drafts.get.query({ id })).toMatchObject({ body: 'private', version: 1 });
    },
  },
};

/** A meeting of Alice's with a past call she was in and a ready recording of it (rows only: no media here). */
async function aliceRecording(alice: Person): Promise<{ meetingId: string; recordingId: string }> {
  const meeting = await alice.client.meetings.create.mutate({ title: 'Alice only' });
  const aliceId = (await alice.client.auth.me.query()).id;
  const db = server.deps.db.withTables<CallHistoryTables & RecordingTables>();
  const now = Date.now();
  const sessionId = crypto.randomUUID();
  const recordingId = crypto.randomUUID();
  await db
    .insertInto('call_sessions')
    .values({ id: sessionId, meeting_id: meeting.id, started_at: now - 60_000, ended_at: now })
    .execute();
  await db
    .insertInto('call_participations')
    .values({ id: crypto.randomUUID(), session_id: sessionId, user_id: aliceId, joined_at: now - 60_000, left_at: now })
    .execute();
  await insertRecording(recordingsDb(server.deps.db), {
    id: recordingId,
    meeting_id: meeting.id,
    session_id: sessionId,
    started_by: aliceId,
    started_at: now - 50_000,
    ended_at: now - 10_000,
    duration_ms: 40_000,
    size_bytes: 1_000,
    file_name: `${recordingId}.webm`,
    status: 'ready',
    error: null,
  });
  return { meetingId: meeting.id, recordingId };
}

/** A meeting of Alice's (Bob invited, not host) with one invite link, and a guest who joined by it. */
async function aliceInvite(
  alice: Person,
  bob: Person,
): Promise<{ meetingId: string; inviteId: string; guestToken: string }> {
  const meeting = await alice.client.meetings.create.mutate({ title: 'With a guest', invitees: [bob.email] });
  const invite = await alice.client.calls.invites.create.mutate({ meetingId: meeting.id });
  const token = new URL(invite.url).pathname.replace('/join/', '');
  const { guestToken } = await clientFor().calls.guests.join.mutate({ token, displayName: 'Guest' });
  return { meetingId: meeting.id, inviteId: invite.id, guestToken };
}

let smtp: TestSmtpServer;
let server: TestServer;
let alice: Person;
let bob: Person;
let guest: { guestToken: string; meetingId: string } | undefined;

const clientFor = (accessToken?: string) => apiClient(server.url, { accessToken });
const refusal = refusalOf;

async function person(name: string): Promise<Person> {
  const email = `${name}-${Date.now()}@example.com`;
  const password = `${name} has a long password`;
  await clientFor().auth.signUp.mutate({ email, password, displayName: name });
  const code = await mailedCode(smtp, email, /Confirm your email/);
  const tokens = await clientFor().auth.verifyEmail.mutate({ email, code });
  return {
    email,
    password,
    accessToken: tokens.accessToken,
    sessionId: tokens.sessionId,
    client: clientFor(tokens.accessToken),
  };
}

beforeAll(async () => {
  smtp = await startTestSmtpServer();
  server = await startTestServer(mailTo(smtp));
  alice = await person('alice');
  bob = await person('bob');
  guest = await aliceInvite(alice, bob);
});
afterAll(async () => {
  await server.dispose();
  await smtp.close();
});

const procedures = Object.keys(appRouter._def.procedures).sort();

describe('authorization table', () => {
  it('lists every procedure of the API, and only those', () => {
    expect(Object.keys(table).sort()).toEqual(procedures);
  });

  const protectedRows = Object.entries(table).filter(([, row]) => row.access !== 'public');
  it.each(protectedRows)('%s refuses anonymous callers', async (_path, row) => {
    expect(await refusal(row.call(clientFor(), { alice, bob }, undefined))).toBe('UNAUTHENTICATED');
  });

  it.each(protectedRows)('%s refuses a revoked or made-up token', async (_path, row) => {
    expect(await refusal(row.call(clientFor('mla_made-up-token'), { alice, bob }, 'mla_made-up-token'))).toBe(
      'UNAUTHENTICATED',
    );
  });

  const callerRows = Object.entries(table).filter(([, row]) => row.access === 'caller');
  it.each(callerRows)('%s refuses a made-up guest token', async (_path, row) => {
    expect(await refusal(row.call(clientFor('mlg_made-up-token'), { alice, bob }, 'mlg_made-up-token'))).toBe(
      'UNAUTHENTICATED',
    );
  });

  // A guest by link is not a session: everything but a call's signaling refuses the token.
  const userOnlyRows = Object.entries(table).filter(([, row]) => row.access !== 'public' && row.access !== 'caller');
  it.each(userOnlyRows)('%s refuses a guest token', async (_path, row) => {
    const { guestToken } = guest!;
    expect(await refusal(row.call(clientFor(guestToken), { alice, bob }, guestToken))).toBe('UNAUTHENTICATED');
  });

  it("a guest of one meeting cannot prepare or join another's call", async () => {
    const { guestToken, meetingId } = guest!;
    const other = await alice.client.meetings.create.mutate({ title: 'Not for guests' });
    const asGuest = clientFor(guestToken);
    expect(await refusal(asGuest.calls.prepare.mutate({ meetingId: other.id }))).toBe('NOT_FOUND');
    expect(await refusal(asGuest.calls.join.mutate({ meetingId: other.id, rtpCapabilities: {} }))).toBe('NOT_FOUND');
    // Its own meeting's call is reachable (server/calls/guests.test.ts goes on into the call).
    await expect(asGuest.calls.leave.mutate({ meetingId, peerId: 'none' })).rejects.toThrow(/not in this call/);
    await expect(asGuest.calls.leave.mutate({ meetingId: other.id, peerId: 'none' })).rejects.toThrow(
      /no such meeting/,
    );
  });

  const stepUpRows = Object.entries(table).filter(([, row]) => row.access === 'stepUp');
  it('step-up procedures refuse a session without a fresh second factor', async (ctx) => {
    if (stepUpRows.length === 0) return ctx.skip('no procedure requires step-up yet');
    for (const [, row] of stepUpRows)
      expect(await refusal(row.call(bob.client, { alice, bob }, bob.accessToken))).toBe('STEP_UP_REQUIRED');
  });

  const adminRows = Object.entries(table).filter(([, row]) => row.access === 'admin');
  it.each(adminRows)('%s refuses members', async (_path, row) => {
    expect(await refusal(row.call(bob.client, { alice, bob }, bob.accessToken))).toBe('FORBIDDEN');
  });

  const ownedRows = Object.entries(table).filter(([, row]) => row.asOtherUser !== undefined);
  it.each(ownedRows)("%s never reaches another user's data", async (_path, row) => {
    await row.asOtherUser!({ alice, bob });
  });
});
