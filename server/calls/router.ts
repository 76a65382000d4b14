/**
 * `calls.*`: the signaling of a meeting's call as typed procedures and one
 * subscription (no string-switched messages). The order a client follows:
 * `prepare` (router codecs) → load the device → `join` → subscribe to
 * `events` → `createTransport` send/recv → `connectTransport` → `produce`;
 * consumers arrive as `consumer` events and are started with `resumeConsumer`.
 * The service checks membership and peer ownership on every call.
 */
import {
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
} from '../../shared/calls.ts';
import { authedProcedure, router } from '../trpc.ts';
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

export const callsRouter = router({
  prepare: authedProcedure
    .input(prepareCallInput)
    .mutation(({ ctx, input }) => ctx.deps.calls.prepare(ctx.session.userId, input.meetingId)),

  join: authedProcedure
    .input(joinCallInput)
    .mutation(({ ctx, input }) => ctx.deps.calls.join(ctx.session.userId, input)),

  /** The peer's signaling events; when it drops, the peer waits the reconnect grace period to resume. */
  events: authedProcedure
    .input(peerInput)
    .subscription(({ ctx, input, signal }) =>
      ctx.deps.calls.events(ctx.session.userId, input, signal ?? new AbortController().signal),
    ),

  createTransport: authedProcedure
    .input(createTransportInput)
    .mutation(({ ctx, input }) => ctx.deps.calls.createTransport(ctx.session.userId, input)),

  connectTransport: authedProcedure.input(connectTransportInput).mutation(async ({ ctx, input }) => {
    await ctx.deps.calls.connectTransport(ctx.session.userId, input);
    return { connected: true as const };
  }),

  produce: authedProcedure
    .input(produceInput)
    .mutation(({ ctx, input }) => ctx.deps.calls.produce(ctx.session.userId, input)),

  resumeConsumer: authedProcedure.input(consumerInput).mutation(async ({ ctx, input }) => {
    await ctx.deps.calls.resumeConsumer(ctx.session.userId, input);
    return { resumed: true as const };
  }),

  /** A tile out of view: stop forwarding its video until it is visible again. */
  pauseConsumer: authedProcedure.input(consumerInput).mutation(async ({ ctx, input }) => {
    await ctx.deps.calls.pauseConsumer(ctx.session.userId, input);
    return { paused: true as const };
  }),

  /** Mute / camera off: the track stays, its media stops. */
  pauseProducer: authedProcedure.input(producerInput).mutation(async ({ ctx, input }) => {
    await ctx.deps.calls.setProducerPaused(ctx.session.userId, input, true);
    return { paused: true as const };
  }),

  resumeProducer: authedProcedure.input(producerInput).mutation(async ({ ctx, input }) => {
    await ctx.deps.calls.setProducerPaused(ctx.session.userId, input, false);
    return { resumed: true as const };
  }),

  closeProducer: authedProcedure.input(producerInput).mutation(async ({ ctx, input }) => {
    await ctx.deps.calls.closeProducer(ctx.session.userId, input);
    return { closed: true as const };
  }),

  /** The client's tile for a consumer: visible or not and its size (last-N and the simulcast layer follow). */
  setConsumerView: authedProcedure.input(consumerViewInput).mutation(async ({ ctx, input }) => {
    await ctx.deps.calls.setConsumerView(ctx.session.userId, input);
    return { done: true as const };
  }),

  pin: authedProcedure.input(pinInput).mutation(async ({ ctx, input }) => {
    await ctx.deps.calls.pin(ctx.session.userId, input);
    return { done: true as const };
  }),

  raiseHand: authedProcedure.input(raiseHandInput).mutation(async ({ ctx, input }) => {
    await ctx.deps.calls.raiseHand(ctx.session.userId, input);
    return { done: true as const };
  }),

  host: hostRouter,

  /** Server-side recording (host starts/stops; participants list, play, download). */
  recording: recordingRouter,

  /** Past calls with duration, participants and recordings. */
  history: callHistoryProcedure,

  leave: authedProcedure.input(peerInput).mutation(async ({ ctx, input }) => {
    await ctx.deps.calls.leave(ctx.session.userId, input);
    return { left: true as const };
  }),
});
