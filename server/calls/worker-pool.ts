/**
 * mediasoup workers: one per core by default (`CALLS_WORKERS`), each a C++
 * process with one WebRtcServer, so every call on a worker shares one UDP and
 * one TCP port (`CALLS_PORT` + the worker's index): two ports per worker to
 * open in a firewall, not a range per transport.
 *
 * Placement is load-aware: a new room goes to the worker carrying the fewest
 * consumers (what costs a worker CPU), ties broken by fewest rooms. A worker
 * that dies is logged, replaced by a new one in its slot (same ports), and
 * its rooms are told (`onWorkerDied`) so their peers reconnect; the server
 * process keeps serving.
 */
import { createWorker, type types } from 'mediasoup';
import type { Logger } from 'pino';
import { AppError } from '../../shared/errors.ts';

export interface WorkerPoolConfig {
  workers: number;
  /** First port; worker i listens on port + i (UDP and TCP). 0 = any free port (tests). */
  port: number;
  listenIp: string;
  /** The address clients reach the SFU at, when it is not `listenIp` (NAT, 0.0.0.0). */
  announcedAddress: string | null;
  logLevel: types.WorkerLogLevel;
}

export interface PooledWorker {
  index: number;
  worker: types.Worker;
  webRtcServer: types.WebRtcServer;
  /** Rooms placed here, and the consumers they carry (kept by the rooms). */
  rooms: Set<string>;
  consumers: number;
}

export class WorkerPool {
  readonly #config: WorkerPoolConfig;
  readonly #logger: Logger;
  readonly #slots: (PooledWorker | null)[];
  #closed = false;
  #starting: Promise<void> | null = null;
  /** Replacements of dead workers still starting: a room that needs a worker waits for them. */
  readonly #restarts = new Set<Promise<unknown>>();
  /** Called with the rooms of a worker that died, after its replacement started (or failed to). */
  onWorkerDied: (rooms: string[], worker: PooledWorker) => void = () => {};

  constructor(config: WorkerPoolConfig, logger: Logger) {
    this.#config = config;
    this.#logger = logger.child({ component: 'sfu' });
    this.#slots = Array.from({ length: Math.max(1, config.workers) }, () => null);
  }

  /** Starts the workers once; later calls wait for the same start. A missing worker binary is FEATURE_UNAVAILABLE. */
  async start(): Promise<void> {
    this.#starting ??= (async () => {
      try {
        await Promise.all(this.#slots.map((_, index) => this.#startSlot(index)));
      } catch (error) {
        this.#starting = null;
        await this.close();
        this.#closed = false;
        throw new AppError('FEATURE_UNAVAILABLE', {
          message: 'Calls are not available on this server right now (its media server could not start).',
          details: { channel: 'calls' },
          cause: error,
        });
      }
    })();
    return this.#starting;
  }

  async #startSlot(index: number): Promise<PooledWorker> {
    const worker = await createWorker({ logLevel: this.#config.logLevel, appData: { index } });
    const listen = (protocol: 'udp' | 'tcp'): types.TransportListenInfo => ({
      protocol,
      ip: this.#config.listenIp,
      ...(this.#config.announcedAddress === null ? {} : { announcedAddress: this.#config.announcedAddress }),
      ...(this.#config.port === 0 ? {} : { port: this.#config.port + index }),
    });
    const webRtcServer = await worker.createWebRtcServer({ listenInfos: [listen('udp'), listen('tcp')] });
    const pooled: PooledWorker = { index, worker, webRtcServer, rooms: new Set(), consumers: 0 };
    this.#slots[index] = pooled;
    worker.on('died', (error) => {
      if (this.#closed) return;
      this.#logger.error({ err: error, pid: worker.pid, index }, 'mediasoup worker died; starting a new one');
      this.#slots[index] = null;
      const rooms = [...pooled.rooms];
      const restart = this.#startSlot(index).then(
        () => this.onWorkerDied(rooms, pooled),
        (err: unknown) => {
          this.#logger.error({ err, index }, 'could not replace the dead mediasoup worker');
          this.onWorkerDied(rooms, pooled);
        },
      );
      this.#restarts.add(restart);
      void restart.finally(() => this.#restarts.delete(restart));
    });
    this.#logger.info({ pid: worker.pid, index }, 'mediasoup worker started');
    return pooled;
  }

  /** The least loaded live worker, for a new room (or for a room's extra router when spreading). */
  async pick(): Promise<PooledWorker> {
    await this.start();
    let live = this.#slots.filter((slot): slot is PooledWorker => slot !== null && !slot.worker.closed);
    if (live.length === 0 && this.#restarts.size > 0) {
      await Promise.race(this.#restarts);
      live = this.#slots.filter((slot): slot is PooledWorker => slot !== null && !slot.worker.closed);
    }
    if (live.length === 0) {
      throw new AppError('SERVICE_UNAVAILABLE', { message: 'The media server is restarting. Try again in a moment.' });
    }
    return live.reduce((best, slot) =>
      slot.consumers < best.consumers || (slot.consumers === best.consumers && slot.rooms.size < best.rooms.size)
        ? slot
        : best,
    );
  }

  /** What each worker carries now (for status and the bench). */
  load(): { index: number; pid: number; rooms: number; consumers: number }[] {
    return this.#slots
      .filter((slot): slot is PooledWorker => slot !== null)
      .map((slot) => ({ index: slot.index, pid: slot.worker.pid, rooms: slot.rooms.size, consumers: slot.consumers }));
  }

  get started(): boolean {
    return this.#starting !== null;
  }

  close(): Promise<void> {
    this.#closed = true;
    for (const slot of this.#slots) slot?.worker.close();
    this.#slots.fill(null);
    this.#starting = null;
    return Promise.resolve();
  }
}
