/**
 * The browser's side of AuthSession: the "may have a session" hint, the
 * lock that keeps windows from refreshing at once, and the channel they
 * share grants over.
 */
import type { AccessGrant } from './grant.ts';
import type { AuthChannel, AuthMessage, SessionHint } from './session.ts';

const HINT_KEY = 'megilance.session';
const LOCK_NAME = 'megilance.auth.refresh';
const CHANNEL_NAME = 'megilance.auth';

/** A boolean in localStorage, never a token (see SessionHint). */
export const browserSessionHint: SessionHint = {
  read() {
    try {
      return localStorage.getItem(HINT_KEY) === 'present';
    } catch {
      // Storage disabled: ask the server every time; a refused refresh just means signed out.
      return true;
    }
  },
  write(present) {
    try {
      if (present) localStorage.setItem(HINT_KEY, 'present');
      else localStorage.removeItem(HINT_KEY);
    } catch {
      // Not remembered; the next load asks the server (see read).
    }
  },
};

/** Web Locks, held across the app's windows; where absent (old engines), the task just runs. */
export function browserExclusive<T>(task: () => Promise<T>): Promise<T> {
  if (typeof navigator === 'undefined' || navigator.locks === undefined) return task();
  return navigator.locks.request(LOCK_NAME, task);
}

function isGrant(value: unknown): value is AccessGrant {
  if (typeof value !== 'object' || value === null) return false;
  const grant = value as Record<string, unknown>;
  return (
    typeof grant['accessToken'] === 'string' &&
    typeof grant['sessionId'] === 'string' &&
    grant['accessExpiresAt'] instanceof Date
  );
}

function parseMessage(data: unknown): AuthMessage | null {
  if (typeof data !== 'object' || data === null) return null;
  const message = data as Record<string, unknown>;
  if (message['type'] === 'signed_out') return { type: 'signed_out' };
  if (message['type'] === 'grant' && isGrant(message['grant'])) return { type: 'grant', grant: message['grant'] };
  return null;
}

/**
 * The other windows of this origin. Grants pass memory to memory (structured
 * clone), never through storage.
 */
export function browserAuthChannel(): AuthChannel | undefined {
  if (typeof BroadcastChannel === 'undefined') return undefined;
  const channel = new BroadcastChannel(CHANNEL_NAME);
  return {
    post: (message) => channel.postMessage(message),
    listen(handler) {
      const onMessage = (event: MessageEvent) => {
        const message = parseMessage(event.data);
        if (message !== null) handler(message);
      };
      channel.addEventListener('message', onMessage);
      return () => channel.removeEventListener('message', onMessage);
    },
  };
}
