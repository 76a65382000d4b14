/**
 * The signed-in session as this window knows it: the access grant (memory
 * only), when to refresh it, and what happens when the server ends it.
 *
 * It lives outside React, like the server connection, because the API
 * client needs the token for every request and must be able to refresh it
 * (sessionLink.ts) without a component on screen. Components read it with
 * `useSyncExternalStore` (AuthContext.tsx).
 *
 * Refresh tokens are single-use: the server revokes the whole session when
 * one is presented twice. So refreshing is single-flight here, and, through
 * `exclusive`, across the app's windows, which share the cookie; a window
 * that refreshes tells the others the new grant (`channel`), because each
 * refresh replaces the session's one valid access token.
 */
import { describeError } from '../errors/describeError.ts';
import type { IssuedTokens } from '../../../shared/accounts.ts';
import { grantOf, refreshDelayMs, refreshRetryDelayMs, type AccessGrant } from './grant.ts';

/** Why nobody is signed in, for the sign-in screen to explain. */
export type SignedOutReason =
  /** The user signed out in this window. */
  | { kind: 'signed_out' }
  /** The user signed out in another window of the app. */
  | { kind: 'other_window' }
  /** The server ended the session (revoked, expired, reused); `message` is its own words when it said more than "sign in". */
  | { kind: 'ended'; message: string | null };

export type AuthState =
  /** Asking the server whether the refresh cookie still holds a session. */
  | { status: 'restoring' }
  /** The server could not be asked (offline, restarting); retrying. */
  | { status: 'unreachable'; error: unknown }
  | { status: 'signed_in'; grant: AccessGrant }
  | { status: 'signed_out'; reason: SignedOutReason | null };

/**
 * Whether this browser may hold a session cookie. Not a secret and not a
 * token: it only spares a signed-out visitor the `auth.refresh` call that
 * would be refused (and logged as a failed request) on every page load.
 */
export interface SessionHint {
  read(): boolean;
  write(present: boolean): void;
}

export type AuthMessage = { type: 'grant'; grant: AccessGrant } | { type: 'signed_out' };

/** Other windows of the app on this origin. */
export interface AuthChannel {
  post(message: AuthMessage): void;
  listen(handler: (message: AuthMessage) => void): () => void;
}

export interface AuthSessionDeps {
  /**
   * `auth.refresh`: exchanges the refresh cookie (desktop: the keychain's token, through main) for a new
   * grant; rejects with the server's error, or `NoStoredSession` when there is nothing to restore.
   */
  refresh(): Promise<AccessGrant>;
  /** The desktop app hands the refresh token a sign-in answered with to main (the keychain), then drops it. */
  keep?(tokens: IssuedTokens): Promise<void>;
  /** The desktop app forgets the stored token when the session ends here. */
  forget?(): Promise<void>;
  hint: SessionHint;
  /** Runs `task` while no other window refreshes; by default just runs it. */
  exclusive?: <T>(task: () => Promise<T>) => Promise<T>;
  channel?: AuthChannel | undefined;
}

/** Nothing to restore (no saved sign-in): signed out, without calling it an ended session. */
export class NoStoredSession extends Error {
  constructor() {
    super('No saved sign-in');
    this.name = 'NoStoredSession';
  }
}

export type RefreshFailure = { kind: 'ended'; message: string | null } | { kind: 'transient' };

/**
 * A refused refresh ends the session; anything else (no network, a server
 * draining or failing) may pass, so the session is kept and retried.
 */
export function classifyRefreshFailure(error: unknown): RefreshFailure {
  // With an empty translation, `message` is non-empty only when the server said something specific.
  const description = describeError(error, () => '');
  if (description.kind === 'UNAUTHENTICATED' || description.kind === 'FORBIDDEN') {
    return { kind: 'ended', message: description.message === '' ? null : description.message };
  }
  return { kind: 'transient' };
}

export class AuthSession {
  readonly #deps: AuthSessionDeps;
  readonly #listeners = new Set<() => void>();
  #state: AuthState = { status: 'restoring' };
  #timer: ReturnType<typeof setTimeout> | null = null;
  #inflight: Promise<boolean> | null = null;
  #retryAttempt = 0;
  /** Bumped when someone signs in or out, so a refresh answer that arrives afterwards is ignored. */
  #epoch = 0;
  #stopListening: (() => void) | null = null;

  constructor(deps: AuthSessionDeps) {
    this.#deps = deps;
  }

  /** Restores the session from the refresh cookie, if this browser may have one. */
  start(): void {
    if (this.#stopListening !== null) return;
    this.#stopListening = this.#deps.channel?.listen((message) => this.#onMessage(message)) ?? (() => undefined);
    if (!this.#deps.hint.read()) {
      this.#set({ status: 'signed_out', reason: null });
      return;
    }
    void this.refresh();
  }

  stop(): void {
    this.#stopListening?.();
    this.#stopListening = null;
    this.#clearTimer();
  }

  readonly subscribe = (listener: () => void): (() => void) => {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  };

  readonly getState = (): AuthState => this.#state;

  /** Resolves once start-up has found out whether there is a session (at once if it has). */
  settled(): Promise<void> {
    if (this.#state.status !== 'restoring') return Promise.resolve();
    return new Promise((resolve) => {
      const stop = this.subscribe(() => {
        if (this.#state.status === 'restoring') return;
        stop();
        resolve();
      });
    });
  }

  accessToken(): string | null {
    return this.#state.status === 'signed_in' ? this.#state.grant.accessToken : null;
  }

  sessionId(): string | null {
    return this.#state.status === 'signed_in' ? this.#state.grant.sessionId : null;
  }

  /** A sign-in answered these tokens: the grant is kept here, the refresh token (desktop) goes to `keep`. */
  signedInWith(tokens: IssuedTokens): void {
    this.signedIn(grantOf(tokens));
    if (tokens.refreshToken !== null && this.#deps.keep !== undefined) {
      void this.#deps.keep(tokens).catch((error: unknown) => console.error('could not keep the sign-in', error));
    }
  }

  /** A sign-in (or verification, or second factor) succeeded. */
  signedIn(grant: AccessGrant): void {
    this.#epoch += 1;
    this.#adopt(grant);
    this.#deps.channel?.post({ type: 'grant', grant });
  }

  /** The user signed out here, or the server refused the session: forget it. */
  signedOut(reason: SignedOutReason): void {
    this.#epoch += 1;
    this.#end(reason);
    void this.#deps.forget?.().catch((error: unknown) => console.error('could not forget the sign-in', error));
    this.#deps.channel?.post({ type: 'signed_out' });
  }

  /** Exchanges the refresh cookie for a new grant; true when there is one. Concurrent calls share one request. */
  refresh(): Promise<boolean> {
    this.#inflight ??= this.#refreshOnce().finally(() => {
      this.#inflight = null;
    });
    return this.#inflight;
  }

  /**
   * A request sent with `sentToken` was refused as unauthenticated. True when
   * it is worth retrying: the grant has moved on since it was sent, or a
   * refresh just produced a new one.
   */
  async recover(sentToken: string | null): Promise<boolean> {
    if (sentToken === null) return false;
    const current = this.accessToken();
    if (current !== null && current !== sentToken) return true;
    if (this.#state.status !== 'signed_in') return false;
    return this.refresh();
  }

  /** "Try again" while the server is unreachable. */
  retryNow(): void {
    if (this.#state.status === 'unreachable' || this.#state.status === 'restoring') void this.refresh();
  }

  async #refreshOnce(): Promise<boolean> {
    const epoch = this.#epoch;
    const before = this.accessToken();
    this.#clearTimer();
    const exclusive = this.#deps.exclusive ?? ((task) => task());
    try {
      const grant = await exclusive(async () => {
        // Another window may have refreshed while this one waited; its grant came by message.
        const current = this.accessToken();
        if (current !== null && current !== before) return null;
        return this.#deps.refresh();
      });
      this.#retryAttempt = 0;
      if (epoch !== this.#epoch) return this.accessToken() !== null;
      if (grant !== null) {
        this.#adopt(grant);
        this.#deps.channel?.post({ type: 'grant', grant });
      }
      return true;
    } catch (error) {
      if (epoch !== this.#epoch) return this.accessToken() !== null;
      if (error instanceof NoStoredSession) {
        this.#end(null);
        return false;
      }
      const failure = classifyRefreshFailure(error);
      if (failure.kind === 'ended') {
        this.signedOut({ kind: 'ended', message: failure.message });
        return false;
      }
      // Keep what we have (a signed-in window stays signed in) and try again later.
      if (this.#state.status !== 'signed_in') this.#set({ status: 'unreachable', error });
      this.#schedule(refreshRetryDelayMs(this.#retryAttempt++));
      return false;
    }
  }

  #onMessage(message: AuthMessage): void {
    if (message.type === 'grant') {
      this.#epoch += 1;
      this.#adopt(message.grant);
    } else if (this.#state.status !== 'signed_out') {
      this.#epoch += 1;
      this.#end({ kind: 'other_window' });
    }
  }

  #adopt(grant: AccessGrant): void {
    this.#deps.hint.write(true);
    this.#set({ status: 'signed_in', grant });
    this.#schedule(refreshDelayMs(grant.accessExpiresAt.getTime(), Date.now()));
  }

  #end(reason: SignedOutReason | null): void {
    this.#clearTimer();
    this.#deps.hint.write(false);
    this.#set({ status: 'signed_out', reason });
  }

  #schedule(delayMs: number): void {
    this.#clearTimer();
    this.#timer = setTimeout(() => {
      this.#timer = null;
      void this.refresh();
    }, delayMs);
  }

  #clearTimer(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
  }

  #set(state: AuthState): void {
    this.#state = state;
    for (const listener of this.#listeners) listener();
  }
}
