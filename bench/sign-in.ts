/**
 * Sign-in throughput and p95 latency at the configured argon2id parameters,
 * against the bare cost of the hash itself (one argon2id verification of the
 * same stored hash), same process, same run, interleaved rounds.
 *
 * A sign-in is the whole path a user waits on: HTTP + tRPC, the brute-force
 * limit queries, the password check, the risk assessment (history queries),
 * a new session with tokens, the attempt and device records, security
 * events. The ratio says how much of a sign-in is the deliberate hash cost
 * (close to 1 = the rest is cheap) — not a goal, a reading to watch.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPasswordHasher } from '../server/security/passwords.ts';
import { parseConfig } from '../server/config.ts';
import { startServer } from '../server/main.ts';
import type { Benchmark, BenchReport, Figure, Ratio } from './lib/benchmark.ts';
import { median } from './lib/http-load.ts';

/** argon2 runs on libuv's 4 worker threads: more concurrency only queues. */
const CONCURRENCY = 4;
const USER_AGENT = 'Mozilla/5.0 (X11; Linux x86_64) Chrome/156.0.0.0 Safari/537.36';
const PASSWORD = 'benchmark password, long enough';

interface Round {
  completed: number;
  seconds: number;
  p50: number;
  p95: number;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** Runs `task` with CONCURRENCY workers for `seconds`; every call's latency counts. */
async function runFor(seconds: number, task: () => Promise<void>): Promise<Round> {
  const latencies: number[] = [];
  const started = performance.now();
  const deadline = started + seconds * 1000;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (performance.now() < deadline) {
        const t0 = performance.now();
        await task();
        latencies.push(performance.now() - t0);
      }
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  return {
    completed: latencies.length,
    seconds: elapsed,
    p50: percentile(latencies, 50),
    p95: percentile(latencies, 95),
  };
}

export const benchmark = {
  name: 'sign-in',
  description: 'sign-in over HTTP (password, limits, risk, session) vs the bare argon2id verification it contains',
  async run(settings): Promise<BenchReport> {
    const dataDir = mkdtempSync(join(tmpdir(), 'megilance-bench-signin-'));
    const config = parseConfig({
      ...process.env,
      NODE_ENV: 'test',
      MEGILANCE_PORT: '0',
      MEGILANCE_DATA_DIR: dataDir,
      LOG_LEVEL: 'warn',
    });
    const server = await startServer(config);
    try {
      const email = 'bench@example.com';
      const post = (path: string, body: unknown) =>
        fetch(`${server.url}/trpc/${path}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'user-agent': USER_AGENT, 'x-megilance-client': 'desktop' },
          body: JSON.stringify({ json: body }),
        });
      await post('auth.signUp', { email, password: PASSWORD, displayName: 'Bench' });
      const [mail] = await server.deps.mailer.listOutbox({ limit: 1 });
      const code = /\b(\d{6})\b/.exec((await server.deps.mailer.readOutboxMessage(mail!.id)).text)![1]!;
      if (!(await post('auth.verifyEmail', { email, code })).ok) throw new Error('could not verify the bench account');

      const stored = (
        await server.deps.db
          .selectFrom('users')
          .select('password_hash')
          .where('email', '=', email)
          .executeTakeFirstOrThrow()
      ).password_hash!;
      const hasher = createPasswordHasher(config.security.argon2);
      const signIn = async () => {
        const response = await post('auth.signIn', { email, password: PASSWORD });
        const body = (await response.json()) as { result?: { data?: { json?: { status?: string } } } };
        if (body.result?.data?.json?.status !== 'signed_in')
          throw new Error(`sign-in answered ${response.status}: ${JSON.stringify(body)}`);
      };
      const bareHash = async () => {
        if (!(await hasher.verify(stored, PASSWORD))) throw new Error('bare verification failed');
      };

      settings.log(`  warm-up (${settings.warmupSeconds} s each)`);
      await runFor(settings.warmupSeconds, signIn);
      await runFor(settings.warmupSeconds, bareHash);
      const rounds: { signIn: Round; bare: Round }[] = [];
      for (let i = 0; i < settings.rounds; i++) {
        // Alternate the order so drift in machine load falls on both.
        const first = i % 2 === 0 ? signIn : bareHash;
        const a = await runFor(settings.seconds, first);
        const b = await runFor(settings.seconds, first === signIn ? bareHash : signIn);
        const round = first === signIn ? { signIn: a, bare: b } : { signIn: b, bare: a };
        rounds.push(round);
        settings.log(
          `  round ${i + 1}/${settings.rounds}: sign-in ${(round.signIn.completed / round.signIn.seconds).toFixed(1)}/s p95 ${round.signIn.p95.toFixed(1)} ms; ` +
            `argon2id ${(round.bare.completed / round.bare.seconds).toFixed(1)}/s p95 ${round.bare.p95.toFixed(1)} ms`,
        );
      }
      const rate = (r: Round) => r.completed / r.seconds;
      const throughputRatios = rounds.map((r) => rate(r.signIn) / rate(r.bare));
      const p95Ratios = rounds.map((r) => r.signIn.p95 / r.bare.p95);
      const figures: Figure[] = [
        {
          subject: 'sign-in (HTTP)',
          metric: 'throughput',
          value: median(rounds.map((r) => rate(r.signIn))),
          unit: '/s',
        },
        { subject: 'sign-in (HTTP)', metric: 'p50', value: median(rounds.map((r) => r.signIn.p50)), unit: 'ms' },
        { subject: 'sign-in (HTTP)', metric: 'p95', value: median(rounds.map((r) => r.signIn.p95)), unit: 'ms' },
        {
          subject: 'argon2id verify',
          metric: 'throughput',
          value: median(rounds.map((r) => rate(r.bare))),
          unit: '/s',
        },
        { subject: 'argon2id verify', metric: 'p50', value: median(rounds.map((r) => r.bare.p50)), unit: 'ms' },
        { subject: 'argon2id verify', metric: 'p95', value: median(rounds.map((r) => r.bare.p95)), unit: 'ms' },
      ];
      const basis = (values: number[]) =>
        `median of ${values.length} paired rounds (min ${Math.min(...values).toFixed(2)}, max ${Math.max(...values).toFixed(2)})`;
      const ratios: Ratio[] = [
        {
          label: 'sign-in throughput / bare argon2id',
          value: median(throughputRatios),
          basis: basis(throughputRatios),
        },
        { label: 'sign-in p95 / bare argon2id p95', value: median(p95Ratios), basis: basis(p95Ratios) },
      ];
      const { memoryKiB, iterations, parallelism } = config.security.argon2;
      return {
        figures,
        ratios,
        notes: [
          `argon2id m=${memoryKiB} KiB, t=${iterations}, p=${parallelism} (the configured parameters); ${CONCURRENCY} concurrent callers for both.`,
          'Every sign-in is a known device on loopback (no geo lookup, no second factor): the common path.',
        ],
        details: { rounds, argon2: config.security.argon2, concurrency: CONCURRENCY },
      };
    } finally {
      await server.stop('benchmark finished');
      rmSync(dataDir, { recursive: true, force: true });
    }
  },
} satisfies Benchmark;
