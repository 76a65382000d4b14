/**
 * tRPC query throughput and p99 latency against a bare Fastify route serving
 * the same bytes, same server process, same run (issue: "tRPC at least 50%
 * of raw Fastify"). The server runs in a child process
 * (fixtures/trpc-server.ts); autocannon runs here.
 *
 * Like with like: every route goes through the same Fastify instance and
 * plugins (helmet, request ids, logger) and returns the bytes a tRPC client
 * receives — the superjson envelope — which the preflight checks before
 * anything is timed. Two request shapes, each against its own bare twin:
 * - single: `GET /trpc/system.info` (httpLink), the comparison;
 * - batch: `GET /trpc/system.info?batch=1&input=…` exactly as the renderer's
 *   httpBatchLink sends it, answered with a one-element array.
 * Requests carry the headers a browser's fetch sends, since tRPC copies
 * every request header into a Fetch `Request`.
 */
import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import superjson from 'superjson';
import type { Benchmark, BenchReport, BenchSettings, Figure, Ratio } from './lib/benchmark.ts';
import { interleave, median, pairedRatio, type LoadTarget, type RoundResult } from './lib/http-load.ts';
import { startServerProcess, type ServerProcess } from './lib/server-process.ts';

const FIXTURE = resolve(import.meta.dirname, 'fixtures', 'trpc-server.ts');

/** What httpBatchLink puts in the URL for one input-less query with the superjson transformer. */
const BATCH_QUERY = `?batch=1&input=${encodeURIComponent(JSON.stringify({ 0: superjson.serialize(undefined) }))}`;

/** A same-origin fetch() from Chromium, minus cookies (none are issued yet). */
const BROWSER_HEADERS: Record<string, string> = {
  accept: '*/*',
  'accept-encoding': 'gzip, deflate, br, zstd',
  'accept-language': 'en-GB,en;q=0.9',
  referer: 'http://127.0.0.1/jobs',
  'sec-fetch-dest': 'empty',
  'sec-fetch-mode': 'cors',
  'sec-fetch-site': 'same-origin',
  'user-agent': 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/140.0.0.0 Safari/537.36',
};

const SUBJECTS: Record<string, string> = {
  bare: 'bare Fastify',
  trpc: 'tRPC',
};

interface Target extends LoadTarget {
  subject: string;
  shape: 'single' | 'batch';
  /** The target this one is judged against (same shape, bare route); undefined for baselines. */
  baseline: string | undefined;
  path: string;
}

function targetsOf(server: ServerProcess): Target[] {
  const targets: Target[] = [];
  for (const shape of ['single', 'batch'] as const) {
    for (const [route, path] of Object.entries(server.routes)) {
      const suffix = shape === 'batch' ? '-batch' : '';
      const fullPath = path + (shape === 'batch' ? BATCH_QUERY : '');
      const subject = SUBJECTS[route] ?? route;
      targets.push({
        name: route + suffix,
        subject: `${subject}${shape === 'batch' ? ', batched' : ''}`,
        label: `${subject} (GET ${path}${shape === 'batch' ? '?batch=1…' : ''})`,
        url: server.url + fullPath,
        headers: BROWSER_HEADERS,
        shape,
        baseline: route === 'bare' ? undefined : `bare${suffix}`,
        path: fullPath,
      });
    }
  }
  return targets;
}

interface Preflight {
  path: string;
  status: number;
  headers: Record<string, string>;
  bytes: number;
}

/** The body with the one field that may differ between two requests (the uptime second) blanked. */
const comparable = (body: string): string => body.replace(/"uptimeSeconds":\d+/, '"uptimeSeconds":0');

async function preflight(targets: Target[]): Promise<Record<string, Preflight>> {
  const seen = new Map<string, Preflight & { body: string }>();
  for (const target of targets) {
    const response = await fetch(target.url, { headers: target.headers ?? {} });
    const body = await response.text();
    if (response.status !== 200) throw new Error(`preflight: GET ${target.path} answered ${response.status}: ${body}`);
    const contentType = response.headers.get('content-type') ?? '';
    if (!contentType.startsWith('application/json')) {
      throw new Error(`preflight: GET ${target.path} is not JSON (${contentType})`);
    }
    seen.set(target.name, {
      path: target.path,
      status: response.status,
      headers: Object.fromEntries(response.headers),
      bytes: Buffer.byteLength(body),
      body,
    });
  }
  for (const target of targets) {
    if (target.baseline === undefined) continue;
    const mine = seen.get(target.name)!;
    const base = seen.get(target.baseline);
    if (base === undefined) throw new Error(`preflight: no baseline ${target.baseline} for ${target.name}`);
    if (comparable(mine.body) !== comparable(base.body)) {
      throw new Error(`preflight: ${mine.path} and ${base.path} answer different bodies:\n${mine.body}\n${base.body}`);
    }
  }
  return Object.fromEntries([...seen].map(([name, { body: _body, ...rest }]) => [name, rest]));
}

function summarise(rounds: RoundResult[], target: string) {
  const mine = rounds.filter((r) => r.target === target);
  const cpu = mine.map((r) => r.serverCpuMicrosPerRequest).filter((v): v is number => v !== null);
  return {
    requestsPerSecond: median(mine.map((r) => r.requestsPerSecond)),
    p50Ms: median(mine.map((r) => r.latencyMs.p50)),
    p99Ms: median(mine.map((r) => r.latencyMs.p99)),
    serverCpuMicrosPerRequest: cpu.length > 0 ? median(cpu) : null,
  };
}

const spread = (r: { min: number; max: number; perRound: number[] }): string =>
  `median of ${r.perRound.length} paired rounds (min ${r.min.toFixed(2)}, max ${r.max.toFixed(2)})`;

async function run(settings: BenchSettings): Promise<BenchReport> {
  settings.log('  starting the server process');
  const server = await startServerProcess(FIXTURE, {
    NODE_ENV: 'production',
    MEGILANCE_PUBLIC_URL: 'http://127.0.0.1',
    // A throwaway key: production requires one from the environment.
    MFA_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
    MEGILANCE_HOST: '127.0.0.1',
    MEGILANCE_PORT: '0',
    // Production's level: Fastify's per-request lines are at info, so no route logs.
    LOG_LEVEL: 'warn',
    LOG_PRETTY: 'false',
  });
  try {
    const targets = targetsOf(server);
    const checked = await preflight(targets);
    const cpu = async (): Promise<number> => {
      const time = await server.cpuTime();
      return time.userMicros + time.systemMicros;
    };
    const rounds = await interleave(targets, settings, cpu);

    const figures: Figure[] = [];
    const ratios: Ratio[] = [];
    const summaries: Record<string, ReturnType<typeof summarise>> = {};
    for (const target of targets) {
      const s = (summaries[target.name] = summarise(rounds, target.name));
      const subject = target.subject;
      figures.push(
        { subject, metric: 'throughput', value: s.requestsPerSecond, unit: 'req/s' },
        { subject, metric: 'p50', value: s.p50Ms, unit: 'ms' },
        { subject, metric: 'p99', value: s.p99Ms, unit: 'ms' },
      );
      if (s.serverCpuMicrosPerRequest !== null) {
        figures.push({ subject, metric: 'server CPU', value: s.serverCpuMicrosPerRequest, unit: 'µs/req' });
      }
    }
    for (const target of targets) {
      if (target.baseline === undefined) continue;
      const base = targets.find((t) => t.name === target.baseline)!;
      const throughput = pairedRatio(rounds, target.name, base.name, (r) => r.requestsPerSecond);
      const p99 = pairedRatio(rounds, target.name, base.name, (r) => r.latencyMs.p99);
      // Inverted so that, like throughput, 1.0 means "as cheap as bare" and higher is better.
      const cpuShare = pairedRatio(rounds, target.name, base.name, (r) =>
        r.serverCpuMicrosPerRequest === null ? null : 1 / r.serverCpuMicrosPerRequest,
      );
      ratios.push({
        label: `${target.subject}: throughput / bare`,
        value: throughput.median,
        goal: { atLeast: 0.5 },
        basis: spread(throughput),
      });
      ratios.push({ label: `${target.subject}: p99 / bare`, value: p99.median, basis: spread(p99) });
      if (cpuShare.perRound.length > 0) {
        ratios.push({
          label: `${target.subject}: bare CPU/req ÷ its CPU/req`,
          value: cpuShare.median,
          basis: spread(cpuShare),
        });
      }
    }
    return {
      figures,
      ratios,
      notes: [
        `Routes: ${targets.map((t) => t.label).join('; ')}.`,
        `Each tRPC route answers byte-for-byte what its bare twin answers (${checked['bare']?.bytes ?? '?'} bytes single, ${checked['bare-batch']?.bytes ?? '?'} batched; checked before timing), through the same Fastify instance and plugins, to the same browser-like request headers.`,
        `${settings.connections} connections, pipelining ${settings.pipelining}; ${settings.rounds} rounds of ${settings.seconds} s per route, order reversed every other round, after ${settings.warmupSeconds} s warm-up each.`,
        'Server CPU = the server process’s user+system time over a round ÷ requests completed. Unlike req/s it does not depend on how much CPU the load generator and the neighbours took, so its ratio is the steadier one.',
      ],
      details: {
        server: { url: server.url, routes: server.routes },
        batchQuery: BATCH_QUERY,
        preflight: checked,
        summaries,
        rounds,
      },
    };
  } finally {
    await server.stop();
  }
}

export const benchmark = {
  name: 'trpc-throughput',
  description:
    'tRPC query (GET /trpc/system.info, single and batched) vs a bare Fastify route with the same bytes, same process, same run',
  run,
} satisfies Benchmark;
