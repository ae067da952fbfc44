/**
 * Statistics, target verdicts and the printed tables of the mesh benchmark
 * (issue 6). Pure functions of what the runner collected: nothing here
 * measures.
 */
import { percentile } from '../outbox/report.mjs';
import { si, table } from '../lib/report.mjs';

/** Issue 6's targets. */
export const TARGETS = { egressShareAt32: 0.25, addedP99Ms: 30, signingShare: 0.8 };

/**
 * One run's summary from the members' reports (`peers.ts` / `page.ts`):
 * loss and duplicates per receiver over every broadcast `1..total`, latency
 * over the measured ones (`n > warmup`), and where deliveries came from.
 */
export function summarizeMembers(reports, { total, warmup }) {
  const latencies = [];
  let lost = 0;
  let duplicated = 0;
  let outOfOrder = 0;
  let receiversWithLoss = 0;
  let receiversWithDuplicates = 0;
  let repairs = 0;
  let relayed = 0;
  let direct = 0;
  let forgeries = 0;
  for (const r of reports) {
    const counts = new Map(r.counts);
    let mine = 0;
    let dups = 0;
    for (let n = 1; n <= total; n++) {
      const c = counts.get(n) ?? 0;
      if (c === 0) mine++;
      if (c > 1) dups += c - 1;
    }
    // Anything outside 1..total would be a message nobody sent: count it as a duplicate delivery of nothing.
    for (const [n, c] of counts) if (!(n >= 1 && n <= total)) dups += c;
    lost += mine;
    duplicated += dups;
    if (mine) receiversWithLoss++;
    if (dups) receiversWithDuplicates++;
    outOfOrder += r.outOfOrder;
    repairs += r.repairs;
    for (let i = 0; i < r.arrivals.length; i += 2) if (r.arrivals[i] > warmup) latencies.push(r.arrivals[i + 1]);
    if (r.mesh) {
      relayed += r.mesh.receivedRelayed;
      direct += r.mesh.receivedDirect;
      forgeries += r.mesh.forgeries;
    }
  }
  return {
    receivers: reports.length,
    samples: latencies.length,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    max: latencies.length ? Math.max(...latencies) : NaN,
    lost,
    duplicated,
    outOfOrder,
    receiversWithLoss,
    receiversWithDuplicates,
    repairs,
    relayedShare: relayed + direct > 0 ? relayed / (relayed + direct) : 0,
    forgeries,
  };
}

const ms = (v) => (Number.isFinite(v) ? `${v < 10 ? v.toFixed(2) : v.toFixed(1)} ms` : 'n/a');
const bytes = (v) => (v >= 1024 ? `${(v / 1024).toFixed(1)} KB` : `${Math.round(v)} B`);
const pct = (v) => `${(v * 100).toFixed(1)}%`;

/** Rows for a room-size table: each mesh-on run next to the mesh-off run of the same size. */
function roomRows(runs) {
  const rows = [];
  for (const size of [...new Set(runs.map((r) => r.members))]) {
    const off = runs.find((r) => r.members === size && !r.mesh);
    for (const run of runs.filter((r) => r.members === size)) {
      const s = run.summary;
      rows.push([
        size,
        run.mesh ? 'on' : 'off',
        run.mesh ? `${run.relayedMembers}/${size}` : '–',
        bytes(run.egressPerBroadcast),
        run.framesPerBroadcast.toFixed(1),
        off && run.mesh ? pct(run.egressPerBroadcast / off.egressPerBroadcast) : '100%',
        ms(s.p50),
        ms(s.p99),
        ms(s.max),
        off && run.mesh ? `${s.p99 - off.summary.p99 >= 0 ? '+' : ''}${(s.p99 - off.summary.p99).toFixed(1)} ms` : '–',
        `${s.lost} / ${s.duplicated}`,
        s.outOfOrder,
        run.mesh ? pct(s.relayedShare) : '–',
        s.repairs,
      ]);
    }
  }
  return rows;
}

const ROOM_HEADER = ['members', 'mesh', 'relayed members', 'egress / broadcast', 'frames / broadcast', 'egress vs off', 'p50', 'p99', 'max', 'p99 vs off', 'lost / dup', 'out of order', 'relayed deliveries', 'gap repairs'];

/** The verdicts on issue 6's targets. */
export function targets(results) {
  const verdicts = [];
  const nodes = results.nodes?.runs ?? [];
  const pair = (size) => [nodes.find((r) => r.members === size && r.mesh), nodes.find((r) => r.members === size && !r.mesh)];
  const [on32, off32] = pair(32);
  if (on32 && off32) {
    const share = on32.egressPerBroadcast / off32.egressPerBroadcast;
    verdicts.push({ target: `32 Node members: server egress ≤ ${TARGETS.egressShareAt32 * 100}% of mesh off`, met: share <= TARGETS.egressShareAt32, figure: `${pct(share)} (${bytes(on32.egressPerBroadcast)} vs ${bytes(off32.egressPerBroadcast)} per broadcast)` });
  }
  const added = [...new Set(nodes.map((r) => r.members))].map((size) => {
    const [on, off] = pair(size);
    return on && off ? { size, ms: on.summary.p99 - off.summary.p99 } : null;
  }).filter(Boolean);
  if (added.length) {
    const worst = added.reduce((a, b) => (b.ms > a.ms ? b : a));
    verdicts.push({ target: `Node members: added p99 ≤ ${TARGETS.addedP99Ms} ms over direct (every size)`, met: worst.ms <= TARGETS.addedP99Ms, figure: added.map((a) => `${a.size}: ${a.ms >= 0 ? '+' : ''}${a.ms.toFixed(1)} ms`).join(', ') });
  }
  const all = [...nodes, ...(results.browser?.runs ?? [])];
  if (all.length) {
    const lost = all.reduce((n, r) => n + r.summary.lost, 0);
    const dup = all.reduce((n, r) => n + r.summary.duplicated, 0);
    const deliveries = all.reduce((n, r) => n + r.summary.receivers * r.broadcasts, 0);
    verdicts.push({ target: '0 lost, 0 duplicated (every receiver, every run)', met: lost === 0 && dup === 0, figure: `${lost} lost, ${dup} duplicated of ${si(deliveries)} expected deliveries` });
  }
  const signing = results.signing?.scenarios ?? [];
  if (signing.length) {
    // Both ratios must pass: per second alone flatters signing when the load generator, not the server, was the limit.
    const share = (s) => Math.min(s.edgeShare, s.edgeCpuShare);
    const worst = Math.min(...signing.map(share));
    verdicts.push({
      target: `broadcasts/s with signing ≥ ${TARGETS.signingShare * 100}% of without, as the default server signs: in the smallest room it relays, against the same room with \`mesh: false\` (every scenario; per second and per server CPU-second)`,
      met: worst >= TARGETS.signingShare,
      figure: `${signing.map((s) => `${s.label}: ${pct(s.edgeShare)} / ${pct(s.edgeCpuShare)}`).join(', ')}. Signing alone, relaying to one member (\`minRelayed: 1\`, equal frames): ${signing.map((s) => `${pct(s.signedShare)} / ${pct(s.signedCpuShare)}`).join(', ')}`,
    });
  }
  return verdicts;
}

/** The whole report as text (markdown tables). */
export function render(results) {
  const { machine, config } = results;
  const out = [];
  const busy = Math.max(machine.loadAverage[0], machine.loadAverageEnd?.[0] ?? 0) > machine.cores / 2;
  out.push(`Machine: ${machine.cpu} × ${machine.cores} cores, ${machine.os}, Node ${machine.node}${machine.browser ? `, ${machine.browser}` : ''}. Load average at start: ${machine.loadAverage.join(', ')}; at end: ${machine.loadAverageEnd?.join(', ') ?? 'n/a'}${busy ? ' (the machine was busy: latency tails and throughput are worse and noisier than on an idle one)' : ''}.`);
  out.push(`Run: ${results.startedAt}, ${results.durationSec.toFixed(0)} s. Payload ${config.payloadBytes} B of JSON, ${config.rate} broadcasts/s paced, ${config.warmup} warm-up + ${config.measured} measured broadcasts per run; mesh limits: degree 4, maxChildren 4, maxDepth 3, minRelayed 4 (the defaults; part 3 varies minRelayed where it says so).`);
  if (results.nodes) {
    const n = results.nodes;
    out.push('', `### 1. Node members (@roamhq/wrtc + simple-peer), server in this process, members in ${n.peerProcesses} other process${n.peerProcesses === 1 ? '' : 'es'}`, '');
    out.push(table(ROOM_HEADER, roomRows(n.runs)));
    out.push('', n.note);
  }
  if (results.browser) {
    const b = results.browser;
    out.push('', `### 2. Chromium pages (${b.pages} contexts in one browser), server in this process`, '');
    out.push(table(ROOM_HEADER, roomRows(b.runs)));
    out.push('', b.note);
  }
  if (results.signing) {
    const s = results.signing;
    out.push('', `### 3. Signing cost: broadcasts/s the server sustains (closed loop, ${si(config.signing.window)} deliveries in flight, ${config.signing.measureMs / 1000} s after ${config.signing.warmupMs / 1000} s warm-up; ${config.signing.repeats} rounds: best run shown, ratios the median of the rounds). ${s.pinning}`, '');
    const n = s.smallestRelayingRoom;
    out.push(table(
      ['scenario', 'mesh: false (1 plain extra)', `smallest room the default server relays (${n} mesh members): mesh: false`, 'mesh on (signed)', 'on / off', 'per CPU-s', 'on / off by round', 'relaying to one member (minRelayed: 1, signed)', 'that / off', 'per CPU-s', 'no member asked to mesh', 'that / off', 'mesh carries the room (signed)', 'that / off'],
      s.scenarios.map((x) => [
        x.label,
        `${si(x.off.broadcastsPerSec)}/s`,
        `${si(x.edgeOff.broadcastsPerSec)}/s`,
        `${si(x.edge.broadcastsPerSec)}/s`,
        pct(x.edgeShare),
        pct(x.edgeCpuShare),
        x.edgeShares.map(pct).join(', '),
        `${si(x.signed.broadcastsPerSec)}/s`,
        pct(x.signedShare),
        pct(x.signedCpuShare),
        `${si(x.plain.broadcastsPerSec)}/s`,
        pct(x.plainShare),
        `${si(x.meshed.broadcastsPerSec)}/s (${x.meshed.perBroadcast.toFixed(1)} direct)`,
        pct(x.meshedShare),
      ]),
    ));
    out.push('', s.note);
  }
  const verdicts = targets(results);
  if (verdicts.length) {
    out.push('', '### Targets (issue 6)', '');
    out.push(table(['target', 'met', 'figure'], verdicts.map((v) => [v.target, v.met ? 'yes' : 'NO', v.figure])));
  }
  for (const note of results.notes ?? []) out.push('', `Note: ${note}`);
  return out.join('\n');
}
