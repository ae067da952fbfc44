/**
 * Update fan-out: one document, `editors` sockets synced to it, `typists` of
 * them sending single-character inserts at a steady offered rate (open
 * loop: sends follow the clock, not the server's answers). Every receiver
 * finds each update's send time by its (client, clock) and records the
 * delivery latency; over the measured window, deliveries are counted at the
 * receivers and the server's CPU time is read from its process, which gives
 * updates delivered per server CPU-second.
 */
import { DocClient } from './client.mjs';
import { cpuSeconds } from './cpu.mjs';
import { updateKey } from './updates.mjs';

const TICK_MS = 5;

/** Opens `count` editors on `doc`, `parallel` at a time. */
async function openEditors(contender, port, doc, count, onUpdate, parallel = 20) {
  const editors = [];
  for (let i = 0; i < count; i += parallel) {
    const batch = [];
    for (let j = i; j < Math.min(count, i + parallel); j++) batch.push(DocClient.open(contender, port, doc, { onUpdate }));
    editors.push(...(await Promise.all(batch)));
  }
  return editors;
}

function percentile(sorted, p) {
  return sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
}

/**
 * @param {{ editors: number, typists: number, ratePerSec: number, warmupMs: number, measureMs: number, updates: Uint8Array[] }} config
 */
export async function fanout(contender, server, { editors: editorCount, typists, ratePerSec, warmupMs, measureMs, seed, updates }) {
  const total = Math.ceil((ratePerSec * (warmupMs + measureMs)) / 1000);
  if (updates.length < total) throw new Error(`fan-out needs ${total} updates, got ${updates.length}`);
  const keyIndex = new Map(updates.slice(0, total).map((u, i) => [updateKey(u, 0), i]));
  const sentAt = new Float64Array(total);
  const samples = new Float64Array(total * editorCount);
  let sampleCount = 0;
  let delivered = 0;
  let measuring = false;
  const onUpdate = (buf, start) => {
    delivered++;
    if (!measuring) return;
    const index = keyIndex.get(updateKey(buf, start));
    if (index !== undefined && sentAt[index] > 0) samples[sampleCount++] = performance.now() - sentAt[index];
  };
  const editors = await openEditors(contender, server.port, 'fanout', editorCount, onUpdate);
  const frames = updates.slice(0, total).map((u, i) => editors[i % typists].frame(u));
  // The paragraphs the typists type into: everyone holds them before the clock starts.
  editors[0].sendFrames([editors[0].frame(seed)]);
  const seeded = performance.now() + 10_000;
  while (delivered < editorCount && performance.now() < seeded) await new Promise((r) => setTimeout(r, 20));
  if (delivered < editorCount) throw new Error(`${contender.name}: the seed reached ${delivered} of ${editorCount} editors`);
  delivered = 0;

  const started = performance.now();
  let sent = 0;
  let window = null;
  await new Promise((resolve, reject) => {
    const timer = setInterval(() => {
      const now = performance.now();
      const due = Math.min(total, Math.floor(((now - started) * ratePerSec) / 1000));
      for (; sent < due; sent++) {
        sentAt[sent] = now;
        editors[sent % typists].sendFrames([frames[sent]]);
      }
      if (!window && now - started >= warmupMs) {
        // The window opens: deliveries, latency samples and server CPU count from here.
        window = { deliveredAt: delivered, cpu: cpuSeconds(server.pid), load: process.cpuUsage(), at: now };
        measuring = true;
      }
      if (sent >= total) {
        clearInterval(timer);
        resolve();
      }
    }, TICK_MS);
    timer.unref?.();
    void reject;
  });
  const end = performance.now();
  const cpuEnd = cpuSeconds(server.pid);
  const deliveredInWindow = delivered - window.deliveredAt;
  const loadCpu = process.cpuUsage(window.load);
  measuring = false;
  // A server that fell behind drains its queue: waited for while deliveries keep arriving (at most
  // a minute), then every editor must have every update.
  const expected = total * editorCount;
  const deadline = performance.now() + 60_000;
  let progress = { at: performance.now(), delivered };
  while (delivered < expected && performance.now() < deadline && performance.now() - progress.at < 2000) {
    await new Promise((r) => setTimeout(r, 50));
    if (delivered > progress.delivered) progress = { at: performance.now(), delivered };
  }
  for (const editor of editors) editor.close();
  const seconds = (end - window.at) / 1000;
  const serverCpu = cpuEnd - window.cpu;
  const sorted = samples.subarray(0, sampleCount).sort();
  return {
    offeredUpdatesPerSec: ratePerSec,
    offeredDeliveriesPerSec: ratePerSec * editorCount,
    deliveriesPerSec: deliveredInWindow / seconds,
    deliveriesPerCpuSec: deliveredInWindow / serverCpu,
    serverCpuShare: serverCpu / seconds,
    loadCpuShare: (loadCpu.user + loadCpu.system) / 1e6 / seconds,
    p50: percentile(sorted, 0.5),
    p99: percentile(sorted, 0.99),
    max: sorted[sorted.length - 1] ?? NaN,
    samples: sampleCount,
    complete: delivered >= expected,
    delivered,
    expected,
  };
}
