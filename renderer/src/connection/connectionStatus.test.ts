import { describe, expect, it } from 'vitest';
import {
  RESTART_NOTICE_MS,
  connectionStatus,
  initialConnectionSnapshot,
  nextStatusChangeAt,
  reduceConnection,
  socketPhaseOf,
  type ConnectionEvent,
  type ConnectionSnapshot,
} from './connectionStatus.ts';

const play = (events: ConnectionEvent[], from: ConnectionSnapshot = initialConnectionSnapshot) =>
  events.reduce(reduceConnection, from);

describe('socketPhaseOf', () => {
  it('reads the tRPC WebSocket client states', () => {
    expect(socketPhaseOf({ state: 'pending', error: null })).toBe('open');
    expect(socketPhaseOf({ state: 'connecting', error: null })).toBe('connecting');
    expect(socketPhaseOf({ state: 'connecting', error: new Error('WebSocket closed') })).toBe('lost');
    expect(socketPhaseOf({ state: 'idle', error: null })).toBe('closed');
  });
});

describe('connection status', () => {
  it('says "connecting" until the first socket opens', () => {
    expect(connectionStatus(initialConnectionSnapshot, 0)).toBe('connecting');
  });

  it('is connected once the socket is open and the server is ready', () => {
    const snapshot = play([
      { type: 'socket', phase: 'open' },
      { type: 'server-status', state: 'ready', at: 10 },
    ]);
    expect(connectionStatus(snapshot, 20)).toBe('connected');
  });

  it('trusts an open socket before the first status report arrives', () => {
    expect(connectionStatus(play([{ type: 'socket', phase: 'open' }]), 0)).toBe('connected');
  });

  it('is offline (and retrying) when the first connection fails or a connection drops', () => {
    expect(connectionStatus(play([{ type: 'socket', phase: 'lost' }]), 0)).toBe('offline');
    const dropped = play([
      { type: 'socket', phase: 'open' },
      { type: 'server-status', state: 'ready', at: 0 },
      { type: 'socket', phase: 'lost' },
    ]);
    expect(connectionStatus(dropped, 5)).toBe('offline');
  });

  it('says the server is restarting when it announces a drain, and keeps saying so while it is away', () => {
    const draining = play([
      { type: 'socket', phase: 'open' },
      { type: 'server-status', state: 'ready', at: 0 },
      { type: 'server-status', state: 'draining', at: 1_000 },
    ]);
    expect(connectionStatus(draining, 1_000)).toBe('restarting');

    const away = reduceConnection(draining, { type: 'socket', phase: 'lost' });
    expect(connectionStatus(away, 1_000 + RESTART_NOTICE_MS - 1)).toBe('restarting');
    expect(nextStatusChangeAt(away)).toBe(1_000 + RESTART_NOTICE_MS);
  });

  it('falls back to offline when a restarting server does not come back in time', () => {
    const away = play([
      { type: 'socket', phase: 'open' },
      { type: 'server-status', state: 'draining', at: 1_000 },
      { type: 'socket', phase: 'lost' },
    ]);
    expect(connectionStatus(away, 1_000 + RESTART_NOTICE_MS)).toBe('offline');
  });

  it('is connected again once the restarted server answers, forgetting the old drain notice', () => {
    const back = play([
      { type: 'socket', phase: 'open' },
      { type: 'server-status', state: 'draining', at: 1_000 },
      { type: 'socket', phase: 'lost' },
      { type: 'socket', phase: 'open' },
    ]);
    expect(back.drainNoticeAt).toBeNull();
    expect(connectionStatus(back, 2_000)).toBe('connected');
    expect(nextStatusChangeAt(back)).toBeNull();
  });

  it('keeps the first drain notice time when the server repeats it', () => {
    const snapshot = play([
      { type: 'socket', phase: 'open' },
      { type: 'server-status', state: 'draining', at: 1_000 },
      { type: 'server-status', state: 'stopped', at: 3_000 },
    ]);
    expect(snapshot.drainNoticeAt).toBe(1_000);
    expect(connectionStatus(snapshot, 3_000)).toBe('restarting');
  });

  it('treats a server that is still starting as connecting', () => {
    const snapshot = play([
      { type: 'socket', phase: 'open' },
      { type: 'server-status', state: 'starting', at: 0 },
    ]);
    expect(connectionStatus(snapshot, 0)).toBe('connecting');
  });

  it('does not change the snapshot when the socket repeats its phase', () => {
    const open = play([{ type: 'socket', phase: 'open' }]);
    expect(reduceConnection(open, { type: 'socket', phase: 'open' })).toBe(open);
  });
});
