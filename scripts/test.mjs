#!/usr/bin/env node
/**
 * `npm test`: everything CI checks, in order, stopping at the first failure:
 * dependencies (and redis-server) -> typecheck (tsc) -> unit + integration (vitest) -> consumer
 * (scripts/consumer.mjs: the packed package installed in a fresh app outside the repo; skipped when
 * filtering) -> e2e (scripts/e2e.mjs: Playwright in real Chromium, dev and prod builds).
 *
 * Prints a header per step and one summary line with per-step timing.
 * Every child runs in its own process group and none outlives this script.
 */
import { parseArgs } from 'node:util';
import { ensureDeps } from './lib/deps.mjs';
import { findRedis } from './lib/redis.mjs';
import { installCleanup, isStopping, run } from './lib/proc.mjs';
import { e2e } from './e2e.mjs';
import { consumer } from './consumer.mjs';

/** How long the vitest step may run before it counts as hung (it takes one to two minutes on two cores). */
const VITEST_LIMIT_MS = 15 * 60_000;

const HELP = `Usage: npm test -- [options] [filter...]

  filter...              only test files matching these (passed to vitest and Playwright)
  -g, --grep <pattern>   only tests whose name matches (vitest -t, Playwright --grep)
  --skip-e2e             skip the Playwright step (refused when CI=true)
  -h, --help             show this help

For everything else run a step directly:
  npm run typecheck | npm run test:unit -- <vitest args> | npm run test:e2e -- <playwright args>`;

const node = process.execPath;
const results = [];
let current = null;
const startedAt = performance.now();

function parse() {
  try {
    return parseArgs({
      allowPositionals: true,
      options: {
        grep: { type: 'string', short: 'g' },
        'skip-e2e': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (err) {
    console.error(`[test] ${err.message}\n\n${HELP}`);
    process.exit(2);
  }
}

function seconds(ms) {
  return `${(ms / 1000).toFixed(1)}s`;
}

function summary(verdict) {
  const steps = results.map((r) => `${r.name} ${r.status === 'skipped' ? 'skipped' : seconds(r.ms)}${r.status === 'failed' ? ' (FAILED)' : ''}`);
  console.log(`\n[test] ${verdict}  ${steps.join(' | ')}  total ${seconds(performance.now() - startedAt)}`);
}

async function step(index, total, name, detail, body) {
  console.log(`\n==> [${index}/${total}] ${name}: ${detail}`);
  current = name;
  const t0 = performance.now();
  let code;
  try {
    code = await body();
  } catch (err) {
    console.error(`[test] ${name}: ${err.message}`);
    code = 1;
  }
  if (!isStopping()) results.push({ name, ms: performance.now() - t0, status: code === 0 ? 'passed' : 'failed' });
  return code;
}

async function main() {
  const { values, positionals: filters } = parse();
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  const ci = process.env.CI === 'true';
  if (values['skip-e2e'] && ci) {
    console.error('[test] --skip-e2e is not allowed when CI=true: CI always runs the end-to-end tests.');
    return 2;
  }
  const filtered = filters.length > 0 || values.grep !== undefined;
  const vitestArgs = [...filters, ...(values.grep !== undefined ? ['-t', values.grep] : []), ...(filtered ? ['--passWithNoTests'] : [])];
  const playwrightArgs = [...filters, ...(values.grep !== undefined ? ['--grep', values.grep] : []), ...(filtered ? ['--pass-with-no-tests'] : [])];

  const steps = [
    ['deps', 'npm ci if node_modules is missing or stale; redis-server for the Redis engine tests', async () => {
      await ensureDeps();
      // vitest's global setup starts its own redis-server on a free port with this binary.
      process.env.REDIS_SERVER_PATH = await findRedis({ install: true });
      console.log(`[test] redis-server: ${process.env.REDIS_SERVER_PATH}`);
      return 0;
    }],
    ['typecheck', 'tsc --noEmit -p .', () => run(node, ['node_modules/typescript/bin/tsc', '--noEmit', '-p', '.'])],
    // About a minute here; a worker blocked in native code is beyond vitest's own test timeouts.
    ['vitest', `vitest run ${vitestArgs.join(' ')}`.trim(), () => run(node, ['node_modules/vitest/vitest.mjs', 'run', ...vitestArgs], { timeoutMs: VITEST_LIMIT_MS })],
    // Under a minute here: pack, install in a temporary app, vite build, tsc against the types, chat in Chromium, npx plume serve.
    ['consumer', 'scripts/consumer.mjs: npm pack, install in a fresh app, build, type-check, chat, npx plume serve', () => consumer()],
    ['e2e', `scripts/e2e.mjs ${playwrightArgs.join(' ')}`.trim(), () => e2e(playwrightArgs)],
  ];
  for (const [i, [name, detail, body]] of steps.entries()) {
    if (name === 'consumer' && filtered) {
      console.log(`\n==> [${i + 1}/${steps.length}] consumer: skipped (a filter was given)`);
      results.push({ name, ms: 0, status: 'skipped' });
      continue;
    }
    if (name === 'e2e' && values['skip-e2e']) {
      console.log(`\n==> [${i + 1}/${steps.length}] e2e: skipped (--skip-e2e)`);
      results.push({ name, ms: 0, status: 'skipped' });
      continue;
    }
    const code = await step(i + 1, steps.length, name, detail, body);
    if (isStopping()) return null; // interrupted: the signal handler reports and exits
    if (code !== 0) {
      summary(`FAIL at ${name} (exit ${code})`);
      return code;
    }
  }
  summary('PASS');
  return 0;
}

installCleanup({
  onSignal: (signal) => {
    summary(`INTERRUPTED (${signal}${current ? ` during ${current}` : ''})`);
    return undefined; // the default: 128 + signal number
  },
});
main().then(
  (code) => code !== null && process.exit(code),
  (err) => {
    console.error(`[test] ${err.stack ?? err}`);
    process.exit(1);
  },
);
