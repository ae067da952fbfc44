/**
 * Turns one `bench:yjs` run into markdown: a table per part with Plume's
 * ratio to each contender, and the targets of issue 19 with an honest
 * verdict. A pure function of the results object: nothing here measures.
 */
import { si, table } from '../lib/report.mjs';
import { CONTENDERS } from './protocols.mjs';

const OTHERS = ['ywebsocket', 'hocuspocus'];
const ms = (v) => (Number.isFinite(v) ? `${v < 10 ? v.toFixed(2) : v.toFixed(1)} ms` : 'n/a');
const mb = (bytes) => `${(bytes / 2 ** 20).toFixed(1)} MB`;
const kb = (bytes) => `${(bytes / 1024).toFixed(1)} KB`;
const bytes = (n) => `${n.toLocaleString('en')} B`;
const times = (x) => (Number.isFinite(x) ? `${x.toFixed(2)}×` : 'n/a');
const keysOf = (part) => Object.keys(CONTENDERS).filter((key) => part?.[key]);

/** The verdict on each target of issue 19, from one run. */
export function targets(results) {
  const verdicts = [];
  for (const variant of ['plume', 'plumeWriteDelay']) {
    for (const row of results.fanout ?? []) {
      if (!row[variant]) continue;
      const as = variant === 'plume' ? '' : ` (${CONTENDERS[variant].name}: p99 ${ms(row[variant].latency?.p99)} against ${ms(row.plume?.latency?.p99)})`;
      for (const other of OTHERS.filter((k) => row[k])) {
        const x = row[variant].deliveriesPerCpuSec / row[other].deliveriesPerCpuSec;
        // 3× the other above the floor of one bare write per delivery: out of reach for any server that writes each update.
        const needed = 3 * row[other].deliveriesPerCpuSec;
        const floor = x < 3 && row.floor && needed > row.floor.writesPerCpuSec ? ` (3× is ${si(needed)} per CPU-s, above the ${si(row.floor.writesPerCpuSec)} bare writes per CPU-s of the write floor)` : '';
        verdicts.push({ target: `fan-out at ${row.ratePerSec} updates/s: deliveries per server CPU-second ≥ 3× ${CONTENDERS[other].name}${as}`, met: x >= 3, figure: times(x) + floor });
      }
    }
  }
  const mem = results.memory;
  if (mem?.plume && mem.hocuspocus) {
    const rss = mem.plume.rssTotal / mem.hocuspocus.rssTotal;
    const heap = mem.plume.heapTotal / mem.hocuspocus.heapTotal;
    verdicts.push({ target: 'idle memory ≤ 0.5× hocuspocus (RSS and heap after GC, defaults)', met: rss <= 0.5 && heap <= 0.5, figure: `RSS ${times(rss)}, heap ${times(heap)}` });
  }
  return verdicts;
}

function fanoutPart(results) {
  const { editors, typists, warmupMs, measureMs, rounds } = results.config.fanout;
  const rows = [];
  for (const row of results.fanout) {
    for (const key of keysOf(row)) {
      const r = row[key];
      const saturated = r.deliveriesPerSec < 0.9 * r.offeredDeliveriesPerSec;
      rows.push([
        `${row.ratePerSec}/s (${si(row.ratePerSec * editors)} deliveries/s)`,
        CONTENDERS[key].name,
        `${si(r.deliveriesPerSec)}${saturated ? ' (behind)' : ''}`,
        si(r.deliveriesPerCpuSec),
        key.startsWith('plume') ? '' : times(row.plume ? row.plume.deliveriesPerCpuSec / r.deliveriesPerCpuSec : NaN),
        r.runs.map((x) => si(x.deliveriesPerCpuSec)).join(', '),
        `${Math.round(r.serverCpuShare * 100)}%`,
        ms((r.latency ?? r).p50),
        ms((r.latency ?? r).p99),
        r.complete ? 'all' : `${r.delivered} of ${r.expected}`,
      ]);
    }
  }
  const floors = results.fanout.filter((row) => row.floor).map((row) => `${si(row.floor.writesPerCpuSec)} at ${row.ratePerSec}/s (${row.floor.usPerWrite.toFixed(2)} µs each)`);
  return [
    `### 1. Update fan-out (one document, ${editors} editors, ${typists} of them typing single characters at the offered rate; ${measureMs / 1000} s after ${warmupMs / 1000} s warm-up; best of ${rounds} runs in alternating order by deliveries per server CPU-second)`,
    '',
    table(['offered updates', 'contender', 'delivered/s', 'per server CPU-s', 'plume ÷ it', 'per server CPU-s, each run', 'server CPU', 'p50', 'p99', 'every update to every editor'], rows),
    '',
    'Delivered/s, per server CPU-s and server CPU are of the run with more deliveries per server CPU-second; p50 and p99 of the run with the lower p99. "behind": the server delivered less than 90% of what was offered over the window (its queue grew; its latency is then mostly waiting). Server CPU is its process\'s time on a CPU (all threads, from /proc) over the window, as a share of the window.',
    ...(floors.length > 0
      ? ['', `**\`plume, writeDelayMs: 20\`** is Plume with \`--write-delay 20\` (Centrifugo's \`write_delay\`): a socket's frames may wait up to 20 ms to leave together, which adds up to 20 ms to every delivery and ack in exchange for fewer writes.`, '', `**The write floor** (\`floor.mjs\`): a bare Node process, pinned as the servers are, writing one ${results.fanout[0].floor.frameBytes}-byte buffer to each of ${editors} sockets at the offered rate and doing nothing else, manages ${floors.join(', ')} writes per CPU-second. At a low rate every update has its event-loop turn to itself, so each server writes it to each socket on its own: no server delivers more than the floor per CPU-second there. At higher rates several updates share a turn and one write, which is where Plume pulls away.`]
      : []),
  ].join('\n');
}

function lateJoinPart(results) {
  const lj = results.lateJoin;
  const { joins, rounds } = results.config.lateJoin;
  const rows = keysOf(lj).map((key) => {
    const r = lj[key];
    return [CONTENDERS[key].name, bytes(r.bytes), bytes(r.stateBytes), key === 'plume' ? '' : times(lj.plume ? lj.plume.bytes / r.bytes : NaN), ms(r.ms), ms(r.minMs), ms(r.cpuPerJoinMs), r.whole ? 'yes' : 'NO', `${(r.buildMs / 1000).toFixed(1)} s`];
  });
  return [
    `### 2. Late join (a document built from ${lj.updates.toLocaleString('en')} updates by 4 editors, ${lj.textLength.toLocaleString('en')} characters left; median of ${joins} joins per run, the run with the lower median of ${rounds} in alternating order)`,
    '',
    table(['contender', 'bytes to the new client', 'of which the document', 'plume ÷ it (bytes)', 'open → whole document', 'fastest', 'server CPU per join', 'text checked', 'building it took'], rows),
    '',
    'Bytes are everything the server sent on the socket after the upgrade (frame headers included) until the document arrived; the time runs from opening the TCP connection until the update received is applied to an empty `Y.Doc`, whose text is then compared with the editors\'.',
  ].join('\n');
}

function memoryPart(results) {
  const mem = results.memory;
  const { rounds } = results.config.memory;
  const base = mem.hocuspocus;
  const rows = keysOf(mem).map((key) => {
    const r = mem[key];
    return [CONTENDERS[key].name, mb(r.rssTotal), mb(r.heapTotal), base ? times(r.rssTotal / base.rssTotal) : 'n/a', base ? times(r.heapTotal / base.heapTotal) : 'n/a', kb(r.rssPerDoc), kb(r.heapPerDoc), kb((r.loaded.arrayBuffers - r.connected.arrayBuffers) / r.docs), r.runs.map((x) => mb(x.rssTotal)).join(', ')];
  });
  return [
    `### 3. Idle memory (${mem.docs.toLocaleString('en')} documents of ${mem.updatesPerDoc.toLocaleString('en')} updates each, loaded, one editor socket per document kept open; after two full GCs; the lowest of ${rounds} runs in alternating order)`,
    '',
    table(['contender', 'RSS growth', 'heap growth', 'RSS ÷ hocuspocus', 'heap ÷ hocuspocus', 'RSS per document', 'heap per document', 'ArrayBuffers per document', 'RSS growth, each run'], rows),
    '',
    'Growth is from the fresh server to every document loaded, with the sockets; "per document" is from the sockets open on empty documents to the documents loaded, divided by their number. The `historyLimit: 100` row (one run) is Plume keeping the last 100 broadcasts per topic instead of 1,000: the difference is what the history of keystrokes costs, the rest the documents.',
  ].join('\n');
}

/** The whole report as markdown. */
export function render(results) {
  const { machine } = results;
  const busy = machine.loadAverage[0] > machine.cores / 2;
  const out = [
    `Machine: ${machine.cpu} × ${machine.cores} cores, ${machine.memoryGiB} GiB, ${machine.os}, Node ${machine.node}. ${machine.pinning}. Load average at start: ${machine.loadAverage.join(', ')}; at the end: ${(results.loadAverageAtEnd ?? []).join(', ')}${busy ? ' (the machine was busy with other work: rates and latencies are lower and noisier than on an idle one; deliveries per CPU-second much less so)' : ''}.`,
    `Run: ${results.startedAt}, ${Math.round(results.durationSec)} s. Contenders: plume (this repo), @y/websocket-server ${machine.versions.ywebsocket}, @hocuspocus/server ${machine.versions.hocuspocus} (yjs ${machine.versions.yjs}).`,
  ];
  if (results.fanout?.length) out.push(fanoutPart(results));
  if (results.lateJoin) out.push(lateJoinPart(results));
  if (results.memory) out.push(memoryPart(results));
  const verdicts = targets(results);
  if (verdicts.length > 0) {
    out.push(['### Targets (issue 19)', '', table(['target', 'met', 'figure'], verdicts.map((v) => [v.target, v.met ? 'yes' : '**NOT met**', v.figure]))].join('\n'));
  }
  return out.join('\n\n');
}
