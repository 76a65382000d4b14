import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { RESTART_NOTICE_MS, type ServerStatusReport } from './connectionStatus.ts';
import { ServerConnection, type ConnectionSources } from './serverConnection.ts';

type SocketState = { state: 'idle' | 'connecting' | 'pending'; error: unknown };

/** A stand-in for the WebSocket client and the status stream, driven by the test. */
function fakeServer() {
  let socketListener: ((state: SocketState) => void) | null = null;
  const streams: { onReport(report: ServerStatusReport): void; onEnded(): void; closed: boolean }[] = [];
  const sources: ConnectionSources = {
    socketStates(next) {
      socketListener = next;
      next({ state: 'connecting', error: null });
      return { unsubscribe: () => (socketListener = null) };
    },
    serverStatus(handlers) {
      const stream = { ...handlers, closed: false };
      streams.push(stream);
      return { unsubscribe: () => (stream.closed = true) };
    },
  };
  const report = (state: ServerStatusReport['state']) =>
    streams.at(-1)?.onReport({ state, serverTime: new Date(), connections: 1 });
  return {
    sources,
    streams,
    open: () => socketListener?.({ state: 'pending', error: null }),
    drop: () => socketListener?.({ state: 'connecting', error: new Error('WebSocket closed') }),
    report,
    endStream: () => streams.at(-1)?.onEnded(),
  };
}

describe('ServerConnection', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('goes from connecting to connected and tells its subscribers', () => {
    const server = fakeServer();
    const connection = new ServerConnection(server.sources);
    const seen: string[] = [];
    connection.subscribe(() => seen.push(connection.getStatus()));
    connection.start();
    expect(connection.getStatus()).toBe('connecting');
    server.open();
    server.report('ready');
    expect(connection.getStatus()).toBe('connected');
    expect(seen).toEqual(['connected']);
  });

  it('follows a restart: draining, away, back, and re-opens the status stream on the new connection', () => {
    const server = fakeServer();
    const onReconnect = vi.fn();
    const connection = new ServerConnection(server.sources, { onReconnect });
    connection.start();
    server.open();
    server.report('ready');

    server.report('draining');
    server.endStream();
    expect(connection.getStatus()).toBe('restarting');

    server.drop();
    expect(connection.getStatus()).toBe('restarting');
    expect(onReconnect).not.toHaveBeenCalled();

    server.open();
    expect(connection.getStatus()).toBe('connected');
    expect(onReconnect).toHaveBeenCalledTimes(1);
    expect(server.streams).toHaveLength(2);
    server.report('ready');
    expect(connection.getStatus()).toBe('connected');
  });

  it('keeps the live stream across a plain network drop (the client resends it)', () => {
    const server = fakeServer();
    const connection = new ServerConnection(server.sources);
    connection.start();
    server.open();
    server.drop();
    expect(connection.getStatus()).toBe('offline');
    server.open();
    expect(server.streams).toHaveLength(1);
  });

  it('turns "restarting" into "offline" when the server stays away too long', () => {
    const server = fakeServer();
    const connection = new ServerConnection(server.sources);
    const listener = vi.fn();
    connection.subscribe(listener);
    connection.start();
    server.open();
    server.report('draining');
    server.drop();
    expect(connection.getStatus()).toBe('restarting');
    vi.advanceTimersByTime(RESTART_NOTICE_MS);
    expect(connection.getStatus()).toBe('offline');
    expect(listener).toHaveBeenCalledTimes(3);
  });

  it('reads a reconnect the app asked for (a new token after sign-in) as connecting, not offline', () => {
    const server = fakeServer();
    const connection = new ServerConnection(server.sources);
    connection.start();
    server.open();
    connection.expectReconnect();
    server.drop();
    expect(connection.getStatus()).toBe('connecting');
    server.open();
    expect(connection.getStatus()).toBe('connected');
    // Only that once: a later drop is a real one.
    server.drop();
    expect(connection.getStatus()).toBe('offline');
  });

  it('stops listening when stopped', () => {
    const server = fakeServer();
    const connection = new ServerConnection(server.sources);
    connection.start();
    connection.stop();
    expect(server.streams[0]?.closed).toBe(true);
    server.open();
    expect(connection.getStatus()).toBe('connecting');
  });
});
