#!/usr/bin/env node
/**
 * `npm run bench:mesh`: peer-assisted fan-out (issue 6), in one run:
 *
 *   1. Node members (@roamhq/wrtc + simple-peer via `mesh({ wrtc })`), rooms
 *      of 8, 16 and 32, mesh on vs off: server egress per broadcast (the
 *      server's own byte counter), delivery latency p50/p99, and loss and
 *      duplicates per receiver;
 *   2. the same with Chromium pages (one browser, a context each), the page
 *      bundled from src/ with esbuild and served by the Plume server;
 *   3. broadcasts/s the server sustains with every broadcast batch-signed
 *      vs with `mesh: false`, on the fan-out harness of `npm run bench`.
 *
 * Parts 1 and 2 run the Plume server in this process (fresh per run, port
 * 0, loopback) and broadcast with `server.broadcast` at a paced rate once
 * the mesh has settled. Part 3 starts the server as a child pinned to core
 * 0 and pins this process to core 1, as `npm run bench` does. Prints a
 * table with ratios and writes bench/results/mesh-latest.json. See
 * bench/mesh/README.md for the method.
 */
import { chromium } from '@playwright/test';
import { spawnSync } from 'node:child_process';
import { build } from 'esbuild';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release, type } from 'node:os';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { locateChromium } from '../../scripts/lib/browser.mjs';
import { ROOT, installCleanup } from '../../scripts/lib/proc.mjs';
import { sleep } from '../lib/load.mjs';
import { render, summarizeMembers, targets } from './report.mjs';
import { browserRoom, nodeRoom } from './rooms.mjs';
import { SIGNING_SCENARIOS, SIGNING_VARIANTS, signingPart } from './signing.mjs';

const HELP = `Usage: npm run bench:mesh -- [options]

  --only <list>        comma-separated subset of: nodes,browser,signing (default: all)
  --sizes <list>       Node room sizes (default 8,16,32)
  --pages <n>          Chromium pages in the browser part (default 6)
  --rate <n>           broadcasts per second in parts 1 and 2 (default 25)
  --measured <n>       measured broadcasts per run, after --warmup ones (default 100)
  --warmup <n>         warm-up broadcasts per run, checked for loss but not timed (default 20)
  --peer-procs <n>     processes the Node members are spread over (default 4, more where the open-files limit
                       would not hold 4,000 per member: 7 for 32 members under a limit of 20,000)
  --signing-warmup <ms> part 3's warm-up before its measured window (default 1000; 10000 measures with full histories)
  --raw                also write every member's arrivals to the JSON (to look into a latency tail)
  --quick              smaller everything: a smoke run
  -h, --help           show this help`;

const ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-features=WebRtcHideLocalIpsWithMdns'];
const TOPIC = 'room:bench';
const RESULTS = join(ROOT, 'bench', 'results', 'mesh-latest.json');
/** How long the mesh may take to settle before a run goes ahead anyway (and says so). */
const SETTLE_MS = 25_000;
/** How long after the last broadcast every member must have had every message. */
const DRAIN_MS = 8_000;

function options() {
  const { values } = parseArgs({
    options: {
      only: { type: 'string' },
      sizes: { type: 'string' },
      pages: { type: 'string' },
      rate: { type: 'string' },
      measured: { type: 'string' },
      warmup: { type: 'string' },
      'peer-procs': { type: 'string' },
      'signing-warmup': { type: 'string' },
      quick: { type: 'boolean' },
      raw: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(HELP);
    process.exit(0);
  }
  const only = new Set((values.only ?? 'nodes,browser,signing').split(',').map((s) => s.trim()));
  for (const part of only) if (!['nodes', 'browser', 'signing'].includes(part)) throw new Error(`--only: unknown part "${part}"`);
  const quick = Boolean(values.quick);
  const int = (name, value, fallback) => {
    const n = Number(value ?? fallback);
    if (!(Number.isInteger(n) && n > 0)) throw new Error(`--${name} must be a positive integer, got ${value}`);
    return n;
  };
  const sizes = (values.sizes ?? (quick ? '8' : '8,16,32')).split(',').map((s) => int('sizes', s.trim()));
  return {
    only,
    sizes,
    pages: int('pages', values.pages, quick ? 4 : 6),
    rate: int('rate', values.rate, 25),
    measured: int('measured', values.measured, quick ? 40 : 100),
    warmup: int('warmup', values.warmup, quick ? 10 : 20),
    peerProcesses: int('peer-procs', values['peer-procs'], defaultPeerProcesses(Math.max(...sizes))),
    payloadBytes: 1024,
    raw: Boolean(values.raw),
    signing: { warmupMs: int('signing-warmup', values['signing-warmup'], quick ? 500 : 1000), measureMs: quick ? 1000 : 2000, window: 20_000, repeats: quick ? 1 : 5 },
  };
}

/** Bundles the server (for this process), the Node member host, the signing-cost server and the page. */
async function bundle(dir) {
  const www = join(dir, 'www');
  mkdirSync(www, { recursive: true });
  const node = (entry, outfile) => build({ entryPoints: [entry], outfile, bundle: true, format: 'esm', platform: 'node', target: 'node20', packages: 'external', logLevel: 'error' });
  const files = { server: join(dir, 'server.mjs'), peers: join(dir, 'peers.mjs'), signing: join(dir, 'signing-server.mjs'), www };
  await Promise.all([
    node(join(ROOT, 'server', 'index.ts'), files.server),
    node(join(ROOT, 'bench', 'mesh', 'peers.ts'), files.peers),
    node(join(ROOT, 'bench', 'servers', 'plume.ts'), files.signing),
    build({ entryPoints: [join(ROOT, 'bench', 'mesh', 'page.ts')], outfile: join(www, 'bench.js'), bundle: true, format: 'esm', platform: 'browser', target: 'es2022', logLevel: 'error' }),
  ]);
  writeFileSync(join(www, 'index.html'), '<!doctype html><meta charset="utf-8"><title>plume mesh bench</title><script type="module" src="/bench.js"></script>\n');
  return files;
}

/** A fresh in-process server: `room:*` accepts any join, `bench:clock` answers with the server's clock. */
async function serve(mod, { mesh, www }) {
  const server = new mod.PlumeServer({ logger: false, relay: false, mesh, staticDir: www });
  server.channel('room:*', { join: () => mod.ok() });
  server.channel('bench:clock', { join: () => mod.ok(), handleIn: () => mod.ok({ t: performance.timeOrigin + performance.now() }) });
  const { port } = await server.listen(0, '127.0.0.1');
  return { server, url: `http://127.0.0.1:${port}` };
}

/** The payload of broadcast `n`, stamped `t`: JSON of `bytes` bytes. */
function payload(n, t, bytes) {
  const head = JSON.stringify({ t, n, p: '' }).length;
  return { t, n, p: 'x'.repeat(Math.max(0, bytes - head)) };
}

/** Broadcasts `n = from .. from + count - 1` at `rate` per second, each stamped by `clock()` when it is sent. */
async function paced(server, { from, count, rate, bytes, clock }) {
  const begin = performance.now();
  for (let i = 0; i < count; i++) {
    const due = begin + (i * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 0) await sleep(wait);
    const t = clock();
    server.broadcast(TOPIC, 'msg', payload(from + i, t, bytes));
  }
}

/** Polls `check()` every 50 ms until it returns true or `ms` pass; returns whether it did. */
async function poll(check, ms) {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    if (await check()) return true;
    await sleep(50);
  }
  return false;
}

/**
 * Waits until the mesh has settled: every link the members hold is up, at
 * least half the members are reached through peers, and neither has
 * changed for 800 ms. Returns the last stats and whether it settled.
 */
async function settle(statsOf, members) {
  let last = null;
  let since = 0;
  let current = null;
  const settled = await poll(async () => {
    current = await statsOf();
    const key = `${current.relayed}/${current.linksUp}/${current.links}`;
    if (key !== last) {
      last = key;
      since = performance.now();
    }
    const ready = current.links > 0 && current.linksUp === current.links && current.relayed >= Math.ceil(members / 2);
    return ready && performance.now() - since >= 800;
  }, SETTLE_MS);
  return { settled, stats: current };
}

/**
 * One measured run against a fresh server: members join (`join`), the mesh
 * settles (when on), warm-up broadcasts, then the measured ones; egress is
 * the server's byte counter over the measured broadcasts and until their
 * last head announcement has gone.
 */
async function measureRoom(mod, config, { mesh, www, members, clock, join: joinAll, label }) {
  const { server, url } = await serve(mod, { mesh, www });
  const room = await joinAll(url);
  try {
    let relayedMembers = 0;
    let settled = true;
    if (mesh) {
      const s = await settle(room.stats, members);
      relayedMembers = s.stats.relayed;
      settled = s.settled;
      if (!settled) console.log(`[bench:mesh] ${label}: the mesh had not settled after ${SETTLE_MS / 1000} s (${JSON.stringify(s.stats)}); measuring anyway`);
    }
    const { warmup, measured, rate, payloadBytes: bytes } = config;
    const total = warmup + measured;
    const everyone = (upTo) => async () => (await room.progress()).every((n) => n >= upTo);
    await paced(server, { from: 1, count: warmup, rate, bytes, clock });
    await poll(everyone(warmup), DRAIN_MS);
    const before = { ...server.counters, signatures: server.stats().mesh?.signatures ?? 0 };
    await paced(server, { from: warmup + 1, count: measured, rate, bytes, clock });
    const complete = await poll(everyone(total), DRAIN_MS);
    await sleep(300); // the last head announcement (every 200 ms) belongs to these broadcasts
    const after = { ...server.counters, signatures: server.stats().mesh?.signatures ?? 0 };
    const relayedAtEnd = mesh ? (await room.stats()).relayed : 0;
    const reports = await room.report();
    const summary = summarizeMembers(reports, { total, warmup });
    const run = {
      members,
      mesh,
      settled,
      relayedMembers,
      relayedMembersAtEnd: relayedAtEnd,
      ...(room.peakFiles ? { peakOpenFilesPerProcess: room.peakFiles() } : {}),
      broadcasts: total,
      complete,
      egressPerBroadcast: (after.bytes - before.bytes) / measured,
      framesPerBroadcast: (after.frames - before.frames) / measured,
      signaturesPerBroadcast: (after.signatures - before.signatures) / measured,
      summary,
      // With --raw: every member's arrivals ([n, latency ms] pairs) and counters, to look into a tail.
      ...(config.raw ? { raw: reports.map(({ name, arrivals, repairs, mesh: m }) => ({ name, arrivals: arrivals.map((v) => Math.round(v * 100) / 100), repairs, mesh: m })) } : {}),
    };
    console.log(`[bench:mesh] ${label}: ${Math.round(run.egressPerBroadcast)} B/broadcast, p50 ${summary.p50.toFixed(2)} ms, p99 ${summary.p99.toFixed(2)} ms, ${summary.lost} lost, ${summary.duplicated} duplicated${mesh ? `, ${relayedMembers}/${members} relayed` : ''}`);
    return run;
  } finally {
    await room.close();
    await server.close();
  }
}

/** The soft limit on open files, as a shell started by this process sees it. */
/** Files one members' process may hold while its peers connect (seen: 14,428 for 8 members, 20,000 and failing links for 8 under a limit of 20,000). */
const FILES_PER_MEMBER = 4000;

/**
 * At least 4 processes, more where the open-files limit would not hold `biggest` members' peer connections in 4:
 * a process out of files fails its WebRTC links, and the room then measures gap repairs instead of the mesh.
 */
function defaultPeerProcesses(biggest) {
  const limit = Number(fileLimit());
  const perProcess = Number.isFinite(limit) ? Math.max(1, Math.floor(limit / FILES_PER_MEMBER)) : biggest;
  return Math.max(4, Math.ceil(biggest / perProcess));
}

function fileLimit() {
  return Number(spawnSync('sh', ['-c', 'ulimit -n'], { encoding: 'utf8' }).stdout.trim()) || 'unknown';
}

const hrtimeMs = () => Number(process.hrtime.bigint()) / 1e6;
const epochMs = () => performance.timeOrigin + performance.now();

async function nodesPart(mod, files, config) {
  const runs = [];
  for (const members of config.sizes) {
    for (const mesh of [true, false]) {
      const label = `${members} Node members, mesh ${mesh ? 'on' : 'off'}`;
      const join = nodeRoom(files.peers, { topic: TOPIC, members, processes: config.peerProcesses, mesh });
      runs.push(await measureRoom(mod, config, { mesh, www: files.www, members, clock: hrtimeMs, join, label }));
    }
  }
  const biggest = config.sizes.at(-1);
  const peakFiles = Math.max(0, ...runs.map((r) => r.peakOpenFilesPerProcess ?? 0));
  const note = `The members of a room are spread over ${config.peerProcesses} Node process${config.peerProcesses === 1 ? '' : 'es'} (${Math.ceil(biggest / config.peerProcesses)} per process at ${biggest}), and they and the server share the machine's ${cpus().length} cores: a relay hop waits for its process's event loop, which serves every member in that process in turn, so deeper relays queue behind their neighbours (see --peer-procs). Mesh off: the server runs with \`mesh: false\` and the members without \`plume/mesh\`. Latency: the server stamps each payload with process.hrtime (monotonic, the same clock in every process) and each member subtracts it on arrival. Peak open files in one members' process: ${peakFiles} (limit ${fileLimit()}; @roamhq/wrtc holds about a hundred sockets per connection while it connects).`;
  return { peerProcesses: config.peerProcesses, runs, note };
}

async function browserPart(mod, files, config, chromiumPath) {
  const browser = await chromium.launch({ executablePath: chromiumPath, headless: true, args: ARGS });
  try {
    const version = browser.version();
    const runs = [];
    for (const mesh of [true, false]) {
      const label = `${config.pages} Chromium pages, mesh ${mesh ? 'on' : 'off'}`;
      runs.push(await measureRoom(mod, config, { mesh, www: files.www, members: config.pages, clock: epochMs, join: browserRoom(browser, { topic: TOPIC, count: config.pages, mesh }), label }));
    }
    const note = 'One headless Chromium, one context (and renderer process) per page; data channels connect over the machine\'s network interface (Chromium never uses loopback candidates), the server is on 127.0.0.1. Latency: each page estimates its clock\'s offset from the server\'s over its socket (shortest of 30 round trips, about 1 ms, so within ±0.5 ms) and subtracts the server\'s stamp on arrival.';
    return { pages: config.pages, browser: `Chromium ${version}`, runs, note };
  } finally {
    await browser.close();
  }
}

async function main() {
  const config = options();
  const startedAt = new Date();
  const work = join(ROOT, 'node_modules', '.cache', 'plume', `bench-mesh-${process.pid}`);
  const removeWork = () => rmSync(work, { recursive: true, force: true });
  installCleanup({ onSignal: removeWork });
  // A guard against a hung run: 8 minutes, plus what part 3's runs take (a long --signing-warmup makes them long).
  const signingRuns = config.only.has('signing') ? SIGNING_SCENARIOS.length * SIGNING_VARIANTS * config.signing.repeats : 0;
  const deadlineMs = 8 * 60_000 + signingRuns * (config.signing.warmupMs + config.signing.measureMs + 2_000);
  const watchdog = setTimeout(() => {
    console.error(`[bench:mesh] still running after ${Math.round(deadlineMs / 1000)} s: giving up`);
    removeWork();
    process.exit(1);
  }, deadlineMs);
  watchdog.unref();
  try {
    const files = await bundle(work);
    const mod = await import(pathToFileURL(files.server).href);
    const results = {
      startedAt: startedAt.toISOString(),
      machine: { cpu: cpus()[0]?.model.trim() ?? 'unknown', cores: cpus().length, os: `${type()} ${release()}`, node: process.version, loadAverage: loadavg().map((x) => Math.round(x * 100) / 100) },
      config: { ...config, only: [...config.only] },
      notes: [],
    };
    if (config.only.has('nodes')) results.nodes = await nodesPart(mod, files, config);
    if (config.only.has('browser')) {
      const chromiumPath = locateChromium()?.path;
      if (!chromiumPath) throw new Error('No Chromium found: apt-get install -y chromium, or set CHROMIUM_PATH');
      results.browser = await browserPart(mod, files, config, chromiumPath);
      results.machine.browser = results.browser.browser;
    }
    // Last: it pins this process to one core for good.
    if (config.only.has('signing')) results.signing = await signingPart(files, config);
    results.durationSec = (Date.now() - startedAt.getTime()) / 1000;
    results.machine.loadAverageEnd = loadavg().map((x) => Math.round(x * 100) / 100);
    results.targets = targets(results);
    console.log(`\n${render(results)}\n`);
    mkdirSync(join(ROOT, 'bench', 'results'), { recursive: true });
    // Only a full run replaces the published figures; a partial or quick one goes to tmp/ (not committed).
    const full = config.only.size === 3 && !config.quick && config.signing.warmupMs === 1000;
    const file = full ? RESULTS : join(ROOT, 'bench', 'results', 'tmp', `mesh-${startedAt.toISOString().replace(/[:.]/g, '-')}.json`);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
    console.log(`wrote ${file.slice(ROOT.length + 1)}`);
  } finally {
    clearTimeout(watchdog);
    removeWork();
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(`[bench:mesh] ${err.stack ?? err}`);
    process.exit(1);
  },
);
