/**
 * Statistics and the printed table for the outbox benchmark. Pure functions
 * of the raw per-run results: nothing here measures.
 */

/** The target of issue 3: 1,000 queued sends flushed and acknowledged after reconnect. */
export const FLUSH_TARGET_MS = 2000;

/** Nearest-rank percentile of unsorted numbers. */
export function percentile(values, p) {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

const median = (values) => percentile(values, 50);

/** Summary of one enqueue scenario for one implementation, all runs pooled. */
function enqueueStats(runs, count) {
  const latencies = runs.flatMap((r) => r.latencies);
  const totals = runs.map((r) => r.totalMs);
  return {
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    max: Math.max(...latencies),
    totalMs: median(totals),
    perSec: (count * 1000) / median(totals),
  };
}

/** Summary of the flush for one implementation: medians over runs, and the worst run. */
function flushStats(runs) {
  const pick = (key) => runs.map((r) => r[key]);
  return {
    joinedMs: median(pick('joinedMs')),
    ackedMs: median(pick('ackedMs')),
    ackedWorstMs: Math.max(...pick('ackedMs')),
    emptyOnDiskMs: median(pick('emptyOnDiskMs')),
    emptyOnDiskWorstMs: Math.max(...pick('emptyOnDiskMs')),
    acked: Math.min(...pick('acked')),
  };
}

/** Turns `raw` ({enqueue: {sequential|burst: {plume, baseline}: run[]}, flush: {plume, baseline}: run[]}) into summaries. */
export function summarize(raw, count) {
  const summary = { enqueue: {}, flush: {} };
  for (const [mode, byImpl] of Object.entries(raw.enqueue)) {
    summary.enqueue[mode] = { plume: enqueueStats(byImpl.plume, count), baseline: enqueueStats(byImpl.baseline, count) };
  }
  summary.flush = { plume: flushStats(raw.flush.plume), baseline: flushStats(raw.flush.baseline) };
  if (raw.crosscheck) summary.crosscheck = { plume: flushStats(raw.crosscheck.plume), baseline: flushStats(raw.crosscheck.baseline) };
  return summary;
}

/** The verdicts on the targets. */
export function targets(summary, count) {
  const flush = summary.flush.plume;
  const verdicts = [
    {
      target: `${count} queued sends flushed and acked after reconnect < ${FLUSH_TARGET_MS} ms (median of runs)`,
      met: flush.ackedMs < FLUSH_TARGET_MS && flush.acked === count,
      figure: `${ms(flush.ackedMs)} (worst run ${ms(flush.ackedWorstMs)}; ${flush.acked}/${count} acked)`,
    },
    {
      target: 'flush faster than the naive baseline',
      met: flush.ackedMs < summary.flush.baseline.ackedMs,
      figure: `${ratio(summary.flush.baseline.ackedMs, flush.ackedMs)} faster`,
    },
  ];
  const cross = summary.crosscheck?.plume;
  if (cross) {
    verdicts.push({
      target: `same flush target, cross-check without DevTools attached`,
      met: cross.ackedMs < FLUSH_TARGET_MS && cross.acked === count,
      figure: `${ms(cross.ackedMs)} (worst run ${ms(cross.ackedWorstMs)}; ${cross.acked}/${count} acked)`,
    });
  }
  return verdicts;
}

export const ms = (v) => (Number.isFinite(v) ? `${v < 10 ? v.toFixed(2) : v.toFixed(0)} ms` : 'n/a');
const rate = (v) => (Number.isFinite(v) ? `${v >= 1e4 ? `${(v / 1e3).toFixed(0)}k` : v >= 1e3 ? `${(v / 1e3).toFixed(1)}k` : v.toFixed(0)}/s` : 'n/a');
/** How many times better Plume is: baseline ÷ plume for times (lower is better). */
const ratio = (baseline, plume) => (Number.isFinite(baseline / plume) && plume > 0 ? `${(baseline / plume).toFixed(2)}×` : 'n/a');
const ratioRate = (baseline, plume) => ratio(plume, baseline);

function table(header, rows) {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
  const line = (cells) => `| ${cells.map((c, i) => String(c).padEnd(widths[i])).join(' | ')} |`;
  return [line(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.map(line)].join('\n');
}

function flushTable(f, count) {
  return table(
    ['from connect() to', 'baseline (stop-and-wait)', 'plume', '×'],
    [
      ['channel joined', ms(f.baseline.joinedMs), ms(f.plume.joinedMs), ''],
      [`all ${count} acked`, ms(f.baseline.ackedMs), ms(f.plume.ackedMs), ratio(f.baseline.ackedMs, f.plume.ackedMs)],
      ['outbox empty on disk', ms(f.baseline.emptyOnDiskMs), ms(f.plume.emptyOnDiskMs), ratio(f.baseline.emptyOnDiskMs, f.plume.emptyOnDiskMs)],
      ['worst run, all acked', ms(f.baseline.ackedWorstMs), ms(f.plume.ackedWorstMs), ''],
    ],
  );
}

/** The whole report as text. */
export function render(results) {
  const { machine, config, summary } = results;
  const out = [];
  out.push(`Machine: ${machine.cpu} × ${machine.cores} cores, ${machine.os}, Node ${machine.node}, ${machine.browser}, Playwright ${machine.playwright}.`);
  const { before, after } = machine.loadAverage;
  const busy = Math.max(before, after) > machine.cores * 0.75;
  out.push(`Load average (1 min) ${before.toFixed(2)} before, ${after.toFixed(2)} after${busy ? ': the machine was busy with other work, figures are noisy; re-run when it is idle' : ''}.`);
  out.push(`Run: ${results.startedAt}, ${results.durationSec.toFixed(0)} s. ${config.count} messages × ${config.runs} runs, ~200 B payloads, ${config.storage}, server in-process on 127.0.0.1 (default relay on room:*) on the ${config.engine === 'redis' ? 'Redis engine (its own redis-server, on the same machine)' : 'memory engine'}.`);
  out.push('Baseline = naive outbox in the bench page (bench/outbox/baseline.ts): one strict idb-keyval set per message; flush stop-and-wait with one del transaction per ack.');
  out.push("'×' = how many times better Plume is than the baseline (baseline time ÷ Plume time, or Plume rate ÷ baseline rate).");
  out.push('', '### 1. Enqueue to durable: channel.send() call → promise resolved (strict IndexedDB commit)', '');
  const rows = [];
  for (const [mode, label] of [['sequential', 'one at a time (each awaited)'], ['burst', `burst (${config.count} called in one task)`]]) {
    const s = summary.enqueue[mode];
    if (!s) continue;
    rows.push([label, 'p50', ms(s.baseline.p50), ms(s.plume.p50), ratio(s.baseline.p50, s.plume.p50)]);
    rows.push(['', 'p99', ms(s.baseline.p99), ms(s.plume.p99), ratio(s.baseline.p99, s.plume.p99)]);
    rows.push(['', 'messages/s', rate(s.baseline.perSec), rate(s.plume.perSec), ratioRate(s.baseline.perSec, s.plume.perSec)]);
  }
  out.push(table(['scenario', 'metric', 'baseline', 'plume', '×'], rows));
  out.push('', `### 2. Flush after reconnect: ${config.count} queued while disconnected, then socket.connect() → … (median of ${config.runs} runs)`, '');
  out.push(flushTable(summary.flush, config.count));
  if (summary.crosscheck) {
    out.push('', '### 2b. The same flush in a Chromium with no DevTools client attached (Playwright reports every WebSocket frame over CDP)', '');
    out.push(flushTable(summary.crosscheck, config.count));
  }
  out.push('', '### Targets', '');
  out.push(table(['target', 'met', 'figure'], results.targets.map((t) => [t.target, t.met ? 'yes' : 'NO', t.figure])));
  return out.join('\n');
}
