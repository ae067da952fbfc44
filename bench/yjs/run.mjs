#!/usr/bin/env node
/**
 * `npm run bench:yjs`: Plume's shared documents against `@y/websocket-server`
 * and `@hocuspocus/server` in the same run, each server in its own process
 * (pinned to core 0 with taskset, the load generator to core 1):
 *
 *   1. update fan-out: one document, 200 editors, single-character inserts
 *      from a few of them at steady offered rates: deliveries per server
 *      CPU-second, delivery latency p50/p99
 *   2. late join: a document built from 20,000 updates; bytes sent to a new
 *      client and the time until it holds the whole document
 *   3. idle memory: 1,000 documents of 1,000 updates each, loaded
 *
 * Each contender runs at least twice per measurement in alternating order
 * and keeps its best run (memory: its lowest). Writes
 * bench/results/yjs-latest.{json,md} (a --quick or partial run writes
 * bench/results/tmp/ only). Method and findings: bench/yjs/README.md.
 */
import { writeFileSync, mkdirSync, readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ROOT, installCleanup } from '../../scripts/lib/proc.mjs';
import { bundleServers, pinning, startServer } from '../lib/servers.mjs';
import { fanout } from './fanout.mjs';
import { writeFloor } from './floor.mjs';
import { lateJoin } from './latejoin.mjs';
import { memory } from './memory.mjs';
import { CONTENDERS, ORDER } from './protocols.mjs';
import { render } from './report.mjs';
import { session } from './updates.mjs';
import { describeMachine, packageVersion } from '../lib/machine.mjs';

const HELP = `Usage: npm run bench:yjs -- [options]

  --only <list>   comma-separated subset of: fanout,latejoin,memory (default: all)
  --quick         a smoke run: one round, shorter windows, 100 documents for memory, 2,000-update late join
  --contenders <list>  a subset of plume,ywebsocket,hocuspocus (a partial run, for profiling)
  --rates <list>  fan-out offered rates in updates/s (default 100,400,1000)
  --render        measure nothing: rewrite yjs-latest.md from yjs-latest.json
  -h, --help      show this help`;

const PARTS = ['fanout', 'latejoin', 'memory'];
/** About the size of one keystroke's update frame as the servers send it (header, names, update). */
const FLOOR_FRAME_BYTES = 90;

function options() {
  const { values } = parseArgs({ options: { only: { type: 'string' }, quick: { type: 'boolean' }, contenders: { type: 'string' }, rates: { type: 'string' }, render: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } } });
  if (values.help) {
    console.log(HELP);
    process.exit(0);
  }
  const only = new Set((values.only ?? PARTS.join(',')).split(',').map((s) => s.trim()));
  for (const name of only) if (!PARTS.includes(name)) throw new Error(`--only: unknown part "${name}"`);
  const quick = Boolean(values.quick);
  const contenders = values.contenders ? values.contenders.split(',').map((s) => s.trim()) : ORDER;
  for (const key of contenders) if (!ORDER.includes(key)) throw new Error(`--contenders: unknown contender "${key}"`);
  return {
    only,
    quick,
    render: Boolean(values.render),
    contenders,
    partial: only.size !== PARTS.length || contenders.length !== ORDER.length || values.rates !== undefined,
    fanout: { editors: 200, typists: 5, rates: values.rates ? values.rates.split(',').map(Number) : [100, 400, 1000], warmupMs: quick ? 500 : 1000, measureMs: quick ? 2000 : 5000, rounds: quick ? 1 : 2 },
    lateJoin: { updates: quick ? 2000 : 20_000, joins: quick ? 3 : 5, rounds: quick ? 1 : 2 },
    memory: { docs: quick ? 100 : 1000, perDoc: 1000, settleMs: 1000, rounds: quick ? 1 : 2 },
  };
}

function machine(pin) {
  return describeMachine(pin, { ywebsocket: packageVersion('@y/websocket-server'), hocuspocus: packageVersion('@hocuspocus/server'), yjs: packageVersion('yjs') });
}

/** Runs `measure` for every contender, `rounds` times in alternating order; keeps the run `better` prefers. */
async function rounds(keys, count, withServer, measure, better, label) {
  const kept = {};
  for (let round = 0; round < count; round++) {
    for (const key of round % 2 === 0 ? keys : [...keys].reverse()) {
      const result = await withServer(key, (server) => measure(key, server));
      console.log(`[bench:yjs] ${label(CONTENDERS[key].name, result)}`);
      const runs = [...(kept[key]?.runs ?? []), result];
      kept[key] = { ...(kept[key] && better(kept[key], result) ? kept[key] : result), runs };
    }
  }
  for (const key of keys) kept[key].runs = kept[key].runs.map(({ runs, ...rest }) => rest);
  return kept;
}

const f = (x, d = 0) => x.toFixed(d);

async function main() {
  const config = options();
  const dir = join(ROOT, 'bench', 'results');
  if (config.render) {
    const text = render(JSON.parse(readFileSync(join(dir, 'yjs-latest.json'), 'utf8')));
    writeFileSync(join(dir, 'yjs-latest.md'), `${text}\n`);
    console.log(`${text}\n\n[bench:yjs] rewrote bench/results/yjs-latest.md from yjs-latest.json`);
    return;
  }
  installCleanup();
  const pin = pinning();
  const startedAt = new Date().toISOString();
  const t0 = performance.now();
  console.log(`[bench:yjs] ${pin.pinned ? 'pinned' : 'NOT pinned'}: ${pin.note}; load average ${loadavg().map((x) => x.toFixed(2)).join(', ')}`);
  const files = await bundleServers([...new Set(config.contenders.map((k) => CONTENDERS[k].entry))], join('bench', 'yjs', 'servers'));
  const withServer = async (key, body) => {
    const server = await startServer(process.execPath, ['--expose-gc', files[CONTENDERS[key].entry], '--port', '0', ...(CONTENDERS[key].args ?? [])], { pinned: pin.pinned });
    try {
      return await body(server);
    } finally {
      await server.stop();
    }
  };
  const results = { startedAt, machine: machine(pin), config: { ...config, only: [...config.only] } };

  if (config.only.has('fanout')) {
    const { rates, editors, typists, warmupMs, measureMs } = config.fanout;
    const { seed, updates } = session({ count: Math.ceil((Math.max(...rates) * (warmupMs + measureMs)) / 1000), editors: typists, insertsOnly: true, seed: 2 });
    results.fanout = [];
    for (const ratePerSec of rates) {
      // Plume with a write delay runs as many rounds as the others, in the alternation, when Plume runs.
      const keys = config.contenders.includes('plume') ? [...config.contenders, 'plumeWriteDelay'] : config.contenders;
      const row = await rounds(keys, config.fanout.rounds, withServer, (key, server) => fanout(CONTENDERS[key], server, { editors, typists, ratePerSec, warmupMs, measureMs, seed, updates }),
        (a, b) => a.deliveriesPerCpuSec >= b.deliveriesPerCpuSec,
        (name, r) => `fan-out ${ratePerSec} updates/s × ${editors}: ${name} ${f(r.deliveriesPerSec)} deliveries/s, ${f(r.deliveriesPerCpuSec)} per server CPU-s (server CPU ${f(r.serverCpuShare * 100)}%, load ${f(r.loadCpuShare * 100)}%), p50 ${f(r.p50, 2)} ms, p99 ${f(r.p99, 2)} ms${r.complete ? '' : ` (INCOMPLETE: ${r.delivered} of ${r.expected})`}`);
      // Latency from each contender's run of lower p99 (a tail is what a busy neighbour spoils first).
      for (const key of Object.keys(row)) {
        const { p50, p99, max } = row[key].runs.reduce((a, b) => (b.p99 < a.p99 ? b : a));
        row[key].latency = { p50, p99, max };
      }
      // What one write per delivery costs here, with nothing else done: no server can beat it at a rate
      // low enough that each update has its event-loop turn to itself.
      const floor = await writeFloor({ sockets: editors, ratePerSec, measureMs, frameBytes: FLOOR_FRAME_BYTES, pinned: pin.pinned });
      console.log(`[bench:yjs] write floor ${ratePerSec} updates/s × ${editors}: ${f(floor.writesPerCpuSec)} writes of ${FLOOR_FRAME_BYTES} B per CPU-s (${f(floor.usPerWrite, 2)} µs each)`);
      results.fanout.push({ ratePerSec, editors, typists, ...row, floor: { ...floor, frameBytes: FLOOR_FRAME_BYTES } });
    }
  }

  if (config.only.has('latejoin')) {
    const built = session({ count: config.lateJoin.updates, editors: 4, seed: 3 });
    results.lateJoin = {
      updates: config.lateJoin.updates,
      textLength: built.text.length,
      ...(await rounds(config.contenders, config.lateJoin.rounds, withServer, (key, server) => lateJoin(CONTENDERS[key], server, { updates: built.updates, text: built.text, joins: config.lateJoin.joins }),
        (a, b) => a.ms <= b.ms,
        (name, r) => `late join (${config.lateJoin.updates} updates): ${name} ${f(r.ms, 1)} ms, ${r.bytes} bytes, server CPU ${f(r.cpuPerJoinMs, 1)} ms per join${r.whole ? '' : ' (DOCUMENT INCOMPLETE)'}; built in ${f(r.buildMs)} ms`)),
    };
  }

  if (config.only.has('memory')) {
    const { updates } = session({ count: config.memory.perDoc, editors: 4, seed: 4 });
    const measure = (key, server) => memory(CONTENDERS[key], server, { docs: config.memory.docs, updates, settleMs: config.memory.settleMs });
    const label = (name, r) => `memory (${r.docs} documents × ${r.updatesPerDoc} updates): ${name} RSS +${f(r.rssTotal / 2 ** 20, 1)} MB, heap +${f(r.heapTotal / 2 ** 20, 1)} MB (documents alone: ${f(r.rssPerDoc / 1024, 1)} KB RSS, ${f(r.heapPerDoc / 1024, 1)} KB heap each); built in ${f(r.buildMs)} ms`;
    results.memory = {
      docs: config.memory.docs,
      updatesPerDoc: config.memory.perDoc,
      ...(await rounds(config.contenders, config.memory.rounds, withServer, measure, (a, b) => a.rssTotal <= b.rssTotal, label)),
    };
    // What the history of keystrokes costs: Plume again with a tenth of it (one run, shown apart).
    if (config.contenders.includes('plume')) Object.assign(results.memory, await rounds(['plumeShortHistory'], 1, withServer, measure, () => true, label));
  }

  results.durationSec = (performance.now() - t0) / 1000;
  results.loadAverageAtEnd = loadavg().map((x) => Math.round(x * 100) / 100);
  mkdirSync(join(dir, 'tmp'), { recursive: true });
  const json = `${JSON.stringify(results, null, 2)}\n`;
  const stamped = join('bench', 'results', 'tmp', `yjs-${startedAt.replace(/[:.]/g, '-')}.json`);
  writeFileSync(join(ROOT, stamped), json);
  const text = render(results);
  if (config.quick || config.partial) {
    console.log(`\n${text}\n\n[bench:yjs] wrote ${stamped} (a partial or --quick run: yjs-latest.* untouched)`);
    return;
  }
  writeFileSync(join(dir, 'yjs-latest.json'), json);
  writeFileSync(join(dir, 'yjs-latest.md'), `${text}\n`);
  console.log(`\n${text}\n\n[bench:yjs] wrote ${stamped} and bench/results/yjs-latest.{json,md}`);
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(`[bench:yjs] ${err.stack ?? err}`);
    process.exit(1);
  },
);
