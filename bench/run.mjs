#!/usr/bin/env node
/**
 * `npm run bench`: Plume against Socket.IO 4.8 (rooms) and a bare `ws`
 * server that encodes once, on this machine, in one run:
 *
 *   1. fan-out throughput (1 room × 1000 and 100 rooms × 10; 200 B and 2 KB)
 *   2. broadcast latency at a fixed offered rate (a fraction of Socket.IO's maximum)
 *   3. idle memory per connection at 10,000 connections
 *   4. cold start: spawn to first accepted join
 *   5. HTTP publish (Plume alone): broadcasts/s through POST /api/broadcast, one
 *      message per request and batched, beside the same room fed over a WebSocket
 *
 * Servers run pinned to core 0 and this process (the load generator) to
 * core 1 when `taskset` and two cores exist. Prints a table with ratios and
 * writes `bench/results/tmp/<time>.json` and, for a full run, `latest.json`,
 * `latest.svg` and `latest.md`. See bench/README.md for the method.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ROOT, installCleanup } from '../scripts/lib/proc.mjs';
import { CONTENDERS, ORDER } from './lib/contenders.mjs';
import { coldStart, fanout, latency, memory } from './lib/load.mjs';
import { httpPart } from './lib/http.mjs';
import { longPollPart } from './lib/longpoll.mjs';
import { chart, render } from './lib/report.mjs';
import { bundleServers, pinning, startServer } from './lib/servers.mjs';
import { describeMachine, packageVersion } from './lib/machine.mjs';

const HELP = `Usage: npm run bench -- [options]

  --only <list>          comma-separated subset of: fanout,latency,memory,cold,http,longpoll (default: all)
  --quick                shorter windows and 2,000 idle connections: a smoke run, not for the README
  --connections <n>      idle connections for the memory test (default 10000)
  --window <n>           deliveries in flight in the fan-out test (default 20000)
  --warmup <ms>          fan-out warm-up before the measured window (default 1000; 10000 measures Plume with full histories)
  --scenario <list>      fan-out scenarios to run, by number 1-4 as in the table (default: all)
  --readme               also replace the results block in bench/README.md (between the bench markers)
  --render               measure nothing: rewrite latest.md, latest.svg (and bench/README.md with --readme) from latest.json
  -h, --help             show this help`;

const PARTS = ['fanout', 'latency', 'memory', 'cold', 'http', 'longpoll'];

const SCENARIOS = [
  { label: '1 room × 1000, 200 B', rooms: 1, perRoom: 1000, payloadBytes: 200 },
  { label: '1 room × 1000, 2 KB', rooms: 1, perRoom: 1000, payloadBytes: 2048 },
  { label: '100 rooms × 10, 200 B', rooms: 100, perRoom: 10, payloadBytes: 200 },
  { label: '100 rooms × 10, 2 KB', rooms: 100, perRoom: 10, payloadBytes: 2048 },
];

function options() {
  const { values } = parseArgs({
    options: {
      only: { type: 'string' },
      quick: { type: 'boolean' },
      connections: { type: 'string' },
      window: { type: 'string' },
      warmup: { type: 'string' },
      scenario: { type: 'string' },
      readme: { type: 'boolean' },
      render: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(HELP);
    process.exit(0);
  }
  const only = new Set((values.only ?? PARTS.join(',')).split(',').map((s) => s.trim()));
  for (const name of only) if (!PARTS.includes(name)) throw new Error(`--only: unknown part "${name}"`);
  const quick = Boolean(values.quick);
  const scenarios = values.scenario === undefined ? SCENARIOS : values.scenario.split(',').map((n) => {
    const scenario = SCENARIOS[Number(n) - 1];
    if (!scenario) throw new Error(`--scenario: no scenario "${n}" (1-${SCENARIOS.length})`);
    return scenario;
  });
  return {
    only,
    scenarios,
    readme: Boolean(values.readme),
    render: Boolean(values.render),
    quick,
    fanout: { warmupMs: Number(values.warmup ?? (quick ? 500 : 1000)), measureMs: quick ? 1000 : 3000, window: Number(values.window ?? 20_000), rounds: quick ? 1 : 2 },
    latency: { fraction: 0.5, warmupMs: quick ? 500 : 1000, measureMs: quick ? 2000 : 5000, fallbackPerSec: 90_000, rounds: quick ? 1 : 2 },
    memory: { connections: Number(values.connections ?? (quick ? 2000 : 10_000)), rooms: 100, settleMs: 1000, rounds: quick ? 1 : 3 },
    coldStart: { runs: quick ? 3 : 5 },
    http: { perRoom: 100, payloadBytes: 200, concurrency: 16, batch: 100, warmupMs: quick ? 300 : 1000, measureMs: quick ? 1000 : 3000 },
    // A moderate load: 100 members at 20 broadcasts/s (2,000 deliveries/s), what a busy chat room asks of a proxy-bound office.
    longpoll: { perRoom: 100, payloadBytes: 200, ratePerSec: 20, warmupMs: quick ? 500 : 1000, measureMs: quick ? 2000 : 5000 },
  };
}

/** The soft limit on open files, as a shell started by this process sees it. */
function fileLimit() {
  return Number(spawnSync('sh', ['-c', 'ulimit -n'], { encoding: 'utf8' }).stdout.trim()) || 1024;
}

/**
 * Makes room for the memory test's sockets (each side holds one per
 * connection): re-runs this script under a raised `ulimit -n` once, and if
 * that is not allowed, lowers the connection count and says so.
 */
function ensureFiles(config) {
  const needed = config.memory.connections + 1000;
  if (!config.only.has('memory') || fileLimit() >= needed) return null;
  const canRaise = spawnSync('sh', ['-c', `ulimit -n ${needed}`]).status === 0;
  if (canRaise && !process.env.PLUME_BENCH_RAISED) {
    const args = process.argv.slice(1).map((a) => `'${a.replace(/'/g, "'\\''")}'`).join(' ');
    const again = spawnSync('sh', ['-c', `ulimit -n ${needed} && exec '${process.execPath}' ${args}`], {
      stdio: 'inherit',
      env: { ...process.env, PLUME_BENCH_RAISED: '1' },
    });
    process.exit(again.status ?? 1);
  }
  const connections = Math.max(100, fileLimit() - 1000);
  const note = `open-file limit ${fileLimit()} is too low for ${config.memory.connections} connections and could not be raised (run \`ulimit -n ${needed}\` first); measuring ${connections}`;
  config.memory.connections = connections;
  return note;
}

function machine(pin) {
  return describeMachine(pin, { socketio: packageVersion('socket.io'), ws: packageVersion('ws') });
}

const pct = (share) => `${Math.round(share * 100)}%`;
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Writes the table, chart and (with --readme) the README block of a run. */
function publish(results, readme) {
  const text = render(results);
  const dir = join(ROOT, 'bench', 'results');
  writeFileSync(join(dir, 'latest.svg'), chart(results));
  writeFileSync(join(dir, 'latest.md'), `${text}\n`);
  if (readme) updateReadme(text);
  return text;
}

/** True for a run of every part at full length: only such a run replaces latest.* and the README block. */
function fullRun(config) {
  // A different warm-up measures something else (see bench/README.md): it is reported, not published.
  return config.only.size === PARTS.length && !config.quick && config.scenarios.length === SCENARIOS.length && config.fanout.warmupMs === 1000;
}

async function main() {
  const config = options();
  if (config.readme && !config.render && !fullRun(config)) throw new Error('--readme needs a full run (no --only, no --quick, no --warmup), or --render');
  if (config.render) {
    const results = JSON.parse(readFileSync(join(ROOT, 'bench', 'results', 'latest.json'), 'utf8'));
    console.log(`${publish(results, config.readme)}\n\n[bench] rewrote bench/results/latest.{md,svg}${config.readme ? ' and bench/README.md' : ''} from latest.json`);
    return;
  }
  const limitNote = ensureFiles(config);
  installCleanup();
  const pin = pinning();
  const startedAt = new Date().toISOString();
  const t0 = performance.now();
  console.log(`[bench] ${pin.pinned ? 'pinned' : 'NOT pinned'}: ${pin.note}`);
  if (limitNote) console.log(`[bench] ${limitNote}`);
  const files = await bundleServers(ORDER.map((k) => CONTENDERS[k].entry));
  const launch = (key, extra = []) => startServer(process.execPath, ['--expose-gc', files[CONTENDERS[key].entry], '--port', '0', ...extra], { pinned: pin.pinned });
  const withServer = async (key, body, extra = []) => {
    const server = await launch(key, extra);
    try {
      return await body(server);
    } finally {
      await server.stop();
    }
  };
  const results = { startedAt, machine: machine(pin), config, notes: limitNote ? [limitNote] : [] };

  if (config.only.has('fanout')) {
    results.fanout = [];
    for (const scenario of config.scenarios) {
      const row = { ...scenario };
      // Rounds in alternating order, each contender credited with its best run: on a shared
      // machine throughput drifts by tens of percent within a minute. A run that lost messages
      // marks the contender's row, whichever run is shown.
      for (let round = 0; round < config.fanout.rounds; round++) {
        for (const key of round % 2 === 0 ? ORDER : [...ORDER].reverse()) {
          const result = await withServer(key, (server) => fanout(CONTENDERS[key], server, { ...scenario, ...config.fanout }));
          console.log(`[bench] fan-out ${scenario.label}: ${CONTENDERS[key].name} ${Math.round(result.deliveriesPerSec)} deliveries/s (server CPU ${pct(result.serverCpuShare)}, ${pct(result.serverSystemShare)} of it in the kernel; load CPU ${pct(result.loadCpuShare)})${result.complete ? '' : ' (INCOMPLETE)'}`);
          const best = row[key] && row[key].deliveriesPerSec >= result.deliveriesPerSec ? row[key] : result;
          row[key] = { ...best, complete: result.complete && (row[key]?.complete ?? true) };
        }
      }
      results.fanout.push(row);
    }
  }

  if (config.only.has('latency')) {
    const [base] = SCENARIOS;
    const ioMax = results.fanout?.find((row) => row.label === base.label)?.socketio.deliveriesPerSec;
    const offered = ioMax ? ioMax * config.latency.fraction : config.latency.fallbackPerSec;
    const ratePerSec = Math.max(1, Math.round(offered / base.perRoom));
    results.latency = { label: base.label };
    // As for fan-out: rounds in alternating order, each contender credited with its run of lowest
    // p99 (a tail is what a busy neighbour on a shared machine spoils first). A run that broke
    // per-socket order or lost messages marks the contender's row, whichever run is shown.
    for (let round = 0; round < config.latency.rounds; round++) {
      for (const key of round % 2 === 0 ? ORDER : [...ORDER].reverse()) {
        const result = await withServer(key, (server) => latency(CONTENDERS[key], server, { ...base, ...config.latency, ratePerSec }));
        console.log(`[bench] latency: ${CONTENDERS[key].name} p50 ${result.p50.toFixed(2)} ms, p99 ${result.p99.toFixed(2)} ms`);
        const kept = results.latency[key];
        const best = kept && kept.p99 <= result.p99 ? kept : result;
        results.latency[key] = { ...best, outOfOrder: Math.max(result.outOfOrder, kept?.outOfOrder ?? 0), complete: result.complete && (kept?.complete ?? true) };
      }
    }
  }

  if (config.only.has('memory')) {
    const { connections, rooms, rounds } = config.memory;
    // Plume's default relay channel (`plumeRelay`: plume started with --relay) also tracks every member in presence, which the others do not offer.
    const keys = [...ORDER, 'plumeRelay'];
    const measure = (key) => {
      const contender = key === 'plumeRelay' ? 'plume' : key;
      const extra = key === 'plumeRelay' ? ['--relay'] : [];
      return withServer(contender, (server) => memory(CONTENDERS[contender], server, { rooms, perRoom: Math.ceil(connections / rooms), settleMs: config.memory.settleMs }), extra);
    };
    const runs = Object.fromEntries(keys.map((key) => [key, []]));
    // Rounds in alternating order, each contender credited with its median run: RSS after the same
    // 10,000 joins moved by ±1 KB per connection from run to run (how much of its young generation
    // V8 has touched, and malloc's arenas), enough to swing the ratio to ws from 1.07 to 1.35.
    for (let round = 0; round < rounds; round++) {
      for (const key of round % 2 === 0 ? keys : [...keys].reverse()) {
        const result = await measure(key);
        runs[key].push(result);
        console.log(`[bench] memory: ${key === 'plumeRelay' ? 'plume (relay channel, presence)' : CONTENDERS[key].name} ${result.rssPerConnKB.toFixed(2)} KB RSS per connection`);
      }
    }
    results.memory = {};
    for (const key of keys) {
      const sorted = [...runs[key]].sort((a, b) => a.rssPerConnKB - b.rssPerConnKB);
      results.memory[key] = { ...sorted[(sorted.length - 1) >> 1], rssRunsKB: runs[key].map((r) => r.rssPerConnKB) };
    }
  }

  if (config.only.has('cold')) {
    results.coldStart = {};
    const runs = async (label, contender, start) => {
      const times = [];
      for (let i = 0; i < config.coldStart.runs; i++) times.push(await coldStart(contender, start));
      return { label, median: median(times), min: Math.min(...times), runs: times };
    };
    for (const key of ORDER) {
      results.coldStart[key] = await runs(`${CONTENDERS[key].name} (bundled entry)`, CONTENDERS[key], () => launch(key));
    }
    // What `npm run server` does minus npm itself: bundles server/cli.ts with esbuild on every start.
    results.coldStart.plumeCli = await runs('plume CLI (node scripts/server.mjs, bundles on start)', CONTENDERS.plume, () =>
      startServer(process.execPath, [join(ROOT, 'scripts', 'server.mjs'), '--port', '0'], { pinned: pin.pinned, ready: /listening on http:\/\/[^:]+:(\d+)/ }),
    );
    console.log(`[bench] cold start: plume ${results.coldStart.plume.median.toFixed(0)} ms (median)`);
  }

  if (config.only.has('http')) results.http = await httpPart(withServer, config.http);
  if (config.only.has('longpoll')) results.longpoll = await longPollPart(withServer, config.longpoll);
  results.durationSec = (performance.now() - t0) / 1000;
  const dir = join(ROOT, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const json = `${JSON.stringify(results, null, 2)}\n`;
  // Every run is kept under tmp/ (not committed); latest.* are the published figures.
  const stamped = `bench/results/tmp/${startedAt.replace(/[:.]/g, '-')}.json`;
  mkdirSync(join(dir, 'tmp'), { recursive: true });
  writeFileSync(join(ROOT, stamped), json);
  if (!fullRun(config)) {
    // A partial or quick run must not replace the published figures with fewer or rougher ones.
    console.log(`\n${render(results)}\n\n[bench] wrote ${stamped} (a partial or --quick run: latest.* and bench/README.md untouched)`);
    return;
  }
  writeFileSync(join(dir, 'latest.json'), json);
  const text = publish(results, config.readme);
  console.log(`\n${text}\n\n[bench] wrote ${stamped} and bench/results/latest.{json,svg,md}${config.readme ? ' and bench/README.md' : ''}`);
}

/** Replaces the block between the bench markers in README.md. */
/** Replaces the results block of bench/README.md (the main README's Performance section summarizes it). */
function updateReadme(text) {
  const file = join(ROOT, 'bench', 'README.md');
  const readme = readFileSync(file, 'utf8');
  const begin = '<!-- bench:begin -->';
  const end = '<!-- bench:end -->';
  const from = readme.indexOf(begin);
  const to = readme.indexOf(end);
  if (from === -1 || to < from) throw new Error(`bench/README.md has no ${begin} … ${end} block to replace`);
  writeFileSync(file, `${readme.slice(0, from + begin.length)}\n${text}\n${readme.slice(to)}`);
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(`[bench] ${err.stack ?? err}`);
    process.exit(1);
  },
);
