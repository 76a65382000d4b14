/**
 * HTTP load with autocannon, and the interleaving that makes two targets
 * comparable on a noisy machine: warm every target up, then run short rounds
 * that alternate targets (ABBA order, so drift in machine load falls on both
 * sides), and judge by per-round paired ratios rather than by one long run.
 */
import autocannon from 'autocannon';
import type { BenchSettings } from './benchmark.ts';

/** Reads the server's CPU time so far, in microseconds. */
export type CpuProbe = () => Promise<number>;

export interface LoadTarget {
  /** Short key used in results, e.g. `bare`, `trpc`. */
  name: string;
  /** What a reader sees, e.g. `tRPC  GET /trpc/system.info`. */
  label: string;
  url: string;
  /** Sent with every request (autocannon adds only Host). */
  headers?: Record<string, string>;
}

export interface Latency {
  p50: number;
  p99: number;
  max: number;
}

export interface LoadRun {
  requests: number;
  requestsPerSecond: number;
  /** Milliseconds, exact (from each response's own timing, not autocannon's 1 ms histogram buckets). */
  latencyMs: Latency;
  non2xx: number;
  errors: number;
  timeouts: number;
  /** Server CPU time (user + system) per completed request, when a probe was given. */
  serverCpuMicrosPerRequest: number | null;
}

export interface RoundResult extends LoadRun {
  target: string;
  round: number;
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
}

/** One autocannon run of `seconds` against `url`. */
export async function runLoad(
  target: Pick<LoadTarget, 'url' | 'headers'>,
  seconds: number,
  settings: BenchSettings,
  cpu?: CpuProbe,
): Promise<LoadRun> {
  let times = new Float64Array(1 << 16);
  let count = 0;
  const before = cpu === undefined ? undefined : await cpu();
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon(
      {
        url: target.url,
        headers: target.headers ?? {},
        duration: seconds,
        connections: settings.connections,
        pipelining: settings.pipelining,
      },
      (error: unknown, res: autocannon.Result) =>
        error === null || error === undefined
          ? resolve(res)
          : reject(error instanceof Error ? error : new Error(`autocannon failed`, { cause: error })),
    );
    instance.on('response', (_client, statusCode, _bytes, responseTime) => {
      if (statusCode < 200 || statusCode >= 300) return;
      if (count === times.length) {
        const grown = new Float64Array(times.length * 2);
        grown.set(times);
        times = grown;
      }
      times[count++] = responseTime;
    });
  });
  const after = cpu === undefined ? undefined : await cpu();
  const sorted = times.subarray(0, count).sort();
  const completed = result.requests.total;
  return {
    requests: completed,
    requestsPerSecond: completed / result.duration,
    latencyMs: { p50: percentile(sorted, 50), p99: percentile(sorted, 99), max: sorted[count - 1] ?? Number.NaN },
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    serverCpuMicrosPerRequest:
      before === undefined || after === undefined || completed === 0 ? null : (after - before) / completed,
  };
}

/**
 * Warms up each target, then runs `settings.rounds` rounds over all targets,
 * reversing the order every other round. Throws if any request failed: a
 * fast error is not a result.
 */
export async function interleave(
  targets: LoadTarget[],
  settings: BenchSettings,
  cpu?: CpuProbe,
): Promise<RoundResult[]> {
  for (const target of targets) {
    settings.log(`  warm-up ${target.label} (${settings.warmupSeconds} s)`);
    await runLoad(target, settings.warmupSeconds, settings);
  }
  const rounds: RoundResult[] = [];
  for (let round = 0; round < settings.rounds; round++) {
    const order = round % 2 === 0 ? targets : [...targets].reverse();
    for (const target of order) {
      const run = await runLoad(target, settings.seconds, settings, cpu);
      if (run.non2xx > 0 || run.errors > 0) {
        throw new Error(
          `${target.label}: ${run.non2xx} non-2xx responses and ${run.errors} errors in round ${round + 1}`,
        );
      }
      settings.log(
        `  round ${round + 1}/${settings.rounds} ${target.label}: ${Math.round(run.requestsPerSecond)} req/s, p99 ${run.latencyMs.p99.toFixed(2)} ms` +
          (run.serverCpuMicrosPerRequest === null ? '' : `, ${run.serverCpuMicrosPerRequest.toFixed(0)} µs CPU/req`),
      );
      rounds.push({ target: target.name, round, ...run });
    }
  }
  return rounds;
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export interface PairedRatio {
  median: number;
  min: number;
  max: number;
  perRound: number[];
}

/** `metric(subject) / metric(baseline)` per round, summarised. */
export function pairedRatio(
  rounds: RoundResult[],
  subject: string,
  baseline: string,
  metric: (run: RoundResult) => number | null,
): PairedRatio {
  const perRound: number[] = [];
  for (const run of rounds.filter((r) => r.target === subject)) {
    const base = rounds.find((r) => r.target === baseline && r.round === run.round);
    const a = metric(run);
    const b = base === undefined ? null : metric(base);
    if (a !== null && b !== null && b !== 0) perRound.push(a / b);
  }
  return { median: median(perRound), min: Math.min(...perRound), max: Math.max(...perRound), perRound };
}
