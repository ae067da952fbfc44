/**
 * Idle memory: `docs` documents, each built from `perDoc` updates by its
 * own editor socket, which stays connected so every contender keeps the
 * document loaded (Hocuspocus unloads a document when its last connection
 * closes). Server RSS and heap after two full GCs are read fresh, after the
 * sockets opened on empty documents, and after every document is built:
 * the last minus the first is what the loaded documents cost with their
 * sockets, the last minus the middle what the documents alone cost.
 */
import { DocClient } from './client.mjs';
import { echoCounter, sendAll } from './loader.mjs';

async function inBatches(count, parallel, task) {
  const results = [];
  for (let i = 0; i < count; i += parallel) {
    const batch = [];
    for (let j = i; j < Math.min(count, i + parallel); j++) batch.push(task(j));
    results.push(...(await Promise.all(batch)));
  }
  return results;
}

/** @param {{ docs: number, updates: Uint8Array[], settleMs: number }} config */
export async function memory(contender, server, { docs, updates, settleMs }) {
  const fresh = await server.memory();
  const counters = Array.from({ length: docs }, () => echoCounter());
  const clients = await inBatches(docs, 50, (i) => DocClient.open(contender, server.port, `doc${i}`, { onUpdate: counters[i].onUpdate }));
  await new Promise((r) => setTimeout(r, settleMs));
  const connected = await server.memory();
  const t0 = performance.now();
  await inBatches(docs, 50, (i) => sendAll(clients[i], counters[i], updates, { window: 100 }));
  const buildMs = performance.now() - t0;
  await new Promise((r) => setTimeout(r, settleMs));
  const loaded = await server.memory();
  for (const client of clients) client.close();
  const per = (a, b, key) => (a[key] - b[key]) / docs;
  return {
    docs,
    updatesPerDoc: updates.length,
    buildMs,
    fresh,
    connected,
    loaded,
    rssTotal: loaded.rss - fresh.rss,
    heapTotal: loaded.heapUsed - fresh.heapUsed,
    rssPerDoc: per(loaded, connected, 'rss'),
    heapPerDoc: per(loaded, connected, 'heapUsed'),
    externalPerDoc: per(loaded, connected, 'external'),
  };
}
