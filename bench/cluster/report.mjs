/**
 * Turns one `npm run bench:cluster` run into the printed tables, the target
 * verdicts (issue 18) and an SVG chart. Pure functions of the results
 * object: nothing here measures.
 */
import { si, table } from '../lib/report.mjs';

const COLORS = { plume: '#6a4cff', plumeLight: '#b7a8ff', socketio: '#2b2b2b', grey: '#9aa0a6' };

const ms = (v) => (Number.isFinite(v) ? `${v < 10 ? v.toFixed(2) : v.toFixed(0)} ms` : 'n/a');
const pct = (v) => (Number.isFinite(v) ? `${Math.round(v * 100)}%` : 'n/a');
const ratio = (a, b) => (Number.isFinite(a / b) && b > 0 ? `${(a / b).toFixed(2)}×` : 'n/a');
const lost = (run) => (run.complete ? '' : ' (lost!)');
const fixed = (v) => (Number.isFinite(v) ? v.toFixed(2) : 'n/a');
const cpu = (shares) => Object.entries(shares).map(([name, share]) => `${name} ${pct(share)}`).join(', ');

/** The verdict on each target of issue 18, from one run. */
export function targets(results) {
  const verdicts = [];
  if (results.cost?.length) {
    const worst = Math.min(...results.cost.map((s) => s.redis.perServerCpuSec / s.memory.perServerCpuSec));
    verdicts.push({ target: 'Redis engine ≥ 70% of the memory engine, deliveries per server CPU-second (every scenario)', met: worst >= 0.7, figure: `worst ${pct(worst)}` });
  }
  if (results.crossNode?.length) {
    const worst = Math.min(...results.crossNode.map((s) => s.plume.deliveriesPerSec / s.socketio.deliveriesPerSec));
    verdicts.push({ target: 'cross-node fan-out ≥ 5× Socket.IO + redis-adapter deliveries/s (every scenario)', met: worst >= 5, figure: `worst ${worst.toFixed(2)}×` });
  }
  const lat = results.latency;
  if (lat) verdicts.push({ target: 'cross-node p99 latency ≤ Socket.IO\'s at the same offered load', met: lat.plume.p99 <= lat.socketio.p99, figure: `${ms(lat.plume.p99)} vs ${ms(lat.socketio.p99)}` });
  return verdicts;
}

function costSection(results) {
  const { config } = results;
  const out = [`### 1. Cost of the Redis engine (one Plume node; deliveries per CPU-second; ${config.fanout.measureMs / 1000} s after ${config.fanout.warmupMs / 1000} s warm-up, ${si(config.fanout.window)} deliveries in flight; each engine's best of ${config.fanout.rounds} runs in alternating order)`, ''];
  out.push(table(
    ['scenario', 'memory: per server CPU-s', 'redis: per server CPU-s', 'redis / memory', 'redis: per server+Redis CPU-s', 'redis / memory (server+Redis)', 'deliveries/s: memory', 'redis', 'server writes / broadcast: memory', 'redis', 'CPU shares (redis engine run)'],
    results.cost.map((s) => [
      s.label,
      si(s.memory.perServerCpuSec) + lost(s.memory),
      si(s.redis.perServerCpuSec) + lost(s.redis),
      pct(s.redis.perServerCpuSec / s.memory.perServerCpuSec),
      si(s.redis.perServerAndRedisCpuSec),
      pct(s.redis.perServerAndRedisCpuSec / s.memory.perServerCpuSec),
      si(s.memory.deliveriesPerSec),
      si(s.redis.deliveriesPerSec),
      fixed(s.memory.writesPerBroadcast),
      fixed(s.redis.writesPerBroadcast),
      cpu(s.redis.shares),
    ]),
  ));
  out.push('', 'Server CPU is the Plume process\'s own (user + system); Redis runs in its own process on the same core, and its CPU time (from its `INFO cpu`, every thread) is added only in the server+Redis columns. The memory engine has no Redis, so both of its columns are the same figure. Writes / broadcast are the server\'s write system calls (`syscw` in /proc) per broadcast: Plume writes each socket\'s frames of an event-loop turn in one call, so the fewer broadcasts reach the fan-out per turn, the more calls each costs.');
  return out;
}

function crossSection(results) {
  const { config } = results;
  const out = [`### 2. Cross-node fan-out (publishers on node A, every member on node B, one Redis; deliveries/s; best of ${config.fanout.rounds} runs in alternating order)`, ''];
  out.push(table(
    ['scenario', 'plume', 'socket.io + redis-adapter', 'plume / socket.io', 'per CPU-s of A+B+Redis: plume', 'socket.io', 'node B writes / broadcast: plume', 'socket.io', 'CPU shares: plume', 'socket.io'],
    results.crossNode.map((s) => [
      s.label,
      si(s.plume.deliveriesPerSec) + lost(s.plume),
      si(s.socketio.deliveriesPerSec) + lost(s.socketio),
      ratio(s.plume.deliveriesPerSec, s.socketio.deliveriesPerSec),
      si(s.plume.perCpuSec),
      si(s.socketio.perCpuSec),
      fixed(s.plume.writesPerBroadcastB),
      fixed(s.socketio.writesPerBroadcastB),
      cpu(s.plume.shares),
      cpu(s.socketio.shares),
    ]),
  ));
  out.push('', 'A, B and Redis share core 0 (the load generator has core 1), so deliveries/s is what one core of servers and Redis together delivers across nodes; the shares say where that core went.');
  return out;
}

function latencySection(results) {
  const l = results.latency;
  const out = [`### 2b. Broadcast latency across nodes (${l.label}, publisher on A, members on B, offered ${si(l.plume.offeredPerSec)} deliveries/s = ${results.config.latency.fraction} × ${l.basis}; ${results.config.latency.measureMs / 1000} s; each contender's run of lowest p99 of ${results.config.latency.rounds})`, ''];
  out.push(table(
    ['contender', 'p50', 'p95', 'p99', 'max', 'CPU of A+B+Redis', 'order'],
    [['plume', 'plume'], ['socketio', 'socket.io + redis-adapter']].map(([k, name]) => [name, ms(l[k].p50), ms(l[k].p95), ms(l[k].p99), ms(l[k].max), pct(l[k].serverCpuShare), l[k].outOfOrder === 0 && l[k].complete ? 'ok' : `${l[k].outOfOrder} out of order${l[k].complete ? '' : ', lost'}`]),
  ));
  return out;
}

function stormSection(results) {
  const [first] = results.storm;
  const out = [`### 3. Recovery storm (${first.clients} clients reconnect at once to a restarted node, each ${first.missed} broadcasts behind; the faster of ${results.config.storm.rounds} runs per variant)`, ''];
  const rows = [];
  for (const s of results.storm) {
    for (const variant of ['merged', 'unmerged']) {
      const r = s[variant];
      rows.push([
        `${s.rooms} room${s.rooms > 1 ? 's' : ''} × ${s.perRoom}`,
        variant === 'merged' ? 'yes (default)' : 'no',
        `${r.recovered} / ${r.clients}`,
        ms(r.allRecoveredMs),
        ms(r.allConnectedMs),
        ms(r.p50Ms),
        ms(r.p99Ms),
        r.commandsPerClient.toFixed(2),
        (s.runs?.[variant] ?? [r]).map((run) => run.commandsPerClient.toFixed(2)).join(', '),
        r.scriptsPerClient.toFixed(3),
        `${r.nodeCpuSec.toFixed(2)} s`,
        `${r.redisCpuSec.toFixed(2)} s`,
      ]);
    }
  }
  out.push(table(['layout', 'merged and kept reads', 'recovered', 'all recovered', 'all sockets open', 'p50', 'p99', 'Redis commands / client', 'each run', 'scripts / client', 'node CPU', 'Redis CPU'], rows));
  out.push('', 'Times run from the moment every socket is opened (in one turn of the load generator) to the client\'s last missed broadcast; "all sockets open" is when the node had upgraded the last one (its share of the storm that is not recovery). Redis commands are the growth of `INFO commandstats` over the storm, every command a script runs counted too (INFO itself left out); scripts are EVALSHA calls (a join reads the window, then the range). Reads are merged while in flight, and a node keeps a topic\'s last window and reads for up to a second while no broadcast of the topic arrives (server/engine/coalesce.ts); every run\'s count is shown.');
  return out;
}

function publishSection(results) {
  const [first] = results.publishPath;
  const us = (v) => (Number.isFinite(v) ? `${v.toFixed(1)} µs` : 'n/a');
  const out = [`### 4. The publish path alone, at full histories (one engine in one process, no sockets: ${first.topics} topics filled to ${first.limit} entries each, so every publish also trims; ${si(first.measure)} broadcasts, ${first.perCall} per event-loop turn; CPU per broadcast, each engine's best of ${results.config.publish.rounds} runs)`, ''];
  out.push(table(
    ['payload', 'memory engine: node', 'redis engine: node', 'Redis', 'node + Redis', 'redis / memory, node CPU'],
    results.publishPath.map((r) => [`${r.bytes} B`, us(r.memory.node), us(r.redis.node), us(r.redis.redis), us(r.redis.node + r.redis.redis), pct(r.memory.node / r.redis.node)]),
  ));
  out.push('', 'What a broadcast costs the engine alone, before any fan-out: parts 1 and 2 run for seconds, in which no topic reaches its history limit, so they do not include trimming; this part does. Node CPU is the process\'s own (`process.cpuUsage`), Redis\'s the growth of its `INFO cpu`; both share core 0.');
  return out;
}

function clientSection(results) {
  const r = results.oneClient;
  const out = [`### 5. One client's pushes on one channel (the relay on \`room:*\`, one Plume socket, server and client in one process; ${si(r.count)} pushes, timed until every reply and every broadcast back has arrived; each engine's fastest of ${results.config.client.rounds} runs)`, ''];
  out.push(table(
    ['pushes', 'memory engine', 'redis engine', 'redis ÷ memory'],
    [
      ['plain (no message id), all sent at once', ms(r.memory.plainMs), ms(r.redis.plainMs), ratio(r.redis.plainMs, r.memory.plainMs)],
      [`with message ids (durable sends), ${r.window} unanswered at most`, ms(r.memory.durableMs), ms(r.redis.durableMs), ratio(r.redis.durableMs, r.memory.durableMs)],
    ],
  ));
  out.push('', 'A channel handles the pushes behind one while its broadcast is being applied, and claims the ids of pushes with message ids as their frames arrive (PROTOCOL.md §4), so on Redis one client\'s pushes share script calls and claims instead of waiting a round trip each.');
  return out;
}

/** The whole report as markdown. */
export function render(results) {
  const { machine } = results;
  const out = [];
  out.push(`Machine: ${machine.cpu} × ${machine.cores} cores, ${machine.memoryGiB} GiB, ${machine.os}, Node ${machine.node}, Redis ${machine.versions.redis}. ${machine.pinning}. Load average at start: ${machine.loadAverage.join(', ')}${results.loadAverageAtEnd ? `; at end: ${results.loadAverageAtEnd.join(', ')}` : ''}${machine.loadAverage[0] > machine.cores / 2 ? ' (the machine was busy: figures are lower and noisier than on an idle one)' : ''}.`);
  out.push(`Run: ${results.startedAt}, ${Number.isFinite(results.durationSec) ? results.durationSec.toFixed(0) : '?'} s. Contenders: plume (this repo, Redis engine on ioredis ${machine.versions.ioredis}), socket.io ${machine.versions.socketio} with @socket.io/redis-adapter ${machine.versions.redisAdapter} (ioredis).`);
  if (results.cost?.length) out.push('', ...costSection(results));
  if (results.crossNode?.length) out.push('', ...crossSection(results));
  if (results.latency) out.push('', ...latencySection(results));
  if (results.storm?.length) out.push('', ...stormSection(results));
  if (results.publishPath?.length) out.push('', ...publishSection(results));
  if (results.oneClient) out.push('', ...clientSection(results));
  const verdicts = targets(results);
  if (verdicts.length) {
    out.push('', '### Targets (issue 18)', '');
    out.push(table(['target', 'met', 'figure'], verdicts.map((v) => [v.target, v.met ? 'yes' : 'NO', v.figure])));
  }
  return out.join('\n');
}

function escape(text) {
  return String(text).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** One panel of grouped bars: `groups` of `{ label, bars: [{ name, value, color }] }`, its legend under the title. */
function panel(x, y, width, height, title, groups, format, legend) {
  const max = Math.max(...groups.flatMap((g) => g.bars.map((b) => (Number.isFinite(b.value) ? b.value : 0))), 1e-9);
  const top = y + 48;
  const plot = height - 78;
  const groupWidth = width / groups.length;
  const parts = [`<text x="${x}" y="${y + 14}" font-size="13" font-weight="600">${escape(title)}</text>`, `<line x1="${x}" y1="${top + plot}" x2="${x + width}" y2="${top + plot}" stroke="#ccc"/>`];
  legend.forEach((l, i) => parts.push(`<rect x="${x + i * 220}" y="${y + 22}" width="10" height="10" fill="${l.color}"/><text x="${x + 14 + i * 220}" y="${y + 31}" font-size="10">${escape(l.name)}</text>`));
  groups.forEach((g, gi) => {
    const barWidth = Math.min(34, (groupWidth - 16) / g.bars.length);
    const gx = x + gi * groupWidth + (groupWidth - barWidth * g.bars.length) / 2;
    g.bars.forEach((b, bi) => {
      const v = Number.isFinite(b.value) ? b.value : 0;
      const h = (v / max) * plot;
      const bx = gx + bi * barWidth;
      parts.push(`<rect x="${bx.toFixed(1)}" y="${(top + plot - h).toFixed(1)}" width="${(barWidth - 3).toFixed(1)}" height="${h.toFixed(1)}" fill="${b.color}"><title>${escape(`${b.name}: ${format(b.value)}`)}</title></rect>`);
      parts.push(`<text x="${(bx + (barWidth - 3) / 2).toFixed(1)}" y="${(top + plot - h - 3).toFixed(1)}" font-size="9" text-anchor="middle">${escape(format(b.value))}</text>`);
    });
    parts.push(`<text x="${(x + gi * groupWidth + groupWidth / 2).toFixed(1)}" y="${top + plot + 14}" font-size="10" text-anchor="middle">${escape(g.label)}</text>`);
  });
  return parts.join('\n');
}

/** A self-contained SVG with one panel per part. */
export function chart(results) {
  const width = 900;
  const panels = [];
  let y = 40;
  const add = (title, groups, format, legend) => {
    panels.push(panel(20, y, width - 40, 240, title, groups, format, legend));
    y += 260;
  };
  if (results.cost?.length) {
    const legend = [{ name: 'memory engine', color: COLORS.grey }, { name: 'redis engine (server CPU)', color: COLORS.plume }, { name: 'redis engine (server+Redis CPU)', color: COLORS.plumeLight }];
    add('1. Deliveries per CPU-second, one Plume node (higher is better)', results.cost.map((s) => ({
      label: s.label,
      bars: [
        { name: legend[0].name, value: s.memory.perServerCpuSec, color: legend[0].color },
        { name: legend[1].name, value: s.redis.perServerCpuSec, color: legend[1].color },
        { name: legend[2].name, value: s.redis.perServerAndRedisCpuSec, color: legend[2].color },
      ],
    })), si, legend);
  }
  if (results.crossNode?.length) {
    const legend = [{ name: 'plume (redis engine)', color: COLORS.plume }, { name: 'socket.io + redis-adapter', color: COLORS.socketio }];
    add('2. Cross-node fan-out, deliveries/s, publishers on A, members on B (higher is better)', results.crossNode.map((s) => ({
      label: s.label,
      bars: [{ name: legend[0].name, value: s.plume.deliveriesPerSec, color: legend[0].color }, { name: legend[1].name, value: s.socketio.deliveriesPerSec, color: legend[1].color }],
    })), si, legend);
  }
  if (results.latency) {
    const l = results.latency;
    const legend = [{ name: 'plume (redis engine)', color: COLORS.plume }, { name: 'socket.io + redis-adapter', color: COLORS.socketio }];
    add(`2b. Latency across nodes at ${si(l.plume.offeredPerSec)} deliveries/s, ms (lower is better)`, ['p50', 'p95', 'p99'].map((q) => ({
      label: q,
      bars: [{ name: legend[0].name, value: l.plume[q], color: legend[0].color }, { name: legend[1].name, value: l.socketio[q], color: legend[1].color }],
    })), (v) => (Number.isFinite(v) ? v.toFixed(2) : 'n/a'), legend);
  }
  if (results.storm?.length) {
    const legend = [{ name: 'merged and kept reads (default)', color: COLORS.plume }, { name: 'every read asked of Redis', color: COLORS.grey }];
    add(`3. Recovery storm: ms until all ${results.storm[0].clients} clients recovered (lower is better)`, results.storm.map((s) => ({
      label: `${s.rooms} room${s.rooms > 1 ? 's' : ''} × ${s.perRoom}`,
      bars: [{ name: legend[0].name, value: s.merged.allRecoveredMs, color: legend[0].color }, { name: legend[1].name, value: s.unmerged.allRecoveredMs, color: legend[1].color }],
    })), (v) => (Number.isFinite(v) ? v.toFixed(0) : 'n/a'), legend);
    add('3. Recovery storm: Redis commands per recovered client (lower is better)', results.storm.map((s) => ({
      label: `${s.rooms} room${s.rooms > 1 ? 's' : ''} × ${s.perRoom}`,
      bars: [{ name: legend[0].name, value: s.merged.commandsPerClient, color: legend[0].color }, { name: legend[1].name, value: s.unmerged.commandsPerClient, color: legend[1].color }],
    })), (v) => (Number.isFinite(v) ? v.toFixed(2) : 'n/a'), legend);
  }
  const note = `<text x="20" y="22" font-size="10" fill="#666">${escape(`npm run bench:cluster — ${results.machine.cpu} × ${results.machine.cores}, Node ${results.machine.node}, Redis ${results.machine.versions.redis}, load ${results.machine.loadAverage[0]}, ${results.startedAt.slice(0, 16).replace('T', ' ')}`)}</text>`;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${y}" viewBox="0 0 ${width} ${y}" font-family="system-ui, sans-serif">\n<rect width="100%" height="100%" fill="#fff"/>\n${note}\n${panels.join('\n')}\n</svg>\n`;
}
