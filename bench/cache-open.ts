/**
 * Opening the desktop's local cache to a first rendered list, against
 * reading the same rows with a bare better-sqlite3 query in the same
 * process: what the worker thread, its message protocol and its checks cost.
 *
 * The cache holds 10,000 messages (50 threads of 200) and 1,000 jobs. The
 * page is what the app shows first: the newest 50 messages of a thread and
 * the first 50 jobs of the feed, rendered to HTML with react-dom/server (a
 * small list, the same for both sides).
 *
 * - cold: spawn the worker, open the file (WAL, migrations check, identity
 *   and kind checks), read both pages, render. Baseline: open a connection,
 *   prepare, query, parse the JSON payloads, render. The OS file cache is
 *   warm for both (dropping it needs root and would hit the neighbours).
 *   Measured with the worker bundled by esbuild, as the app ships it, and
 *   with the worker run from source (TypeScript stripped at load, as in
 *   development and tests).
 * - hot: both pages again on the open cache vs the prepared statements on
 *   the open connection, render included.
 *
 * Ratios are subject over baseline, per round (interleaved), median shown.
 * No goal fails the run.
 */
import { mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import BetterSqlite3 from 'better-sqlite3';
import { build } from 'esbuild';
import { createElement as h } from 'react';
import { renderToString } from 'react-dom/server';
import { LocalCache } from '../electron/cache/local-cache.ts';
import { cacheCollections } from '../electron/cache/kinds.ts';
import type { Benchmark, BenchReport, Figure, Ratio } from './lib/benchmark.ts';
import { median } from './lib/http-load.ts';

const THREADS = 50;
const MESSAGES_PER_THREAD = 200;
const JOBS = 1_000;
const PAGE = 50;
const COLD_PER_ROUND = 5;
const HOT_PER_ROUND = 100;
const SERVER = 'https://megilance.example.com';
const ACCOUNT = 'bench-account';

interface MessageRow {
  id: string;
  threadId: string;
  senderName: string;
  body: string;
  sentAt: number;
}
interface JobRow {
  id: string;
  title: string;
  budgetMinor: number;
  currency: string;
  skills: string[];
  summary: string;
  postedAt: number;
}

const lorem =
  'Thanks for the update. I looked at the latest draft and I think the layout works; could we try the darker ' +
  'header and send the revised invoice with the milestone? ';

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

/** The first screen: a thread's newest messages and the first jobs, as HTML. */
function renderPage(messages: MessageRow[], jobs: JobRow[]): string {
  return renderToString(
    h(
      'main',
      null,
      h(
        'ul',
        { className: 'messages' },
        messages.map((m) => h('li', { key: m.id }, h('b', null, m.senderName), ' ', m.body)),
      ),
      h(
        'ul',
        { className: 'jobs' },
        jobs.map((j) =>
          h(
            'li',
            { key: j.id },
            h('h3', null, j.title),
            h('span', null, `${(j.budgetMinor / 100).toFixed(2)} ${j.currency}`),
            h('p', null, j.summary),
          ),
        ),
      ),
    ),
  );
}

async function buildCache(directory: string): Promise<string> {
  const cache = await LocalCache.open({ directory, serverOrigin: SERVER, accountId: ACCOUNT });
  try {
    const start = Date.UTC(2026, 0, 1);
    for (let t = 0; t < THREADS; t++) {
      const items = Array.from({ length: MESSAGES_PER_THREAD }, (_, i) => {
        const sentAt = start + t * 1_000_000 + i * 60_000;
        const payload = {
          id: `t${t}-m${i}`,
          threadId: `t${t}`,
          senderName: i % 2 === 0 ? 'Ada Lovelace' : 'Grace Hopper',
          body: `${lorem.slice(0, 80 + ((i * 37) % 120))} #${i}`,
          sentAt,
        };
        return { id: payload.id, payload, sortKey: sentAt, serverUpdatedAt: sentAt };
      });
      await cache.writeCollection(cacheCollections.threadMessages(`t${t}`), items, { range: 'all' });
    }
    const jobs = Array.from({ length: JOBS }, (_, i) => {
      const payload = {
        id: `job-${i}`,
        title: `Design a logo and brand kit for a bakery #${i}`,
        budgetMinor: 25_000 + i * 10,
        currency: 'EUR',
        skills: ['logo design', 'branding', 'illustration'],
        summary: lorem.repeat(2),
        postedAt: start + i * 3_600_000,
      };
      return { id: payload.id, payload, sortKey: -i, serverUpdatedAt: payload.postedAt };
    });
    await cache.writeCollection(cacheCollections.jobsFeed(), jobs, { range: 'all' });
    return cache.file;
  } finally {
    await cache.close();
  }
}

/** The worker as the app ships it: one esbuild bundle (better-sqlite3 stays external: it is native). */
async function bundleWorker(): Promise<URL> {
  const dir = join(import.meta.dirname, '..', 'node_modules', '.cache', 'megilance-bench');
  mkdirSync(dir, { recursive: true });
  const outfile = join(dir, 'cache-worker.mjs');
  await build({
    entryPoints: [join(import.meta.dirname, '..', 'electron', 'cache', 'worker.ts')],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node22',
    external: ['better-sqlite3'],
    outfile,
    logLevel: 'warning',
  });
  return pathToFileURL(outfile);
}

interface Timing {
  rowsMs: number;
  renderedMs: number;
}

/** The floor of any off-thread design: a new thread that only says hello. */
async function emptyWorkerSpawn(): Promise<Timing> {
  const started = performance.now();
  const worker = new Worker("require('node:worker_threads').parentPort.postMessage(0)", { eval: true });
  await new Promise((resolve) => worker.once('message', resolve));
  const ms = performance.now() - started;
  await worker.terminate();
  return { rowsMs: ms, renderedMs: ms };
}

const threadPage = cacheCollections.threadMessages('t7');
const jobsPage = cacheCollections.jobsFeed();

async function readThroughCache(cache: LocalCache, started: number): Promise<Timing> {
  const [messages, jobs] = await Promise.all([
    cache.readCollection(threadPage, { limit: PAGE }),
    cache.readCollection(jobsPage, { limit: PAGE }),
  ]);
  const rowsMs = performance.now() - started;
  if (messages.items.length !== PAGE || jobs.items.length !== PAGE) throw new Error('the cache page is short');
  renderPage(
    messages.items.map((m) => m.payload as unknown as MessageRow),
    jobs.items.map((j) => j.payload as unknown as JobRow),
  );
  return { rowsMs, renderedMs: performance.now() - started };
}

const BARE_SQL = `select r.id, r.payload, ci.sort_key from collection_items ci
  join records r on r.kind = ? and r.id = ci.id
  where ci.collection = ? order by ci.sort_key desc, ci.id desc limit ?`;

function bareStatement(db: BetterSqlite3.Database) {
  return db.prepare<[string, string, number], { id: string; payload: string; sort_key: number }>(BARE_SQL);
}

function readBare(statement: ReturnType<typeof bareStatement>, started: number): Timing {
  const messages = statement.all('message', threadPage.name, PAGE).map((r) => JSON.parse(r.payload) as MessageRow);
  const jobs = statement.all('job', jobsPage.name, PAGE).map((r) => JSON.parse(r.payload) as JobRow);
  const rowsMs = performance.now() - started;
  if (messages.length !== PAGE || jobs.length !== PAGE) throw new Error('the bare page is short');
  renderPage(messages, jobs);
  return { rowsMs, renderedMs: performance.now() - started };
}

export const benchmark = {
  name: 'cache-open',
  description:
    'local cache (worker thread) cold open and hot read of a first page (50 messages + 50 jobs, rendered) vs bare better-sqlite3',
  async run(settings): Promise<BenchReport> {
    const directory = mkdtempSync(join(tmpdir(), 'megilance-bench-cache-'));
    try {
      settings.log(`  building a cache of ${THREADS * MESSAGES_PER_THREAD} messages and ${JOBS} jobs`);
      const built = performance.now();
      const file = await buildCache(directory);
      const buildSeconds = (performance.now() - built) / 1000;
      const bundled = await bundleWorker();
      const open = (workerUrl?: URL) =>
        LocalCache.open({
          directory,
          serverOrigin: SERVER,
          accountId: ACCOUNT,
          slowQueryMs: 1_000,
          ...(workerUrl === undefined ? {} : { workerUrl }),
        });

      const coldBundled: Timing[][] = [];
      const coldSource: Timing[][] = [];
      const coldBare: Timing[][] = [];
      const spawnOnly: Timing[][] = [];
      const hotCache: Timing[][] = [];
      const hotBare: Timing[][] = [];

      const coldCache = async (workerUrl?: URL): Promise<Timing> => {
        const started = performance.now();
        const cache = await open(workerUrl);
        try {
          return await readThroughCache(cache, started);
        } finally {
          await cache.close();
        }
      };
      const coldBareOnce = (): Timing => {
        const started = performance.now();
        const db = new BetterSqlite3(file);
        try {
          return readBare(bareStatement(db), started);
        } finally {
          db.close();
        }
      };

      settings.log('  warm-up');
      await coldCache(bundled);
      await coldCache();
      coldBareOnce();

      const hotOpen = await open(bundled);
      const hotDb = new BetterSqlite3(file);
      const hotStatement = bareStatement(hotDb);
      try {
        for (let i = 0; i < 20; i++) {
          await readThroughCache(hotOpen, performance.now());
          readBare(hotStatement, performance.now());
        }
        for (let round = 0; round < settings.rounds; round++) {
          const cold = { bundled: [] as Timing[], source: [] as Timing[], bare: [] as Timing[], spawn: [] as Timing[] };
          const hot = { cache: [] as Timing[], bare: [] as Timing[] };
          // Alternate which side goes first, so drift in machine load falls on both.
          const sides = [
            async () => {
              for (let i = 0; i < COLD_PER_ROUND; i++) cold.bundled.push(await coldCache(bundled));
              for (let i = 0; i < COLD_PER_ROUND; i++) cold.source.push(await coldCache());
              for (let i = 0; i < HOT_PER_ROUND; i++)
                hot.cache.push(await readThroughCache(hotOpen, performance.now()));
            },
            async () => {
              for (let i = 0; i < COLD_PER_ROUND; i++) cold.bare.push(coldBareOnce());
              for (let i = 0; i < HOT_PER_ROUND; i++) hot.bare.push(readBare(hotStatement, performance.now()));
              for (let i = 0; i < COLD_PER_ROUND; i++) cold.spawn.push(await emptyWorkerSpawn());
            },
          ];
          if (round % 2 === 1) sides.reverse();
          for (const side of sides) await side();
          coldBundled.push(cold.bundled);
          coldSource.push(cold.source);
          coldBare.push(cold.bare);
          spawnOnly.push(cold.spawn);
          hotCache.push(hot.cache);
          hotBare.push(hot.bare);
          const p50 = (timings: Timing[]) => median(timings.map((t) => t.renderedMs)).toFixed(2);
          settings.log(
            `  round ${round + 1}/${settings.rounds}: cold ${p50(cold.bundled)} ms (source ${p50(cold.source)}) vs bare ${p50(cold.bare)} ms; ` +
              `hot ${p50(hot.cache)} ms vs bare ${p50(hot.bare)} ms`,
          );
        }
      } finally {
        await hotOpen.close();
        hotDb.close();
      }

      const flat = (rounds: Timing[][], pick: (t: Timing) => number) =>
        rounds
          .flat()
          .map(pick)
          .sort((a, b) => a - b);
      const figuresOf = (subject: string, rounds: Timing[][]): Figure[] => [
        {
          subject,
          metric: 'rows p50',
          value: percentile(
            flat(rounds, (t) => t.rowsMs),
            50,
          ),
          unit: 'ms',
        },
        {
          subject,
          metric: 'rendered p50',
          value: percentile(
            flat(rounds, (t) => t.renderedMs),
            50,
          ),
          unit: 'ms',
        },
        {
          subject,
          metric: 'rendered p95',
          value: percentile(
            flat(rounds, (t) => t.renderedMs),
            95,
          ),
          unit: 'ms',
        },
      ];
      const perRound = (subject: Timing[][], baseline: Timing[][]) =>
        subject.map(
          (timings, i) =>
            median(timings.map((t) => t.renderedMs)) / median((baseline[i] ?? []).map((t) => t.renderedMs)),
        );
      const basis = (values: number[]) =>
        `median of ${values.length} paired rounds (min ${Math.min(...values).toFixed(2)}, max ${Math.max(...values).toFixed(2)})`;
      const ratio = (label: string, values: number[]): Ratio => ({
        label,
        value: median(values),
        basis: basis(values),
      });
      const coldRatios = perRound(coldBundled, coldBare);
      const coldSourceRatios = perRound(coldSource, coldBare);
      const hotRatios = perRound(hotCache, hotBare);
      // What the cache adds beyond the floor: an empty thread's spawn plus the bare read.
      const overFloor = coldBundled.map((timings, i) => {
        const floor =
          median((spawnOnly[i] ?? []).map((t) => t.renderedMs)) + median((coldBare[i] ?? []).map((t) => t.renderedMs));
        return median(timings.map((t) => t.renderedMs)) / floor;
      });
      return {
        figures: [
          ...figuresOf('cache, cold (bundled worker)', coldBundled),
          ...figuresOf('cache, cold (worker from source)', coldSource),
          ...figuresOf('bare better-sqlite3, cold', coldBare),
          ...figuresOf('empty worker thread (spawn only)', spawnOnly),
          ...figuresOf('cache, hot', hotCache),
          ...figuresOf('bare better-sqlite3, hot', hotBare),
        ],
        ratios: [
          ratio('cold open → rendered: cache (bundled) / bare', coldRatios),
          ratio('cold open → rendered: cache (source) / bare', coldSourceRatios),
          ratio('cold open → rendered: cache (bundled) / (empty thread + bare)', overFloor),
          ratio('hot read → rendered: cache / bare', hotRatios),
        ],
        notes: [
          `Cache file ${(statSync(file).size / 1_048_576).toFixed(1)} MiB: ${THREADS * MESSAGES_PER_THREAD} messages in ${THREADS} threads, ${JOBS} jobs; built in ${buildSeconds.toFixed(1)} s through the cache API.`,
          `Page: newest ${PAGE} messages of one thread + first ${PAGE} jobs, rendered with react-dom/server renderToString (same list for both).`,
          '"rows": the page as objects in the main thread; "rendered": and turned into HTML. Cold includes spawning the worker and opening the file; the OS file cache is warm.',
          `${COLD_PER_ROUND} cold and ${HOT_PER_ROUND} hot reads per side per round; lower ratios are better.`,
        ],
        details: {
          rounds: coldBundled.map((_, i) => ({
            coldBundled: coldBundled[i],
            coldSource: coldSource[i],
            coldBare: coldBare[i],
            spawnOnly: spawnOnly[i],
            hotCacheP50: median((hotCache[i] ?? []).map((t) => t.renderedMs)),
            hotBareP50: median((hotBare[i] ?? []).map((t) => t.renderedMs)),
          })),
          buildSeconds,
        },
      };
    } finally {
      rmSync(directory, { recursive: true, force: true });
    }
  },
} satisfies Benchmark;
