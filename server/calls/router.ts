/**
 * `calls.*`: the signaling of a meeting's call as typed procedures and one
 * subscription (no string-switched messages). The order a client follows:
 * `prepare` (router codecs) → load the device → `join` → subscribe to
 * `events` → `createTransport` send/recv → `connectTransport` → `produce`;
 * consumers arrive as `consumer` events and are started with `resumeConsumer`.
 * The service checks membership and peer ownership on every call.
 *
 * Signaling takes a user session or a guest token (`callerProcedure`); host
 * controls, recording and invite links take a user session only.
 */
import {
  chatListInput,
  chatSendInput,
  connectTransportInput,
  consumerInput,
  consumerViewInput,
  muteParticipantInput,
  pinInput,
  raiseHandInput,
  setLockedInput,
  setWaitingRoomInput,
  targetInput,
  createTransportInput,
  joinCallInput,
  peerInput,
  prepareCallInput,
  produceInput,
  producerInput,
  createInviteInput,
  guestJoinInput,
  guestPreviewInput,
  inviteListInput,
  revokeInviteInput,
} from '../../shared/calls.ts';
import { authedProcedure, callerProcedure, publicProcedure, router } from '../trpc.ts';
import { createInvite, GuestAttemptLimiter, joinAsGuest, listInvites, previewInvite, revokeInvite } from './guests.ts';
import { callHistoryProcedure, recordingRouter } from './recording-router.ts';

/** Host controls: the service checks the caller's peer is the host's before the action runs. */
const hostRouter = router({
  mute: authedProcedure.input(muteParticipantInput).mutation(async ({ ctx, input }) => {
    await ctx.deps.calls.host(ctx.session.userId, input, (room, host) =>
      room.muteParticipant(host, input.targetPeerId, input.source),
    );
    return { done: true as const };
  }),
  muteAll: authedProcedure.input(peerInput).mutation(async ({ ctx, input }) => {
    await ctx.deps.calls.host(ctx.session.userId, input, (room, host) => room.muteAll(host));
    return { done: true as const };
  }),
  remove: authedProcedure.input(targetInput).mutation(async ({ ctx, input }) => {
    await ctx.deps.calls.host(ctx.session.userId, input, (room, host) =>
      room.removeParticipant(host, input.targetPeerId),
    );
    return { done: true as const };
  }),
  setLocked: authedProcedure.input(setLockedInput).mutation(async ({ ctx, input }) => {
    await ctx.deps.calls.host(ctx.session.userId, input, (room, host) => room.setLocked(host, input.locked));
    return { done: true as const };
  }),
  setWaitingRoom: authedProcedure.input(setWaitingRoomInput).mutation(async ({ ctx, input }) => {
    await ctx.deps.calls.host(ctx.session.userId, input, (room, host) => room.setWaitingRoom(host, input.enabled));
    return { done: true as const };
  }),
  admit: authedProcedure.input(targetInput).mutation(async ({ ctx, input }) => {
    await ctx.deps.calls.host(ctx.session.userId, input, (room, host) => room.admit(host, input.targetPeerId));
    return { done: true as const };
  }),
  deny: authedProcedure.input(targetInput).mutation(async ({ ctx, input }) => {
    await ctx.deps.calls.host(ctx.session.userId, input, (room, host) => room.deny(host, input.targetPeerId));
    return { done: true as const };
  }),
  lowerHand: authedProcedure.input(targetInput).mutation(async ({ ctx, input }) => {
    await ctx.deps.calls.host(ctx.session.userId, input, (room, host) => room.lowerHand(host, input.targetPeerId));
    return { done: true as const };
  }),
  transfer: authedProcedure.input(targetInput).mutation(async ({ ctx, input }) => {
    await ctx.deps.calls.transferHost(ctx.session.userId, input);
    return { done: true as const };
  }),
});

/** Invite links: the host makes, lists and revokes them (guests.ts). */
const invitesRouter = router({
  create: authedProcedure
    .input(createInviteInput)
    .mutation(({ ctx, input }) =>
      createInvite({ db: ctx.deps.db }, ctx.session.userId, input, ctx.deps.publicOrigin()),
    ),
  list: authedProcedure
    .input(inviteListInput)
    .query(({ ctx, input }) => listInvites({ db: ctx.deps.db }, ctx.session.userId, input.meetingId)),
  /** Revokes the link; guests who joined through it leave the running call at once. */
  revoke: authedProcedure.input(revokeInviteInput).mutation(async ({ ctx, input }) => {
    const { revoked, guestIds } = await revokeInvite({ db: ctx.deps.db }, ctx.session.userId, input);
    const removed = ctx.deps.calls.removePeersOf(
      input.meetingId,
      guestIds.map((id) => `guest:${id}`),
    );
    return { revoked, removedFromCall: removed };
  }),
});

/** Guessing invite links from one address is slowed down (per node). */
const guestAttempts = new GuestAttemptLimiter();

const guestsRouter = router({
  preview: publicProcedure.input(guestPreviewInput).query(({ ctx, input }) => {
    guestAttempts.check(ctx.client.ip);
    return previewInvite({ db: ctx.deps.db }, input.token);
  }),
  join: publicProcedure.input(guestJoinInput).mutation(({ ctx, input }) => {
    guestAttempts.check(ctx.client.ip);
    return joinAsGuest({ db: ctx.deps.db }, input);
  }),
});

export const callsRouter = router({
  prepare: callerProcedure
    .input(prepareCallInput)
    .mutation(({ ctx, input }) => ctx.deps.calls.prepare(ctx.caller, input.meetingId)),

  join: callerProcedure.input(joinCallInput).mutation(({ ctx, input }) => ctx.deps.calls.join(ctx.caller, input)),

  /** The peer's signaling events; when it drops, the peer waits the reconnect grace period to resume. */
  events: callerProcedure
    .input(peerInput)
    .subscription(({ ctx, input, signal }) =>
      ctx.deps.calls.events(ctx.caller, input, signal ?? new AbortController().signal),
    ),

  createTransport: callerProcedure
    .input(createTransportInput)
    .mutation(({ ctx, input }) => ctx.deps.calls.createTransport(ctx.caller, input)),

  connectTransport: callerProcedure.input(connectTransportInput).mutation(async ({ ctx, input }) => {
    await ctx.deps.calls.connectTransport(ctx.caller, input);
    return { connected: true as const };
  }),

  produce: callerProcedure.input(produceInput).mutation(({ ctx, input }) => ctx.deps.calls.produce(ctx.caller, input)),

  resumeConsumer: callerProcedure.input(consumerInput).mutation(async ({ ctx, input }) => {
    await ctx.deps.calls.resumeConsumer(ctx.caller, input);
    return { resumed: true as const };
  }),

  /** A tile out of view: stop forwarding its video until it is visible again. */
  pauseConsumer: callerProcedure.input(consumerInput).mutation(async ({ ctx, input }) => {
    await ctx.deps.calls.pauseConsumer(ctx.caller, input);
    return { paused: true as const };
  }),

  /** Mute / camera off: the track stays, its media stops. */
  pauseProducer: callerProcedure.input(producerInput).mutation(async ({ ctx, input }) => {
    await ctx.deps.calls.setProducerPaused(ctx.caller, input, true);
    return { paused: true as const };
  }),

  resumeProducer: callerProcedure.input(producerInput).mutation(async ({ ctx, input }) => {
    await ctx.deps.calls.setProducerPaused(ctx.caller, input, false);
    return { resumed: true as const };
  }),

  closeProducer: callerProcedure.input(producerInput).mutation(async ({ ctx, input }) => {
    await ctx.deps.calls.closeProducer(ctx.caller, input);
    return { closed: true as const };
  }),

  /** The client's tile for a consumer: visible or not and its size (last-N and the simulcast layer follow). */
  setConsumerView: callerProcedure.input(consumerViewInput).mutation(async ({ ctx, input }) => {
    await ctx.deps.calls.setConsumerView(ctx.caller, input);
    return { done: true as const };
  }),

  pin: callerProcedure.input(pinInput).mutation(async ({ ctx, input }) => {
    await ctx.deps.calls.pin(ctx.caller, input);
    return { done: true as const };
  }),

  raiseHand: callerProcedure.input(raiseHandInput).mutation(async ({ ctx, input }) => {
    await ctx.deps.calls.raiseHand(ctx.caller, input);
    return { done: true as const };
  }),

  /** In-call chat: write as one's own peer in the running call; read as a participant (also after it). */
  chat: router({
    send: callerProcedure.input(chatSendInput).mutation(({ ctx, input }) => ctx.deps.calls.sendChat(ctx.caller, input)),
    list: callerProcedure
      .input(chatListInput)
      .query(({ ctx, input }) => ctx.deps.calls.chatHistory(ctx.caller, input.meetingId)),
  }),

  host: hostRouter,

  /** Invite links for guests (host only). */
  invites: invitesRouter,

  /** Public: what a link is for, and joining by it (a guest token for this call's signaling only). */
  guests: guestsRouter,

  /** Server-side recording (host starts/stops; participants list, play, download). */
  recording: recordingRouter,

  /** Past calls with duration, participants and recordings. */
  history: callHistoryProcedure,

  leave: callerProcedure.input(peerInput).mutation(async ({ ctx, input }) => {
    await ctx.deps.calls.leave(ctx.caller, input);
    return { left: true as const };
  }),
});
