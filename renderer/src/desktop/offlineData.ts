/**
 * What the "Offline data" settings say about the desktop app's local cache
 * and outbox (window.megilance.cache / .outbox): plain functions of main's
 * answers, so the wording rules are tested without a DOM.
 */
import type {
  DesktopCacheStats,
  DesktopOutboxItem,
  DesktopOutboxState,
  MegilanceDesktopApi,
} from '../../../shared/desktop-api.ts';

/** The desktop API this screen needs; an older preload without it means "not available". */
export type OfflineDataApi = Pick<MegilanceDesktopApi, 'cache' | 'outbox' | 'onOutboxState'>;

/** The preload's offline-data API, if this is the desktop app and its preload has one. */
export function offlineDataApi(api: Partial<MegilanceDesktopApi> | undefined): OfflineDataApi | undefined {
  if (api === undefined) return undefined;
  const { cache, outbox, onOutboxState } = api;
  if (typeof cache !== 'object' || typeof outbox !== 'object' || typeof onOutboxState !== 'function') return undefined;
  return { cache, outbox, onOutboxState };
}

const UNITS = ['byte', 'kilobyte', 'megabyte', 'gigabyte'] as const;

/** "0 bytes", "12 kB", "3.4 MB": the file's size in the user's language (1 kB = 1024 bytes, as file managers show). */
export function formatBytes(bytes: number, locale: string): string {
  let value = Math.max(0, bytes);
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  return new Intl.NumberFormat(locale, {
    style: 'unit',
    unit: UNITS[unit],
    // "900 bytes" (the short form says "900 byte"), "12 kB".
    unitDisplay: unit === 0 ? 'long' : 'short',
    maximumFractionDigits: unit === 0 ? 0 : 1,
  }).format(value);
}

/** The cache's record count, or null when none is open. */
export function recordCount(stats: DesktopCacheStats | null): number | null {
  return stats !== null && stats.open ? stats.records : null;
}

export type OutboxSummary =
  | { kind: 'unavailable' }
  | { kind: 'all-sent' }
  /** `held`: why sending waits (null while it goes on). */
  | {
      kind: 'waiting';
      count: number;
      sending: boolean;
      held: 'unreachable' | 'unavailable' | 'unauthenticated' | null;
    };

/** The one line about changes waiting to be sent: "3 changes waiting to send", and why they wait. */
export function outboxSummary(state: DesktopOutboxState | null): OutboxSummary {
  if (state === null || !state.available) return { kind: 'unavailable' };
  if (state.waiting === 0) return { kind: 'all-sent' };
  return {
    kind: 'waiting',
    count: state.waiting,
    sending: state.sending !== null,
    held: state.held?.reason ?? null,
  };
}

export type Resolution = 'keepMine' | 'takeTheirs' | 'retryFailed' | 'discard';

export interface AttentionItem {
  item: DesktopOutboxItem;
  /** What the user can do: a conflict is kept or given up; a failure is tried again or discarded. */
  actions: readonly Resolution[];
}

/** The changes that need the user, conflicts first, each in queue order. */
export function needsAttention(state: DesktopOutboxState | null): AttentionItem[] {
  if (state === null || !state.available) return [];
  const bySeq = (a: DesktopOutboxItem, b: DesktopOutboxItem) => a.seq - b.seq;
  return [
    ...[...state.conflicts].sort(bySeq).map((item) => ({ item, actions: ['keepMine', 'takeTheirs'] as const })),
    ...[...state.failed].sort(bySeq).map((item) => ({ item, actions: ['retryFailed', 'discard'] as const })),
  ];
}

const TITLE_MAX = 80;

/** The draft's title a change is about (trimmed, shortened), or null when it has none. */
export function changeTitle(item: DesktopOutboxItem): string | null {
  const title = item.input['title'];
  if (typeof title !== 'string') return null;
  const trimmed = title.trim().replace(/\s+/g, ' ');
  if (trimmed === '') return null;
  return trimmed.length > TITLE_MAX ? `${trimmed.slice(0, TITLE_MAX - 1)}…` : trimmed;
}
