/**
 * What the server says about itself: identity, health and a live status
 * stream that clients use to show their connection state.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { sql } from 'kysely';
import packageJson from '../../package.json' with { type: 'json' };
import type { ServerDeps } from '../context.ts';
import type { LifecycleState } from '../lifecycle.ts';

export interface ServerInfo {
  name: string;
  version: string;
  environment: string;
  database: { engine: 'sqlite' | 'postgres' };
  startedAt: Date;
  uptimeSeconds: number;
}

export interface ServerStatus {
  state: LifecycleState;
  serverTime: Date;
  connections: number;
}

export function serverInfo(deps: ServerDeps): ServerInfo {
  return {
    name: 'MegiLance',
    version: packageJson.version,
    environment: deps.config.env,
    database: { engine: deps.dbEngine },
    startedAt: new Date(deps.lifecycle.startedAt),
    uptimeSeconds: Math.floor((Date.now() - deps.lifecycle.startedAt) / 1000),
  };
}

export async function databaseReachable(deps: ServerDeps): Promise<boolean> {
  try {
    await sql`select 1`.execute(deps.db);
    return true;
  } catch (error) {
    deps.logger.warn({ err: error }, 'readiness: database unreachable');
    return false;
  }
}

function statusNow(deps: ServerDeps): ServerStatus {
  return { state: deps.lifecycle.state, serverTime: new Date(), connections: deps.connections.count() };
}

/**
 * Yields the status at once, then on every lifecycle change and every
 * `intervalMs` heartbeat, until the client leaves or the server drains.
 */
export async function* statusStream(
  deps: ServerDeps,
  signal: AbortSignal,
  intervalMs: number,
): AsyncGenerator<ServerStatus> {
  yield statusNow(deps);
  const changes = deps.lifecycle.changes(signal);
  let nextChange = changes.next();
  while (!signal.aborted) {
    const heartbeat = sleep(intervalMs, 'heartbeat' as const, { signal }).catch(() => 'aborted' as const);
    const winner = await Promise.race([heartbeat, nextChange.then(() => 'change' as const)]);
    if (winner === 'aborted' || signal.aborted) return;
    if (winner === 'change') {
      const change = await nextChange;
      if (change.done === true) return;
      nextChange = changes.next();
    }
    const status = statusNow(deps);
    yield status;
    if (status.state === 'draining' || status.state === 'stopped') return;
  }
}
