/**
 * Turns one run's results into the printed table, the markdown summary for
 * the README, the target verdicts and an SVG chart. Pure functions of the
 * results object: nothing here measures.
 */

const NAMES = { plume: 'plume', socketio: 'socket.io', ws: 'ws', plumeRelay: 'plume, default relay channel (tracks presence)' };
const COLORS = { plume: '#6a4cff', socketio: '#2b2b2b', ws: '#9aa0a6' };

/** 2.31M, 181k, 950 */
export function si(value) {
  if (!Number.isFinite(value)) return 'n/a';
  if (value >= 1e6) return `${(value / 1e6).toFixed(2)}M`;
  if (value >= 1e4) return `${Math.round(value / 1e3)}k`;
  if (value >= 1e3) return `${(value / 1e3).toFixed(1)}k`;
  return value.toFixed(0);
}

const ms = (v) => (Number.isFinite(v) ? `${v < 10 ? v.toFixed(2) : v.toFixed(1)} ms` : 'n/a');
const kb = (v) => (Number.isFinite(v) ? `${v.toFixed(1)} KB` : 'n/a');
const ratio = (a, b) => (Number.isFinite(a / b) && b > 0 ? `${(a / b).toFixed(2)}×` : 'n/a');

/** A markdown table whose columns are padded to line up in a terminal. */
export function table(header, rows) {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
  const line = (cells) => `| ${cells.map((c, i) => String(c).padEnd(widths[i])).join(' | ')} |`;
  return [line(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.map(line)].join('\n');
}

/** The verdict on each target of issue 5, from one run. */
export function targets(results) {
  const verdicts = [];
  const fan = results.fanout ?? [];
  if (fan.length > 0) {
    const worst = Math.min(...fan.map((s) => s.plume.deliveriesPerSec / s.socketio.deliveriesPerSec));
    verdicts.push({ target: 'fan-out ≥ 5× socket.io deliveries/s (every scenario)', met: worst >= 5, figure: `worst ${worst.toFixed(2)}×` });
  }
  const lat = results.latency;
  if (lat) {
    verdicts.push({ target: 'p99 latency ≤ socket.io at the same offered rate', met: lat.plume.p99 <= lat.socketio.p99, figure: `${ms(lat.plume.p99)} vs ${ms(lat.socketio.p99)}` });
  }
  const mem = results.memory;
  if (mem) {
    const vsWs = mem.plume.rssPerConnKB / mem.ws.rssPerConnKB;
    const vsIo = mem.plume.rssPerConnKB / mem.socketio.rssPerConnKB;
    verdicts.push({ target: 'idle memory ≤ 1.3× ws per connection (RSS)', met: vsWs <= 1.3, figure: `${vsWs.toFixed(2)}×` });
    verdicts.push({ target: 'idle memory ≤ 0.6× socket.io per connection (RSS)', met: vsIo <= 0.6, figure: `${vsIo.toFixed(2)}×` });
  }
  const cold = results.coldStart;
  if (cold) verdicts.push({ target: 'cold start ≤ 300 ms', met: cold.plume.median <= 300, figure: `${ms(cold.plume.median)} (median)` });
  return verdicts;
}

/** The whole report as text (markdown tables), for stdout and the README. */
export function render(results) {
  const { machine, config } = results;
  const out = [];
  out.push(`Machine: ${machine.cpu} × ${machine.cores} cores, ${machine.memoryGiB} GiB, ${machine.os}, Node ${machine.node}. ${machine.pinning}. Load average at start: ${machine.loadAverage.join(', ')}${machine.loadAverage[0] > machine.cores / 2 ? ' (the machine was busy: figures are lower and noisier than on an idle one)' : ''}.`);
  out.push(`Run: ${results.startedAt}, ${results.durationSec.toFixed(0)} s. Contenders: plume (this repo), socket.io ${machine.versions.socketio} (rooms), ws ${machine.versions.ws} (encode once).`);
  if (results.fanout?.length) {
    out.push('', `### 1. Fan-out throughput (deliveries/s, and per server CPU-second; ${config.fanout.measureMs / 1000} s after ${config.fanout.warmupMs / 1000} s warm-up, ${si(config.fanout.window)} deliveries in flight${(config.fanout.rounds ?? 1) > 1 ? `; best of ${config.fanout.rounds} runs in alternating order` : ''})`, '');
    out.push(table(
      ['scenario', 'plume', 'socket.io', 'ws', 'plume / socket.io', 'plume / ws', 'per CPU-s: plume', 'socket.io', 'ws', 'plume: page faults / broadcast'],
      results.fanout.map((s) => [
        s.label,
        si(s.plume.deliveriesPerSec) + (s.plume.complete ? '' : ' (lost!)'),
        si(s.socketio.deliveriesPerSec) + (s.socketio.complete ? '' : ' (lost!)'),
        si(s.ws.deliveriesPerSec) + (s.ws.complete ? '' : ' (lost!)'),
        ratio(s.plume.deliveriesPerSec, s.socketio.deliveriesPerSec),
        ratio(s.plume.deliveriesPerSec, s.ws.deliveriesPerSec),
        si(s.plume.deliveriesPerCpuSec),
        si(s.socketio.deliveriesPerCpuSec),
        si(s.ws.deliveriesPerCpuSec),
        s.plume.faultsPerBroadcast === undefined ? '–' : s.plume.faultsPerBroadcast.toFixed(2),
      ]),
    ));
    out.push('', 'Page faults are first touches of memory the server never used before, which the kernel zero-fills: in its first seconds a fresh Plume server fills its rooms\' histories (the last 1,000 broadcasts per room) and pays for each page (see bench/README.md).');
  }
  if (results.latency) {
    const l = results.latency;
    out.push('', `### 2. Broadcast latency (${l.label}, offered ${si(l.plume.offeredPerSec)} deliveries/s = ${config.latency.fraction} × socket.io's maximum above; ${config.latency.measureMs / 1000} s${(config.latency.rounds ?? 1) > 1 ? `; each contender's run of lowest p99 of ${config.latency.rounds} in alternating order` : ''})`, '');
    out.push(table(
      ['contender', 'p50', 'p95', 'p99', 'max', 'server CPU', 'order'],
      ['plume', 'socketio', 'ws'].map((k) => [NAMES[k], ms(l[k].p50), ms(l[k].p95), ms(l[k].p99), ms(l[k].max), `${(l[k].serverCpuShare * 100).toFixed(0)}%`, l[k].outOfOrder === 0 && l[k].complete ? 'ok' : `${l[k].outOfOrder} out of order${l[k].complete ? '' : ', lost'}`]),
    ));
  }
  if (results.memory) {
    const m = results.memory;
    const rounds = m.plume.rssRunsKB?.length ?? 1;
    out.push('', `### 3. Idle memory per connection (${si(m.plume.connections)} connections, each joined to one of ${config.memory.rooms} rooms; after full GC${rounds > 1 ? `; median of ${rounds} runs in alternating order` : ''})`, '');
    const rows = ['plume', 'socketio', 'ws', 'plumeRelay'].filter((k) => m[k]);
    out.push(table(
      ['contender', 'RSS / conn', 'heap / conn', 'RSS total', 'vs ws (RSS)', 'vs socket.io (RSS)', 'RSS / conn, each run', 'last 80%: RSS / heap per conn'],
      rows.map((k) => [
        NAMES[k], kb(m[k].rssPerConnKB), kb(m[k].heapPerConnKB), `${m[k].rssMB.toFixed(0)} MB`, ratio(m[k].rssPerConnKB, m.ws.rssPerConnKB), ratio(m[k].rssPerConnKB, m.socketio.rssPerConnKB),
        (m[k].rssRunsKB ?? [m[k].rssPerConnKB]).map((v) => v.toFixed(2)).join(', '),
        m[k].marginalRssPerConnKB === undefined ? 'n/a' : `${kb(m[k].marginalRssPerConnKB)} / ${kb(m[k].marginalHeapPerConnKB)}`,
      ]),
    ));
    out.push('', 'RSS / conn is the growth from the fresh server to all connections, divided by their number (what the targets use). The last column counts only the last 80% of the connections (from a measurement after the first fifth joined): one-time costs such as compiling the join path and V8 growing its young generation fall out of it.');
  }
  if (results.coldStart) {
    const c = results.coldStart;
    out.push('', `### 4. Cold start (spawn to first accepted join; median and min of ${config.coldStart.runs})`, '');
    out.push(table(
      ['contender', 'median', 'min'],
      Object.keys(c).map((k) => [c[k].label, ms(c[k].median), ms(c[k].min)]),
    ));
  }
  if (results.http) {
    const h = results.http;
    out.push('', `### 5. HTTP publish (Plume: broadcasts/s into 1 room × ${h.perRoom}, ${h.payloadBytes} B, through POST /api/broadcast with ${h.concurrency} kept-alive requests in flight, beside a WebSocket publisher)`, '');
    const row = (label, r, requests) => [label, si(r.broadcastsPerSec) + (r.complete ? '' : ' (lost!)'), requests, si(r.broadcastsPerSec * h.perRoom), si(r.broadcastsPerCpuSec), r.p50Ms === undefined ? '' : `${r.p50Ms.toFixed(1)} / ${r.p99Ms.toFixed(1)} ms`];
    out.push(table(
      ['publisher', 'broadcasts/s', 'requests/s', 'deliveries/s', 'broadcasts per server CPU-s', 'request p50 / p99'],
      [row('HTTP, 1 message per request', h.single, si(h.single.requestsPerSec)), row(`HTTP, ${h.batch} per request`, h.batched, si(h.batched.requestsPerSec)), row('WebSocket (the fan-out publisher)', h.websocket, '')],
    ));
  }
  if (results.longpoll) {
    const l = results.longpoll;
    out.push('', `### 6. Long-poll delivery (1 room × ${l.perRoom}, ${l.payloadBytes} B, ${l.ratePerSec} broadcasts/s from a WebSocket publisher = ${si(l.offeredPerSec)} deliveries/s offered; the same room with WebSocket members beside it)`, '');
    const row = (label, r, polls) => [label, ms(r.p50), ms(r.p95), ms(r.p99), ms(r.max), polls, r.complete === false ? 'LOST' : (r.outOfOrder ? `${r.outOfOrder} out of order` : 'ok')];
    out.push(table(
      ['members on', 'p50', 'p95', 'p99', 'max', 'polls / delivery', 'order, completeness'],
      [row('WebSocket', l.websocket, ''), row('long-poll', l.longpoll, l.longpoll.requestsPerDelivery.toFixed(2))],
    ));
  }
  const verdicts = targets(results);
  if (verdicts.length) {
    out.push('', '### Targets (issue 5)', '');
    out.push(table(['target', 'met', 'figure'], verdicts.map((v) => [v.target, v.met ? 'yes' : 'NO', v.figure])));
  }
  return out.join('\n');
}

function bars(x, y, width, height, title, groups, format) {
  // groups: [{ label, values: { plume, socketio, ws } }]
  const keys = ['plume', 'socketio', 'ws'];
  const max = Math.max(...groups.flatMap((g) => keys.map((k) => g.values[k] ?? 0)), 1e-9);
  const plotTop = y + 28;
  const plotHeight = height - 58;
  const groupWidth = width / groups.length;
  const barWidth = Math.min(34, (groupWidth - 16) / keys.length);
  const parts = [`<text x="${x}" y="${y + 14}" font-size="13" font-weight="600">${escape(title)}</text>`];
  parts.push(`<line x1="${x}" y1="${plotTop + plotHeight}" x2="${x + width}" y2="${plotTop + plotHeight}" stroke="#ccc"/>`);
  groups.forEach((g, gi) => {
    const gx = x + gi * groupWidth + (groupWidth - barWidth * keys.length) / 2;
    keys.forEach((k, ki) => {
      const v = g.values[k] ?? 0;
      const h = (v / max) * plotHeight;
      const bx = gx + ki * barWidth;
      parts.push(`<rect x="${bx.toFixed(1)}" y="${(plotTop + plotHeight - h).toFixed(1)}" width="${(barWidth - 3).toFixed(1)}" height="${h.toFixed(1)}" fill="${COLORS[k]}"><title>${NAMES[k]}: ${escape(format(v))}</title></rect>`);
      parts.push(`<text x="${(bx + (barWidth - 3) / 2).toFixed(1)}" y="${(plotTop + plotHeight - h - 3).toFixed(1)}" font-size="9" text-anchor="middle">${escape(format(v))}</text>`);
    });
    parts.push(`<text x="${(x + gi * groupWidth + groupWidth / 2).toFixed(1)}" y="${plotTop + plotHeight + 14}" font-size="10" text-anchor="middle">${escape(g.label)}</text>`);
  });
  return parts.join('\n');
}

function escape(text) {
  return String(text).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** A self-contained SVG with one panel per measurement. */
export function chart(results) {
  const width = 900;
  const panels = [];
  let y = 40;
  const add = (title, groups, format) => {
    panels.push(bars(20, y, width - 40, 220, title, groups, format));
    y += 240;
  };
  if (results.fanout?.length) {
    add('Fan-out throughput, deliveries/s (higher is better)', results.fanout.map((s) => ({ label: s.label, values: { plume: s.plume.deliveriesPerSec, socketio: s.socketio.deliveriesPerSec, ws: s.ws.deliveriesPerSec } })), si);
  }
  if (results.latency) {
    const l = results.latency;
    add(`Broadcast latency at ${si(l.plume.offeredPerSec)} deliveries/s, ms (lower is better)`, ['p50', 'p95', 'p99'].map((q) => ({ label: q, values: { plume: l.plume[q], socketio: l.socketio[q], ws: l.ws[q] } })), (v) => v.toFixed(2));
  }
  if (results.memory) {
    const m = results.memory;
    add(`Idle memory per connection at ${si(m.plume.connections)} connections, KB (lower is better)`, [
      { label: 'RSS', values: { plume: m.plume.rssPerConnKB, socketio: m.socketio.rssPerConnKB, ws: m.ws.rssPerConnKB } },
      { label: 'heap', values: { plume: m.plume.heapPerConnKB, socketio: m.socketio.heapPerConnKB, ws: m.ws.heapPerConnKB } },
    ], (v) => v.toFixed(1));
  }
  if (results.coldStart) {
    const c = results.coldStart;
    add('Cold start to first accepted join, ms (median; lower is better)', [{ label: 'median', values: { plume: c.plume?.median, socketio: c.socketio?.median, ws: c.ws?.median } }], (v) => v.toFixed(0));
  }
  const legend = ['plume', 'socketio', 'ws'].map((k, i) => `<rect x="${20 + i * 110}" y="12" width="12" height="12" fill="${COLORS[k]}"/><text x="${36 + i * 110}" y="22" font-size="12">${NAMES[k]}</text>`).join('');
  const note = `<text x="${width - 20}" y="22" font-size="10" text-anchor="end" fill="#666">${escape(`${results.machine.cpu} × ${results.machine.cores}, Node ${results.machine.node}, ${results.startedAt.slice(0, 10)}`)}</text>`;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${y}" viewBox="0 0 ${width} ${y}" font-family="system-ui, sans-serif">\n<rect width="100%" height="100%" fill="#fff"/>\n${legend}${note}\n${panels.join('\n')}\n</svg>\n`;
}
