#!/usr/bin/env node
/**
 * `npm run bench:outbox`: the durable outbox in real Chromium, against a
 * naive baseline measured in the same run (issue 3):
 *
 *   1. enqueue to durable: `channel.send()` from the call to its promise
 *      resolving (the strict-durability IndexedDB write committed), one at a
 *      time and as a burst;
 *   2. flush after reconnect: N sends queued while disconnected, then
 *      `socket.connect()`, timed until all N are acknowledged (and until the
 *      outbox is empty on disk).
 *
 * Bundles `bench/outbox/page.ts` with esbuild, serves it from an in-process
 * PlumeServer (`staticDir`, same origin as the socket, loopback only), and
 * drives Chromium with Playwright in a persistent context whose profile is a
 * temporary directory on disk (an incognito context keeps IndexedDB in
 * memory, which hides the cost of strict durability; `--incognito` measures
 * that instead). Then repeats the flush in a Chromium with no DevTools
 * client attached, as a cross-check (see `crosscheck`). Prints a table and
 * writes bench/results/outbox-latest.json. With `--redis` the server runs on
 * the Redis engine, on a redis-server of the run's own, and the results go to
 * bench/results/outbox-redis-latest.json.
 */
import { build } from 'esbuild';
import { chromium } from '@playwright/test';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release, tmpdir, type } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { startRedis } from '../lib/redis.mjs';
import { locateChromium } from '../../scripts/lib/browser.mjs';
import { ROOT, installCleanup, killGroup, start } from '../../scripts/lib/proc.mjs';
import { render, summarize, targets } from './report.mjs';

const HELP = `Usage: npm run bench:outbox -- [options]

  --count <n>       messages per measurement (default 1000)
  --runs <n>        runs of every measurement, baseline and Plume alternating first (default 3)
  --incognito       IndexedDB in an incognito context (in memory) instead of an on-disk profile
  --no-crosscheck   skip the flush cross-check in a Chromium with no DevTools client attached
  --redis           the server on the Redis engine (its own redis-server), results in outbox-redis-latest.json
  -h, --help        show this help`;

const ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const DEADLINE_MS = 180_000;
const RESULTS = join(ROOT, 'bench', 'results', 'outbox-latest.json');

function options() {
  const { values } = parseArgs({
    options: { count: { type: 'string' }, runs: { type: 'string' }, incognito: { type: 'boolean' }, 'no-crosscheck': { type: 'boolean' }, redis: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
  });
  if (values.help) {
    console.log(HELP);
    process.exit(0);
  }
  const count = Number(values.count ?? 1000);
  const runs = Number(values.runs ?? 3);
  if (!(Number.isInteger(count) && count > 0)) throw new Error(`--count must be a positive integer, got ${values.count}`);
  if (!(Number.isInteger(runs) && runs > 0)) throw new Error(`--runs must be a positive integer, got ${values.runs}`);
  const incognito = Boolean(values.incognito);
  const storage = incognito ? 'incognito context (IndexedDB in memory)' : 'on-disk Chromium profile';
  return { count, runs, warmup: 20, incognito, crosscheck: !values['no-crosscheck'], storage, engine: values.redis ? 'redis' : 'memory' };
}

/** Bundles the page and the server into `dir`; returns the static folder and the server module. */
async function bundle(dir) {
  const www = join(dir, 'www');
  mkdirSync(www, { recursive: true });
  await build({ entryPoints: [join(ROOT, 'bench', 'outbox', 'page.ts')], outfile: join(www, 'bench.js'), bundle: true, format: 'esm', platform: 'browser', target: 'es2022', logLevel: 'error' });
  writeFileSync(join(www, 'index.html'), '<!doctype html><meta charset="utf-8"><title>plume outbox bench</title><script type="module" src="/bench.js"></script>\n');
  // Under node_modules/.cache so that the server bundle's external packages (ws, sirv) resolve.
  const serverFile = join(dir, 'server.mjs');
  await build({ entryPoints: [join(ROOT, 'server', 'index.ts')], outfile: serverFile, bundle: true, format: 'esm', platform: 'node', target: 'node20', packages: 'external', logLevel: 'error' });
  return { www, server: await import(pathToFileURL(serverFile).href) };
}

/** An in-process server for the page, whose `bench:results` channel collects the cross-check's results. */
async function serve(serverModule, www, redisUrl) {
  const engine = redisUrl ? serverModule.redisEngine({ url: redisUrl }) : undefined;
  const server = new serverModule.PlumeServer({ logger: false, staticDir: www, engine });
  const received = [];
  server.channel('bench:results', {
    join: () => serverModule.ok(),
    handleIn: (_event, payload) => {
      received.push(payload);
      return serverModule.ok();
    },
  });
  const { port } = await server.listen(0, '127.0.0.1');
  return { server, received, url: `http://127.0.0.1:${port}/` };
}

/** Opens a fresh page on the bench, runs `fn(params)` in it, closes it. */
async function measure(context, url, fn, params) {
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (error) => errors.push(error));
  try {
    await page.goto(url);
    await page.waitForFunction(() => window.outboxBench?.ready === true);
    return await page.evaluate(([name, p]) => window.outboxBench[name](p), [fn, params]);
  } finally {
    await page.close();
    if (errors.length) console.warn(`[bench:outbox] page errors during ${fn} ${params.impl}:`, errors.map(String).join('\n'));
  }
}

/** Both orders across runs, so neither implementation always runs first. */
const orderOf = (run) => (run % 2 === 0 ? ['baseline', 'plume'] : ['plume', 'baseline']);
let nameCounter = 0;
/** A fresh storage name (and topic suffix) per measurement: no state carries over. */
const freshName = (impl, what, run) => `b${process.pid}-${run}-${what}-${impl}-${++nameCounter}`;

/** Every Playwright-driven measurement, `config.runs` times. */
async function playwrightRuns(context, url, config) {
  const raw = { enqueue: { sequential: { plume: [], baseline: [] }, burst: { plume: [], baseline: [] } }, flush: { plume: [], baseline: [] } };
  for (let run = 0; run < config.runs; run++) {
    for (const mode of ['sequential', 'burst']) {
      for (const impl of orderOf(run)) {
        raw.enqueue[mode][impl].push(await measure(context, url, 'enqueue', { impl, mode, count: config.count, warmup: config.warmup, name: freshName(impl, mode, run) }));
      }
    }
    for (const impl of orderOf(run)) {
      const name = freshName(impl, 'flush', run);
      raw.flush[impl].push(await measure(context, url, 'flush', { impl, count: config.count, name, topic: `room:${name}` }));
    }
    console.log(`[bench:outbox] run ${run + 1}/${config.runs} done`);
  }
  return raw;
}

/**
 * The flush cross-check: the same page code in a Chromium started with no
 * DevTools client. Playwright enables the Network domain on every page, so
 * each WebSocket frame also becomes a protocol event serialized by the
 * browser and parsed by this process; with three frames per message on two
 * cores that is a visible share of the flush. The page runs the plan by
 * itself and pushes each result on the `bench:results` channel (page.ts).
 */
async function crosscheck({ chromiumPath, url, config, profile, received, timeoutMs = 90_000 }) {
  const plan = [];
  for (let run = 0; run < config.runs; run++) {
    for (const impl of orderOf(run)) {
      const name = freshName(impl, 'crosscheck', run);
      plan.push({ impl, count: config.count, name, topic: `room:${name}` });
    }
  }
  const child = start(chromiumPath, [...ARGS, '--headless', `--user-data-dir=${profile}`, `${url}?plan=${encodeURIComponent(JSON.stringify(plan))}`], { stdout: 'ignore', stderr: 'ignore' });
  try {
    const deadline = Date.now() + timeoutMs;
    while (received.length < plan.length) {
      if (Date.now() > deadline) throw new Error(`cross-check: ${received.length}/${plan.length} results after ${timeoutMs / 1000} s`);
      if (child.exitCode !== null) throw new Error(`cross-check: Chromium exited with ${child.exitCode}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  } finally {
    killGroup(child, 'SIGKILL');
  }
  const failed = received.find((r) => r.error);
  if (failed) throw new Error(`cross-check: run ${failed.index} failed: ${failed.error}`);
  const byImpl = { plume: [], baseline: [] };
  for (const { index, result } of received) byImpl[plan[index].impl].push(result);
  console.log('[bench:outbox] cross-check without DevTools done');
  return byImpl;
}

function machine(product, loadBefore) {
  return {
    cpu: cpus()[0]?.model.trim() ?? 'unknown',
    cores: cpus().length,
    os: `${type()} ${release()}`,
    node: process.version,
    browser: product.replace(/^(Headless)?Chrome\//, 'Chromium '),
    playwright: JSON.parse(readFileSync(join(ROOT, 'node_modules', '@playwright', 'test', 'package.json'), 'utf8')).version,
    loadAverage: { before: loadBefore, after: loadavg()[0] },
  };
}

async function main() {
  const config = options();
  const startedAt = new Date();
  const chromiumPath = locateChromium()?.path;
  if (!chromiumPath) throw new Error('No Chromium found: apt-get install -y chromium, or set CHROMIUM_PATH');
  const work = join(ROOT, 'node_modules', '.cache', 'plume', `bench-outbox-${process.pid}`);
  // Chromium profiles on disk (strict durability then costs what it costs a user); removed at the end.
  const scratch = mkdtempSync(join(tmpdir(), 'plume-outbox-'));
  const removeDirs = () => {
    rmSync(work, { recursive: true, force: true });
    rmSync(scratch, { recursive: true, force: true });
  };
  // Ctrl-C: the cross-check's Chromium is stopped by proc.mjs, Playwright stops its own.
  installCleanup({ onSignal: removeDirs });
  const cleanups = [removeDirs];
  const watchdog = setTimeout(() => {
    console.error(`[bench:outbox] still running after ${DEADLINE_MS / 1000} s: giving up`);
    removeDirs();
    process.exit(1);
  }, DEADLINE_MS);
  try {
    console.log(`[bench:outbox] ${config.count} messages × ${config.runs} runs, ${config.engine} engine, Chromium ${chromiumPath}`);
    const { www, server: serverModule } = await bundle(work);
    let redisUrl;
    if (config.engine === 'redis') {
      const redis = await startRedis();
      cleanups.push(() => redis.stop());
      redisUrl = redis.url;
    }
    const { server, received, url } = await serve(serverModule, www, redisUrl);
    cleanups.push(() => server.close());
    const launch = { executablePath: chromiumPath, headless: true, args: ARGS };
    let context;
    if (config.incognito) {
      const browser = await chromium.launch(launch);
      cleanups.push(() => browser.close());
      context = await browser.newContext();
    } else {
      context = await chromium.launchPersistentContext(join(scratch, 'playwright'), launch);
      cleanups.push(() => context.close());
    }
    const probe = await context.newPage();
    const { product } = await (await context.newCDPSession(probe)).send('Browser.getVersion');
    await probe.close();
    const loadBefore = loadavg()[0];

    const raw = await playwrightRuns(context, url, config);
    if (config.crosscheck) raw.crosscheck = await crosscheck({ chromiumPath, url, config, profile: join(scratch, 'crosscheck'), received });

    const summary = summarize(raw, config.count);
    const results = {
      startedAt: startedAt.toISOString(),
      durationSec: (Date.now() - startedAt.getTime()) / 1000,
      machine: machine(product, loadBefore),
      config,
      summary,
      targets: targets(summary, config.count),
      // Per-message enqueue latencies are summarized above; the raw runs keep their totals.
      raw: {
        enqueue: Object.fromEntries(Object.entries(raw.enqueue).map(([mode, byImpl]) => [mode, Object.fromEntries(Object.entries(byImpl).map(([impl, runs]) => [impl, runs.map((r) => ({ totalMs: r.totalMs }))]))])),
        flush: raw.flush,
        crosscheck: raw.crosscheck,
      },
    };
    console.log(`\n${render(results)}\n`);
    mkdirSync(join(ROOT, 'bench', 'results'), { recursive: true });
    const file = config.engine === 'redis' ? RESULTS.replace('outbox-latest', 'outbox-redis-latest') : RESULTS;
    writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
    console.log(`wrote ${file.slice(ROOT.length + 1)}`);
  } finally {
    clearTimeout(watchdog);
    for (const cleanup of cleanups.reverse()) await cleanup();
  }
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
