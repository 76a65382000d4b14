/**
 * `npm run bench` (`node bench/run.ts [name …]`): runs every benchmark in
 * bench/ — each top-level `bench/*.ts` file other than this one, exporting
 * `benchmark` (see lib/benchmark.ts) — or only those named, prints their
 * figures and ratios, and writes bench/results/<name>.json.
 *
 * Settings come from the environment (BENCH_SECONDS, BENCH_ROUNDS,
 * BENCH_WARMUP_SECONDS, BENCH_CONNECTIONS, BENCH_PIPELINING); see
 * bench/README.md. Exits 1 if a benchmark failed; a missed goal is reported,
 * not failed, because one noisy run is not a verdict.
 */
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { basename, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { meetsGoal, settingsFromEnv, type Benchmark, type BenchReport } from './lib/benchmark.ts';

const benchDir = import.meta.dirname;
const resultsDir = join(benchDir, 'results');

function isBenchmark(value: unknown): value is Benchmark {
  if (typeof value !== 'object' || value === null) return false;
  const candidate = value as Partial<Benchmark>;
  return (
    typeof candidate.name === 'string' &&
    typeof candidate.description === 'string' &&
    typeof candidate.run === 'function'
  );
}

async function discover(): Promise<Benchmark[]> {
  const files = readdirSync(benchDir)
    .filter(
      (file) => file.endsWith('.ts') && !file.endsWith('.d.ts') && !file.endsWith('.test.ts') && file !== 'run.ts',
    )
    .sort();
  const found: Benchmark[] = [];
  for (const file of files) {
    const module = (await import(pathToFileURL(join(benchDir, file)).href)) as { benchmark?: unknown };
    if (!isBenchmark(module.benchmark)) {
      throw new Error(`bench/${file} does not export \`benchmark\` (see bench/lib/benchmark.ts)`);
    }
    if (module.benchmark.name !== basename(file, '.ts')) {
      throw new Error(`bench/${file} exports a benchmark named "${module.benchmark.name}": name it after its file`);
    }
    found.push(module.benchmark);
  }
  return found;
}

function formatNumber(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  if (Math.abs(value) >= 100) return Math.round(value).toLocaleString('en-US');
  if (Math.abs(value) >= 10) return value.toFixed(1);
  return value.toFixed(2);
}

function table(rows: string[][]): string {
  const widths = rows[0]?.map((_, column) => Math.max(...rows.map((row) => row[column]?.length ?? 0))) ?? [];
  return rows
    .map((row, index) => {
      const line = row.map((cell, column) =>
        column === 0 ? cell.padEnd(widths[column]!) : cell.padStart(widths[column]!),
      );
      const text = `  ${line.join('  ')}`.trimEnd();
      return index === 0 ? `${text}\n  ${widths.map((w) => '-'.repeat(w)).join('  ')}` : text;
    })
    .join('\n');
}

function printReport(name: string, report: BenchReport): void {
  console.log(`\n${name}`);
  // One row per subject, one column per metric, in the order the benchmark reported them.
  const columns = [...new Map(report.figures.map((f) => [`${f.metric} (${f.unit})`, f])).keys()];
  const subjects = [...new Set(report.figures.map((f) => f.subject))];
  const cell = (subject: string, column: string): string => {
    const figure = report.figures.find((f) => f.subject === subject && `${f.metric} (${f.unit})` === column);
    return figure === undefined ? '' : formatNumber(figure.value);
  };
  console.log(
    table([['', ...columns], ...subjects.map((subject) => [subject, ...columns.map((c) => cell(subject, c))])]),
  );
  if (report.ratios.length > 0) {
    console.log();
    console.log(
      table([
        ['ratio', 'value', 'goal', ''],
        ...report.ratios.map((r) => {
          const met = meetsGoal(r);
          const goal = r.goal === undefined ? '' : 'atLeast' in r.goal ? `≥ ${r.goal.atLeast}` : `≤ ${r.goal.atMost}`;
          return [r.label, r.value.toFixed(2), goal, met === undefined ? '' : met ? 'met' : 'MISSED'];
        }),
      ]),
    );
    for (const r of report.ratios) if (r.basis !== undefined) console.log(`    ${r.label}: ${r.basis}`);
  }
  for (const note of report.notes) console.log(`  · ${note}`);
}

async function main(argv: string[]): Promise<number> {
  const log = (line: string): void => console.error(line);
  const settings = settingsFromEnv(process.env, log);
  const all = await discover();
  const unknown = argv.filter((name) => !all.some((b) => b.name === name));
  if (unknown.length > 0) {
    console.error(`unknown benchmark(s): ${unknown.join(', ')}; available: ${all.map((b) => b.name).join(', ')}`);
    return 2;
  }
  const chosen = argv.length === 0 ? all : all.filter((b) => argv.includes(b.name));
  const { log: _log, ...shownSettings } = settings;
  const machine = {
    node: process.version,
    platform: process.platform,
    arch: process.arch,
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? 'unknown',
  };
  console.error(
    `MegiLance benchmarks on ${machine.cpus} × ${machine.cpuModel}, Node ${machine.node}; ${JSON.stringify(shownSettings)}`,
  );
  mkdirSync(resultsDir, { recursive: true });

  let failed = 0;
  const summaries: { name: string; report: BenchReport }[] = [];
  for (const bench of chosen) {
    console.error(`\n▶ ${bench.name}: ${bench.description}`);
    const startedAt = new Date();
    const loadBefore = loadavg();
    try {
      const report = await bench.run(settings);
      const seconds = (Date.now() - startedAt.getTime()) / 1000;
      const file = join(resultsDir, `${bench.name}.json`);
      const record = {
        name: bench.name,
        description: bench.description,
        startedAt: startedAt.toISOString(),
        seconds,
        settings: shownSettings,
        // Load average before and after: a busy machine explains a bad run.
        machine: { ...machine, loadavgBefore: loadBefore, loadavgAfter: loadavg() },
        ...report,
      };
      writeFileSync(file, `${JSON.stringify(record, null, 2)}\n`);
      console.error(`  done in ${seconds.toFixed(1)} s → ${file}`);
      summaries.push({ name: bench.name, report });
    } catch (error) {
      failed++;
      console.error(`  FAILED: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    }
  }

  console.log('\n=== Summary (ratios are within one run; figures are this machine only) ===');
  for (const { name, report } of summaries) printReport(name, report);
  if (failed > 0) console.log(`\n${failed} benchmark(s) failed; see above.`);
  return failed > 0 ? 1 : 0;
}

process.exitCode = await main(process.argv.slice(2));
