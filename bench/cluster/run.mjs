#!/usr/bin/env node
/**
 * `npm run bench:cluster`: Plume on Redis (issue 18), in one run:
 *
 *   1. the Redis engine's cost: deliveries per server CPU-second, one node
 *      on Redis against one node on the memory engine (and per CPU-second
 *      of the node and Redis together);
 *   2. cross-node fan-out against Socket.IO 4.8 with @socket.io/redis-adapter:
 *      publishers on node A, every member on node B, one Redis; then p99
 *      broadcast latency across the nodes at half Socket.IO's maximum;
 *   3. a recovery storm: clients reconnecting at once to a restarted node,
 *      each resuming after missed broadcasts, with the server's merged and
 *      kept history reads on and off: time until all recovered, and
 *      Redis commands per recovered client;
 *   4. the publish path alone at full histories (no sockets): CPU per
 *      broadcast of the node and of Redis, every publish also trimming;
 *   5. one client's pushes on one channel of the relay, plain and with
 *      message ids (durable sends): time until all are answered.
 *
 * Every measurement starts its own redis-server and nodes. Servers and Redis
 * are pinned to core 0 and this process (the load generator) to core 1 when
 * `taskset` and two cores exist. Prints tables with ratios and writes
 * `bench/results/tmp/cluster-<time>.json` and, for a full run,
 * `bench/results/cluster-latest.{json,md,svg}`. See bench/cluster/README.md.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ROOT, installCleanup } from '../../scripts/lib/proc.mjs';
import { locateRedis } from '../../scripts/lib/redis.mjs';
import { CONTENDERS } from '../lib/contenders.mjs';
import { fanout, latency } from '../lib/load.mjs';
import { describeMachine, packageVersion } from '../lib/machine.mjs';
import { bundleServers, pinning } from '../lib/servers.mjs';
import { membersOn, split, startCluster } from './cluster.mjs';
import { chart, render } from './report.mjs';
import { startRedis } from '../lib/redis.mjs';
import { recoveryStorm } from './storm.mjs';

const HELP = `Usage: npm run bench:cluster -- [options]

  --only <list>       comma-separated subset of: cost,crossnode,latency,storm,publish,client (default: all)
  --quick             one run each, shorter windows, a smaller storm: a smoke run
  --scenario <list>   fan-out scenarios of parts 1 and 2, by number 1-4 as in the table (default: all)
  --window <n>        deliveries in flight in parts 1 and 2 (default 20000; a partial run)
  --clients <n>       clients in the recovery storm (default 2000)
  --missed <n>        broadcasts each storm client missed (default 50)
  --render            measure nothing: rewrite cluster-latest.md and .svg from cluster-latest.json
  -h, --help          show this help`;

const SCENARIOS = [
  { label: '1 room × 1000, 200 B', rooms: 1, perRoom: 1000, payloadBytes: 200 },
  { label: '1 room × 1000, 2 KB', rooms: 1, perRoom: 1000, payloadBytes: 2048 },
  { label: '100 rooms × 10, 200 B', rooms: 100, perRoom: 10, payloadBytes: 200 },
  { label: '100 rooms × 10, 2 KB', rooms: 100, perRoom: 10, payloadBytes: 2048 },
];
const PARTS = ['cost', 'crossnode', 'latency', 'storm', 'publish', 'client'];
const RESULTS = join(ROOT, 'bench', 'results');

function options() {
  const { values } = parseArgs({
    options: {
      only: { type: 'string' },
      quick: { type: 'boolean' },
      scenario: { type: 'string' },
      window: { type: 'string' },
      clients: { type: 'string' },
      missed: { type: 'string' },
      render: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(HELP);
    process.exit(0);
  }
  const only = new Set((values.only ?? PARTS.join(',')).split(',').map((s) => s.trim()));
  for (const part of only) if (!PARTS.includes(part)) throw new Error(`--only: unknown part "${part}" (${PARTS.join(', ')})`);
  const quick = Boolean(values.quick);
  const scenarios = values.scenario === undefined ? SCENARIOS : values.scenario.split(',').map((n) => {
    const scenario = SCENARIOS[Number(n) - 1];
    if (!scenario) throw new Error(`--scenario: no scenario "${n}" (1-${SCENARIOS.length})`);
    return scenario;
  });
  const clients = Number(values.clients ?? (quick ? 500 : 2000));
  return {
    only,
    quick,
    render: Boolean(values.render),
    scenarios,
    fanout: { warmupMs: quick ? 500 : 1000, measureMs: quick ? 1000 : 3000, window: Number(values.window ?? 20_000), rounds: quick ? 1 : 2 },
    latency: { fraction: 0.5, warmupMs: quick ? 500 : 1000, measureMs: quick ? 2000 : 5000, fallbackPerSec: 60_000, rounds: quick ? 1 : 2 },
    storm: {
      clients,
      missed: Number(values.missed ?? 50),
      // One room (every client asks for the same range) and 100 rooms (20 clients per range at 2,000).
      layouts: [{ rooms: 1, perRoom: clients }, { rooms: 100, perRoom: Math.max(1, Math.round(clients / 100)) }],
      rounds: quick ? 1 : 2,
    },
    publish: { sizes: [200, 2048], topics: 100, limit: quick ? 100 : 1000, perCall: 300, measure: quick ? 6000 : 30_000, rounds: quick ? 1 : 2 },
    client: { count: quick ? 1000 : 5000, window: 64, rounds: quick ? 1 : 3 },
  };
}

function machine(pin) {
  const redis = spawnSync(locateRedis() ?? 'redis-server', ['--version'], { encoding: 'utf8' }).stdout ?? '';
  const versions = { socketio: packageVersion('socket.io'), redisAdapter: packageVersion('@socket.io/redis-adapter'), ioredis: packageVersion('ioredis'), redis: /v=([\d.]+)/.exec(redis)?.[1] ?? 'unknown' };
  return describeMachine(pin, versions, 'Pinned with taskset: every server and Redis on core 0, the load generator on core 1');
}

const pct = (share) => `${Math.round(share * 100)}%`;
const shares = (s) => Object.entries(s).map(([name, share]) => `${name} ${pct(share)}`).join(', ');
/** Runs `body` for each key, in alternating order round by round. */
async function alternating(keys, rounds, body) {
  for (let round = 0; round < rounds; round++) for (const key of round % 2 === 0 ? keys : [...keys].reverse()) await body(key, round);
}

/** Part 1: one Plume node, memory engine against Redis engine, same scenario. */
async function cost(config, files, pinned) {
  const rows = [];
  for (const scenario of config.scenarios) {
    const row = { ...scenario, runs: { memory: [], redis: [] } };
    await alternating(['memory', 'redis'], config.fanout.rounds, async (engine) => {
      const cluster = await startCluster({ file: files['plume.ts'], contender: 'plume', nodes: ['node'], engine, pinned });
      try {
        const result = await fanout(CONTENDERS.plume, cluster.server, { ...scenario, ...config.fanout });
        const { shares: share, perCpuSec, writesPerBroadcast } = split(result.cpuWindow, result.perBroadcast);
        const run = {
          deliveriesPerSec: result.deliveriesPerSec,
          perServerCpuSec: perCpuSec(['node']),
          perServerAndRedisCpuSec: perCpuSec(['node', 'redis']),
          shares: share,
          writesPerBroadcast: writesPerBroadcast.node,
          loadCpuShare: result.loadCpuShare,
          complete: result.complete,
        };
        row.runs[engine].push(run);
        console.log(`[cluster] cost ${scenario.label}: ${engine} engine ${Math.round(run.perServerCpuSec)} deliveries per server CPU-s, ${Math.round(run.perServerAndRedisCpuSec)} per server+Redis CPU-s, ${Math.round(run.deliveriesPerSec)}/s, ${run.writesPerBroadcast.toFixed(2)} writes per broadcast (CPU: ${shares(share)}; load ${pct(run.loadCpuShare)})${run.complete ? '' : ' (INCOMPLETE)'}`);
      } finally {
        await cluster.stop();
      }
    });
    // Each engine credited with its run of most deliveries per server CPU-second (the target's figure).
    for (const engine of ['memory', 'redis']) row[engine] = best(row.runs[engine], (r) => r.perServerCpuSec);
    rows.push(row);
  }
  return rows;
}

/** The run with the highest `score`, marked incomplete if any run lost messages. */
function best(runs, score) {
  const top = runs.reduce((a, b) => (score(b) > score(a) ? b : a));
  return { ...top, complete: runs.every((r) => r.complete) };
}

/** Part 2: publishers on node A, every member on node B, one Redis; Plume against Socket.IO. */
async function crossNode(config, files, pinned) {
  const rows = [];
  for (const scenario of config.scenarios) {
    const row = { ...scenario, runs: { plume: [], socketio: [] } };
    await alternating(['plume', 'socketio'], config.fanout.rounds, async (key) => {
      const contender = CONTENDERS[key];
      const cluster = await startCluster({ file: files[contender.entry], contender: key, nodes: ['a', 'b'], pinned });
      try {
        const members = membersOn(contender, cluster.nodes.b.port, scenario);
        const result = await fanout(contender, cluster.server, { ...scenario, ...config.fanout, members });
        const { shares: share, perCpuSec, writesPerBroadcast } = split(result.cpuWindow, result.perBroadcast);
        const run = { deliveriesPerSec: result.deliveriesPerSec, perCpuSec: perCpuSec(['a', 'b', 'redis']), shares: share, writesPerBroadcastB: writesPerBroadcast.b, loadCpuShare: result.loadCpuShare, complete: result.complete };
        row.runs[key].push(run);
        console.log(`[cluster] cross-node ${scenario.label}: ${contender.name} ${Math.round(run.deliveriesPerSec)} deliveries/s, node B ${run.writesPerBroadcastB.toFixed(2)} writes per broadcast (CPU: ${shares(share)}; load ${pct(run.loadCpuShare)})${run.complete ? '' : ' (INCOMPLETE)'}`);
      } finally {
        await cluster.stop();
      }
    });
    for (const key of ['plume', 'socketio']) row[key] = best(row.runs[key], (r) => r.deliveriesPerSec);
    rows.push(row);
  }
  return rows;
}

/** Part 2, latency: 1 room × 1000 on node B, the publisher on A, at a fraction of Socket.IO's maximum. */
async function crossLatency(config, files, pinned, crossRows) {
  const [base] = SCENARIOS;
  const ioMax = crossRows?.find((row) => row.label === base.label)?.socketio.deliveriesPerSec;
  const offered = ioMax ? ioMax * config.latency.fraction : config.latency.fallbackPerSec;
  const ratePerSec = Math.max(1, Math.round(offered / base.perRoom));
  const out = { label: base.label, basis: ioMax ? 'socket.io cross-node maximum' : 'fallback rate (part 2 fan-out not run)', runs: { plume: [], socketio: [] } };
  await alternating(['plume', 'socketio'], config.latency.rounds, async (key) => {
    const contender = CONTENDERS[key];
    const cluster = await startCluster({ file: files[contender.entry], contender: key, nodes: ['a', 'b'], pinned });
    try {
      const result = await latency(contender, cluster.server, { ...base, ...config.latency, ratePerSec, memberPort: cluster.nodes.b.port });
      out.runs[key].push(result);
      console.log(`[cluster] latency across nodes: ${contender.name} p50 ${result.p50.toFixed(2)} ms, p99 ${result.p99.toFixed(2)} ms at ${Math.round(result.offeredPerSec)} deliveries/s${result.complete && result.outOfOrder === 0 ? '' : ' (LOST OR OUT OF ORDER)'}`);
    } finally {
      await cluster.stop();
    }
  });
  // The run of lowest p99 counts (a busy neighbour spoils tails first); any loss or disorder marks the row.
  for (const key of ['plume', 'socketio']) {
    const runs = out.runs[key];
    out[key] = { ...best(runs, (r) => -r.p99), outOfOrder: Math.max(...runs.map((r) => r.outOfOrder)) };
  }
  return out;
}

/** Part 3: the recovery storm, with merged and kept history reads (engine/coalesce.ts) on and off. */
async function storms(config, files, pinned) {
  const rows = [];
  for (const layout of config.storm.layouts) {
    const row = { ...layout, clients: layout.rooms * layout.perRoom, missed: config.storm.missed, runs: { merged: [], unmerged: [] } };
    await alternating(['merged', 'unmerged'], config.storm.rounds, async (variant) => {
      const result = await recoveryStorm({ file: files['plume.ts'], pinned, ...layout, missed: config.storm.missed, coalesce: variant === 'merged' });
      row.runs[variant].push(result);
      console.log(`[cluster] storm ${result.clients} clients in ${layout.rooms} room(s), ${variant}: all recovered in ${result.allRecoveredMs.toFixed(0)} ms (p50 ${result.p50Ms.toFixed(0)} ms; all sockets open at ${result.allConnectedMs.toFixed(0)} ms), ${result.commandsPerClient.toFixed(2)} Redis commands and ${result.scriptsPerClient.toFixed(3)} scripts per client, node ${result.nodeCpuSec.toFixed(2)} CPU-s, Redis ${result.redisCpuSec.toFixed(2)} CPU-s${result.failures ? ` (${result.failures} FAILED: ${result.firstFailure})` : ''}`);
    });
    // The faster run counts; the command counts of every run are kept in the JSON.
    for (const variant of ['merged', 'unmerged']) {
      const runs = row.runs[variant];
      row[variant] = runs.reduce((a, b) => ((Number.isNaN(a.allRecoveredMs) || b.allRecoveredMs < a.allRecoveredMs) ? b : a));
    }
    rows.push(row);
  }
  return rows;
}

/** Runs a bench child (`node file args`, pinned to core 0 when the run is) and returns its last line as JSON. */
function child(file, args, pinned, what) {
  const command = pinned ? ['taskset', '-c', '0', process.execPath, file, ...args] : [process.execPath, file, ...args];
  const run = spawnSync(command[0], command.slice(1), { encoding: 'utf8', timeout: 600_000 });
  const line = run.stdout.trim().split('\n').pop() ?? '';
  if (run.status !== 0 || !line.startsWith('{')) throw new Error(`${what} failed: ${run.stderr || run.stdout}`);
  return JSON.parse(line);
}

/**
 * Part 5: one client pushing on one channel of the relay (`one-client.ts`), memory engine against
 * Redis engine, server and client in one process pinned with its own Redis to core 0.
 */
async function oneClient(config, file, pinned) {
  const { rounds, count, window } = config.client;
  const row = { count, window, runs: { memory: [], redis: [] } };
  await alternating(['memory', 'redis'], rounds, async (engine) => {
    const redis = engine === 'redis' ? await startRedis({ pinned }) : null;
    try {
      const args = ['--count', String(count), '--window', String(window)];
      if (redis) args.push('--redis', redis.url);
      const run = child(file, args, pinned, `one-client (${engine})`);
      row.runs[engine].push(run);
      console.log(`[cluster] one client, ${count} pushes on one channel: ${engine} engine, plain ${run.plainMs.toFixed(0)} ms, with ids (window ${window}) ${run.durableMs.toFixed(0)} ms`);
    } finally {
      await redis?.stop();
    }
  });
  for (const engine of ['memory', 'redis']) {
    const runs = row.runs[engine];
    row[engine] = { plainMs: Math.min(...runs.map((r) => r.plainMs)), durableMs: Math.min(...runs.map((r) => r.durableMs)) };
  }
  return row;
}

/**
 * Part 4: the publish path alone (`publish-path.ts`), memory engine against Redis engine, each run in
 * its own process pinned with its own Redis to core 0, at full histories so that every publish trims.
 */
async function publishPath(config, file, pinned) {
  const { sizes, rounds, ...shape } = config.publish;
  const rows = [];
  for (const bytes of sizes) {
    const row = { bytes, ...shape, runs: { memory: [], redis: [] } };
    await alternating(['memory', 'redis'], rounds, async (engine) => {
      const redis = engine === 'redis' ? await startRedis({ pinned }) : null;
      try {
        const args = ['--bytes', String(bytes), '--topics', String(shape.topics), '--limit', String(shape.limit), '--per-call', String(shape.perCall), '--measure', String(shape.measure)];
        if (redis) args.push('--redis', redis.url);
        const run = child(file, args, pinned, `publish-path (${engine}, ${bytes} B)`);
        row.runs[engine].push(run);
        console.log(`[cluster] publish path ${bytes} B at ${run.heldAfter} entries per topic: ${engine} engine, node ${run.node.toFixed(1)} µs${run.redis === null ? '' : `, Redis ${run.redis.toFixed(1)} µs`} per broadcast`);
      } finally {
        await redis?.stop();
      }
    });
    // Each engine credited with its run of least node CPU per broadcast.
    for (const engine of ['memory', 'redis']) row[engine] = row.runs[engine].reduce((a, b) => (b.node < a.node ? b : a));
    rows.push(row);
  }
  return rows;
}

async function main() {
  const config = options();
  if (config.render) {
    const results = JSON.parse(readFileSync(join(RESULTS, 'cluster-latest.json'), 'utf8'));
    writeFileSync(join(RESULTS, 'cluster-latest.md'), `${render(results)}\n`);
    writeFileSync(join(RESULTS, 'cluster-latest.svg'), chart(results));
    console.log(`${render(results)}\n\n[cluster] rewrote bench/results/cluster-latest.{md,svg} from cluster-latest.json`);
    return;
  }
  installCleanup();
  const pin = pinning();
  const results = { startedAt: new Date().toISOString(), machine: machine(pin), config: { ...config, only: [...config.only] } };
  console.log(`[cluster] ${results.machine.pinning}; load average ${results.machine.loadAverage.join(', ')} on ${pin.cores} cores`);
  const t0 = performance.now();
  const files = await bundleServers(['plume.ts', 'socketio.ts']);
  if (config.only.has('publish') || config.only.has('client')) Object.assign(files, await bundleServers(['publish-path.ts', 'one-client.ts'], join('bench', 'cluster')));
  if (config.only.has('cost')) results.cost = await cost(config, files, pin.pinned);
  if (config.only.has('crossnode')) results.crossNode = await crossNode(config, files, pin.pinned);
  if (config.only.has('latency')) results.latency = await crossLatency(config, files, pin.pinned, results.crossNode);
  if (config.only.has('storm')) results.storm = await storms(config, files, pin.pinned);
  if (config.only.has('publish')) results.publishPath = await publishPath(config, files['publish-path.ts'], pin.pinned);
  if (config.only.has('client')) results.oneClient = await oneClient(config, files['one-client.ts'], pin.pinned);
  results.durationSec = (performance.now() - t0) / 1000;
  results.loadAverageAtEnd = loadavg().map((x) => Math.round(x * 100) / 100);

  const json = `${JSON.stringify(results, null, 2)}\n`;
  const stamped = join('bench', 'results', 'tmp', `cluster-${results.startedAt.replace(/[:.]/g, '-')}.json`);
  mkdirSync(join(RESULTS, 'tmp'), { recursive: true });
  writeFileSync(join(ROOT, stamped), json);
  const text = render(results);
  // Only a full run (every part and scenario, not --quick, the default storm) replaces the published figures.
  const full = !config.quick && config.only.size === PARTS.length && config.scenarios.length === SCENARIOS.length && config.storm.clients === 2000 && config.storm.missed === 50 && config.fanout.window === 20_000;
  if (full) {
    writeFileSync(join(RESULTS, 'cluster-latest.json'), json);
    writeFileSync(join(RESULTS, 'cluster-latest.md'), `${text}\n`);
    writeFileSync(join(RESULTS, 'cluster-latest.svg'), chart(results));
  }
  console.log(`\n${text}\n\n[cluster] wrote ${stamped}${full ? ' and bench/results/cluster-latest.{json,md,svg}' : ' (a partial or --quick run: cluster-latest.* untouched)'}`);
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(`[cluster] ${err.stack ?? err}`);
    process.exit(1);
  },
);
