/**
 * `npm run verify` (after build/bootstrap.sh): every check the project has,
 * in order — lint, typecheck, build, unit + integration tests, end-to-end
 * tests in Chromium, benchmarks — then one closing line with the test counts.
 * Runs every step even after a failure, so one run shows everything broken.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..');
const results = join(root, 'test-results');
mkdirSync(results, { recursive: true });

interface Step {
  name: string;
  command: string[];
  /** Vitest JSON report to count tests from. */
  report?: string;
}

const vitest = (project: string): Step => ({
  name: project === 'unit' ? 'unit and integration tests' : 'end-to-end tests (Chromium)',
  command: [
    'npx',
    'vitest',
    'run',
    '--project',
    project,
    '--reporter=default',
    '--reporter=json',
    `--outputFile.json=${join(results, `${project}.json`)}`,
  ],
  report: join(results, `${project}.json`),
});

const steps: Step[] = [
  { name: 'lint', command: ['npm', 'run', '--silent', 'lint'] },
  { name: 'typecheck', command: ['npm', 'run', '--silent', 'typecheck'] },
  { name: 'build', command: ['npm', 'run', '--silent', 'build'] },
  vitest('unit'),
  vitest('e2e'),
  { name: 'benchmarks', command: ['npm', 'run', '--silent', 'bench'] },
];

interface VitestReport {
  numPassedTests: number;
  numFailedTests: number;
  numFailedTestSuites: number;
  numPendingTests: number;
  numTodoTests: number;
}

const only = new Set(process.argv.slice(2));
const outcomes: { name: string; ok: boolean; seconds: number }[] = [];
const counts = { passed: 0, failed: 0, skipped: 0 };

for (const step of steps) {
  if (only.size > 0 && !only.has(step.name.split(' ')[0]!)) continue;
  console.log(`\n━━ ${step.name} ━━ ${step.command.join(' ')}`);
  const started = performance.now();
  const run = spawnSync(step.command[0]!, step.command.slice(1), { cwd: root, stdio: 'inherit', env: process.env });
  const ok = run.status === 0;
  outcomes.push({ name: step.name, ok, seconds: (performance.now() - started) / 1000 });
  if (step.report !== undefined) {
    if (existsSync(step.report)) {
      const report = JSON.parse(readFileSync(step.report, 'utf8')) as VitestReport;
      counts.passed += report.numPassedTests;
      counts.failed += report.numFailedTests;
      // A suite that failed to load fails no test by name; it must still count as a failure.
      if (!ok && report.numFailedTests === 0) counts.failed += Math.max(1, report.numFailedTestSuites);
      counts.skipped += report.numPendingTests + report.numTodoTests;
    } else if (!ok) {
      counts.failed += 1; // the runner itself failed before reporting
    }
  }
}

console.log('\n━━ summary ━━');
for (const o of outcomes) console.log(`${o.ok ? 'ok  ' : 'FAIL'}  ${o.name.padEnd(32)} ${o.seconds.toFixed(1)} s`);
const failedSteps = outcomes.filter((o) => !o.ok).map((o) => o.name);
if (failedSteps.length > 0) console.log(`failed steps: ${failedSteps.join(', ')}`);
console.log(`tests: ${counts.passed} passed, ${counts.failed} failed, ${counts.skipped} skipped`);
process.exitCode = failedSteps.length > 0 ? 1 : 0;
