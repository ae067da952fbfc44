#!/usr/bin/env node
/**
 * `npm run bench:presence`: presence under a join storm (issue 4).
 *
 * 500 raw WebSocket clients (plain Phoenix sockets) connect first, then join
 * one relay room, their joins spread evenly over one second. Counted on the
 * client side, from the first join until every client knows all 500
 * members: the frames and bytes the server sent to all clients together.
 * Run twice in the same process against a fresh server each time: with
 * presence coalescing at its default interval, and with it off
 * (`presenceCoalesceMs: 0`, every change sent at once). Prints a table with
 * the ratio and writes bench/results/presence-latest.json.
 *
 * The server runs in a child process pinned to core 0 (this process on
 * core 1) when `taskset` and two cores exist, as in `npm run bench`.
 */
import { build } from 'esbuild';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, release, type } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ROOT, installCleanup } from '../../scripts/lib/proc.mjs';
import { pinning, startServer } from '../lib/servers.mjs';
import { RawSocket } from '../lib/wsclient.mjs';

const TOPIC = 'room:bench';
const RESULTS = join(ROOT, 'bench', 'results', 'presence-latest.json');
const TARGET_RATIO = 10;
const HELP = `Usage: npm run bench:presence -- [options]

  --members <n>    members joining the room (default 500)
  --spread <ms>    the joins are spread evenly over this long (default 1000)
  --coalesce <ms>  the coalescing interval of the first run (default: the server's default, 50)
  -h, --help       show this help`;

function options() {
  const { values } = parseArgs({
    options: { members: { type: 'string' }, spread: { type: 'string' }, coalesce: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
  });
  if (values.help) {
    console.log(HELP);
    process.exit(0);
  }
  return { members: Number(values.members ?? 500), spreadMs: Number(values.spread ?? 1000), coalesceMs: values.coalesce === undefined ? undefined : Number(values.coalesce) };
}

async function bundle() {
  const outfile = join(ROOT, 'node_modules', '.cache', 'plume', 'bench', 'presence-server.mjs');
  mkdirSync(join(outfile, '..'), { recursive: true });
  await build({ entryPoints: [join(ROOT, 'bench', 'presence', 'server.ts')], outfile, bundle: true, platform: 'node', format: 'esm', target: 'node20', packages: 'external', logLevel: 'error' });
  return outfile;
}

/** One client: counts what it receives and follows the presence until it knows everyone. */
function member(totals, members, onComplete) {
  const keys = new Set();
  let complete = false;
  return (buf, start, end) => {
    totals.frames++;
    totals.bytes += end - start;
    const [, , , event, payload] = JSON.parse(buf.toString('utf8', start, end));
    if (event === 'presence_state') {
      totals.states++;
      for (const key of Object.keys(payload)) keys.add(key);
    } else if (event === 'presence_diff') {
      totals.diffs++;
      for (const key of Object.keys(payload.joins)) keys.add(key);
      for (const key of Object.keys(payload.leaves)) keys.delete(key);
    }
    if (!complete && keys.size === members) {
      complete = true;
      onComplete();
    }
  };
}

async function connectAll(port, count, totals, onComplete) {
  const clients = [];
  for (let i = 0; i < count; i += 50) {
    const batch = [];
    for (let j = i; j < Math.min(count, i + 50); j++) {
      const path = `/socket/websocket?vsn=2.0.0&name=member-${j}`;
      batch.push(RawSocket.connect({ port, path, onText: member(totals, count, onComplete) }));
    }
    clients.push(...(await Promise.all(batch)));
  }
  for (const client of clients) client.socket.on('data', (chunk) => (totals.wire += chunk.length));
  return clients;
}

/** Joins every client within `spreadMs` and resolves with the totals once all of them know everyone. */
async function storm(server, { members, spreadMs }) {
  const totals = { frames: 0, bytes: 0, wire: 0, states: 0, diffs: 0, convergedMs: 0, serverCpuS: 0 };
  let completed = 0;
  let converged;
  const all = new Promise((resolve) => (converged = resolve));
  const clients = await connectAll(server.port, members, totals, () => ++completed === members && converged());
  const cpuBefore = await server.cpu();
  const startedAt = performance.now();
  const join = JSON.stringify(['1', '1', TOPIC, 'phx_join', {}]);
  clients.forEach((client, i) => setTimeout(() => client.send(join), (i * spreadMs) / members));
  const timeout = setTimeout(() => converged(new Error(`only ${completed}/${members} clients knew everyone after 120 s`)), 120_000);
  const failed = await all;
  clearTimeout(timeout);
  if (failed) throw failed;
  totals.convergedMs = Math.round(performance.now() - startedAt);
  totals.serverCpuS = Number(((await server.cpu()) - cpuBefore).toFixed(3));
  for (const client of clients) client.destroy();
  return totals;
}

async function run(file, pin, config, coalesceMs) {
  const args = [file, '--port', '0', ...(coalesceMs === undefined ? [] : ['--coalesce', String(coalesceMs)])];
  const server = await startServer(process.execPath, args, { pinned: pin.pinned });
  try {
    return await storm(server, config);
  } finally {
    await server.stop();
  }
}

const n = (value) => value.toLocaleString('en-US');
const mb = (bytes) => (bytes / 1e6).toFixed(2);

function render(config, rows, ratio) {
  const lines = [
    `Presence: ${config.members} members join ${TOPIC} within ${config.spreadMs} ms; counted at the clients until all know all`,
    '',
    `${'run'.padEnd(30)}${'frames'.padStart(10)}${'states'.padStart(8)}${'diffs'.padStart(10)}${'payload MB'.padStart(12)}${'wire MB'.padStart(10)}${'converged'.padStart(11)}${'server CPU'.padStart(12)}`,
  ];
  for (const { label, totals: t } of rows) {
    lines.push(`${label.padEnd(30)}${n(t.frames).padStart(10)}${n(t.states).padStart(8)}${n(t.diffs).padStart(10)}${mb(t.bytes).padStart(12)}${mb(t.wire).padStart(10)}${`${n(t.convergedMs)} ms`.padStart(11)}${`${t.serverCpuS.toFixed(2)} s`.padStart(12)}`);
  }
  lines.push('', `ratio, at once / coalesced: ${ratio.frames.toFixed(1)}× the frames, ${ratio.bytes.toFixed(2)}× the payload bytes, ${ratio.wire.toFixed(2)}× the wire bytes, ${ratio.cpu.toFixed(1)}× the server CPU`);
  lines.push(`target: at least ${TARGET_RATIO}× fewer frames with coalescing: ${ratio.frames >= TARGET_RATIO ? 'met' : 'NOT met'}`);
  return lines.join('\n');
}

async function main() {
  const config = options();
  const pin = pinning();
  console.log(`[bench:presence] ${pin.note}`);
  const file = await bundle();
  const coalesced = await run(file, pin, config, config.coalesceMs);
  const atOnce = await run(file, pin, config, 0);
  const rows = [
    { label: `coalesced (${config.coalesceMs ?? 50} ms)`, totals: coalesced },
    { label: 'each change at once (0 ms)', totals: atOnce },
  ];
  const ratio = {
    frames: atOnce.frames / coalesced.frames,
    bytes: atOnce.bytes / coalesced.bytes,
    wire: atOnce.wire / coalesced.wire,
    cpu: atOnce.serverCpuS / Math.max(coalesced.serverCpuS, 0.001),
  };
  console.log(`\n${render(config, rows, ratio)}`);
  const machine = { os: `${type()} ${release()}`, cpu: cpus()[0]?.model, cores: cpus().length, node: process.version, pinning: pin.note };
  mkdirSync(join(RESULTS, '..'), { recursive: true });
  writeFileSync(RESULTS, `${JSON.stringify({ at: new Date().toISOString(), machine, config, rows, ratio }, null, 2)}\n`);
  console.log(`\n[bench:presence] wrote ${RESULTS}`);
  return ratio.frames >= TARGET_RATIO ? 0 : 1;
}

installCleanup();
main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(`[bench:presence] ${err.stack ?? err.message}`);
    process.exit(1);
  },
);
