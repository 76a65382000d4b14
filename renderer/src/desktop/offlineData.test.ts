import { describe, expect, it, vi } from 'vitest';
import type { DesktopOutboxItem, DesktopOutboxState } from '../../../shared/desktop-api.ts';
import { followDesktopNavigation } from './desktopNavigation.ts';
import { changeTitle, formatBytes, needsAttention, offlineDataApi, outboxSummary, recordCount } from './offlineData.ts';

const item = (change: Partial<DesktopOutboxItem>): DesktopOutboxItem => ({
  id: 'a',
  seq: 1,
  procedure: 'drafts.save',
  input: { title: 'Offer for Ada' },
  entity: { kind: 'draft', id: 'd1' },
  baseVersion: 1,
  status: 'pending',
  attempts: 0,
  lastError: null,
  problem: null,
  createdAt: 0,
  updatedAt: 0,
  ...change,
});

const state = (change: Partial<Extract<DesktopOutboxState, { available: true }>>): DesktopOutboxState => ({
  available: true,
  waiting: 0,
  conflicts: [],
  failed: [],
  sending: null,
  replaying: false,
  held: null,
  ...change,
});

describe('formatBytes', () => {
  it('says sizes the way file managers do, in the user’s language', () => {
    expect(formatBytes(0, 'en')).toBe('0 bytes');
    expect(formatBytes(1, 'en')).toBe('1 byte');
    expect(formatBytes(900, 'en')).toBe('900 bytes');
    expect(formatBytes(4096, 'en')).toBe('4 kB');
    expect(formatBytes(1536, 'en')).toBe('1.5 kB');
    expect(formatBytes(3.4 * 1024 * 1024, 'en')).toBe('3.4 MB');
    expect(formatBytes(5 * 1024 ** 4, 'en')).toBe('5,120 GB');
    expect(formatBytes(1536, 'de')).toBe('1,5 kB');
    expect(formatBytes(-1, 'en')).toBe('0 bytes');
  });
});

describe('outboxSummary', () => {
  it('“3 changes waiting to send”, whether they are on their way, and why they wait', () => {
    expect(outboxSummary(null)).toEqual({ kind: 'unavailable' });
    expect(outboxSummary({ available: false })).toEqual({ kind: 'unavailable' });
    expect(outboxSummary(state({}))).toEqual({ kind: 'all-sent' });
    expect(outboxSummary(state({ waiting: 3, sending: item({}) }))).toEqual({
      kind: 'waiting',
      count: 3,
      sending: true,
      held: null,
    });
    expect(
      outboxSummary(state({ waiting: 2, held: { reason: 'unreachable', message: 'fetch failed', retryAt: null } })),
    ).toEqual({ kind: 'waiting', count: 2, sending: false, held: 'unreachable' });
  });
});

describe('needsAttention', () => {
  it('lists conflicts (keep mine / take theirs) before failures (try again / discard), in queue order', () => {
    const attention = needsAttention(
      state({
        conflicts: [item({ id: 'c2', seq: 5, status: 'conflict' }), item({ id: 'c1', seq: 2, status: 'conflict' })],
        failed: [item({ id: 'f1', seq: 1, status: 'failed' })],
      }),
    );
    expect(attention.map(({ item: { id }, actions }) => [id, actions])).toEqual([
      ['c1', ['keepMine', 'takeTheirs']],
      ['c2', ['keepMine', 'takeTheirs']],
      ['f1', ['retryFailed', 'discard']],
    ]);
    expect(needsAttention({ available: false })).toEqual([]);
  });
});

describe('changeTitle', () => {
  it('is the draft’s title, tidied and shortened; null without one', () => {
    expect(changeTitle(item({}))).toBe('Offer for Ada');
    expect(changeTitle(item({ input: { title: '  Two\n lines  ' } }))).toBe('Two lines');
    expect(changeTitle(item({ input: { title: 'x'.repeat(200) } }))).toBe(`${'x'.repeat(79)}…`);
    expect(changeTitle(item({ input: { title: '   ' } }))).toBeNull();
    expect(changeTitle(item({ procedure: 'drafts.remove', input: { id: 'd1' } }))).toBeNull();
  });
});

describe('recordCount and offlineDataApi', () => {
  it('counts only an open cache', () => {
    expect(recordCount(null)).toBeNull();
    expect(recordCount({ open: false, reason: 'signed-out' })).toBeNull();
    expect(
      recordCount({
        open: true,
        bytes: 1,
        records: 7,
        recordsByKind: {},
        collections: 0,
        outbox: { pending: 0, conflict: 0, failed: 0 },
      }),
    ).toBe(7);
  });

  it('is there only in a desktop app whose preload has the cache and the outbox', () => {
    expect(offlineDataApi(undefined)).toBeUndefined();
    expect(offlineDataApi({ platform: 'linux' })).toBeUndefined();
    const api = {
      cache: {} as never,
      outbox: {} as never,
      onOutboxState: () => () => undefined,
    };
    expect(offlineDataApi(api)).toEqual(api);
  });
});

describe('followDesktopNavigation', () => {
  it('goes to routes main sends, and only to routes of the app', () => {
    let listener: ((route: string) => void) | undefined;
    const unsubscribe = vi.fn();
    const navigate = vi.fn();
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    const stop = followDesktopNavigation(
      {
        onNavigate: (next) => {
          listener = next;
          return unsubscribe;
        },
      },
      navigate,
    );
    listener?.('/calls/6f1f4c8e-2b7a-4a58-9a55-0c1f6d3e9b21');
    listener?.('https://evil.example/');
    listener?.('//evil.example/x');
    listener?.('/calls/../../settings');
    expect(navigate.mock.calls).toEqual([['/calls/6f1f4c8e-2b7a-4a58-9a55-0c1f6d3e9b21']]);
    expect(warn).toHaveBeenCalledTimes(3);
    stop();
    expect(unsubscribe).toHaveBeenCalledOnce();
    warn.mockRestore();
  });

  it('does nothing in a browser', () => {
    const navigate = vi.fn();
    followDesktopNavigation(undefined, navigate)();
    followDesktopNavigation({}, navigate)();
    expect(navigate).not.toHaveBeenCalled();
  });
});
