/**
 * The shape every benchmark in bench/ shares, and the run settings they all
 * read. A benchmark is a top-level `bench/*.ts` file exporting `benchmark`;
 * bench/run.ts finds it, runs it and prints its figures and ratios.
 *
 * Figures are absolute numbers from this machine, this run: useful to read,
 * useless to compare across machines. Ratios compare a subject with a
 * baseline measured in the same process, same run, interleaved with it; they
 * are what a reader (or CI) should judge.
 */

export interface BenchSettings {
  /** Length of one measured round against one target, in seconds (BENCH_SECONDS). */
  seconds: number;
  /** Measured rounds per target; targets alternate within and across rounds (BENCH_ROUNDS). */
  rounds: number;
  /** Unmeasured load per target before the first round, in seconds (BENCH_WARMUP_SECONDS). */
  warmupSeconds: number;
  /** Concurrent HTTP connections (BENCH_CONNECTIONS). */
  connections: number;
  /** Requests in flight per connection (BENCH_PIPELINING); 1 is what browsers do. */
  pipelining: number;
  /** Progress lines for the person watching; results go in the report. */
  log: (line: string) => void;
}

/**
 * One measured number, e.g. `{ subject: 'tRPC', metric: 'throughput', value: 5120, unit: 'req/s' }`.
 * The summary prints one row per subject and one column per metric.
 */
export interface Figure {
  subject: string;
  metric: string;
  value: number;
  unit: string;
}

/** Subject over baseline; `goal` states which way is good and where the bar is. */
export interface Ratio {
  label: string;
  value: number;
  goal?: { atLeast: number } | { atMost: number };
  /** How the value was formed, e.g. 'median of 5 paired rounds (min 0.41, max 0.47)'. */
  basis?: string;
}

export interface BenchReport {
  figures: Figure[];
  ratios: Ratio[];
  /** Anything a reader needs to trust or interpret the figures (what was compared, caveats). */
  notes: string[];
  /** Everything else, written verbatim to bench/results/<name>.json. */
  details: unknown;
}

export interface Benchmark {
  /** File-like name: used on the command line and for bench/results/<name>.json. */
  name: string;
  /** One line: what is measured against what. */
  description: string;
  run(settings: BenchSettings): Promise<BenchReport>;
}

export function meetsGoal(ratio: Ratio): boolean | undefined {
  if (ratio.goal === undefined) return undefined;
  return 'atLeast' in ratio.goal ? ratio.value >= ratio.goal.atLeast : ratio.value <= ratio.goal.atMost;
}

function positiveNumber(env: NodeJS.ProcessEnv, name: string, fallback: number, integer: boolean): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0 || (integer && !Number.isInteger(value))) {
    throw new Error(`${name} must be a positive ${integer ? 'whole number' : 'number'}, got "${raw}"`);
  }
  return value;
}

/**
 * Defaults keep `npm run bench` under a minute on two cores; CI can shorten
 * it (e.g. BENCH_SECONDS=1 BENCH_ROUNDS=2 BENCH_WARMUP_SECONDS=1).
 */
export function settingsFromEnv(env: NodeJS.ProcessEnv, log: (line: string) => void): BenchSettings {
  return {
    seconds: positiveNumber(env, 'BENCH_SECONDS', 2.5, false),
    rounds: positiveNumber(env, 'BENCH_ROUNDS', 4, true),
    warmupSeconds: positiveNumber(env, 'BENCH_WARMUP_SECONDS', 1, false),
    connections: positiveNumber(env, 'BENCH_CONNECTIONS', 10, true),
    pipelining: positiveNumber(env, 'BENCH_PIPELINING', 1, true),
    log,
  };
}
