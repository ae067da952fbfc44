/**
 * HTTP publish throughput: broadcasts per second a Plume server takes in
 * through `POST /api/broadcast`, one message per request and in batches,
 * from a small keep-alive load generator (`concurrency` requests in flight
 * on as many kept-alive connections, closed loop), while `perRoom` members
 * of the room receive every broadcast over WebSocket. Beside it, the same
 * room fed over a WebSocket (the fan-out part's publisher), so the two
 * read side by side.
 *
 * Responsible for driving and counting; the server is the bench's Plume
 * server started with `--api-key` (bench/servers/plume.ts), its HTTP rate
 * limit off.
 */
import { Agent, request } from 'node:http';
import { CONTENDERS } from './contenders.mjs';
import { connectMembers, dataJson, destroyAll, fanout, sleep, until } from './load.mjs';

/** The API key the bench's Plume server is started with (`--api-key`). */
export const BENCH_API_KEY = 'bench-api-key-0123456789abcdef';

/** One POST on a kept-alive connection; resolves with the status once the answer is read. */
function post(agent, port, body) {
  return new Promise((resolve, reject) => {
    const req = request({ agent, host: '127.0.0.1', port, method: 'POST', path: '/api/broadcast', headers: { authorization: `Bearer ${BENCH_API_KEY}`, 'content-type': 'application/json', 'content-length': body.length } }, (res) => {
      res.resume();
      res.once('end', () => resolve(res.statusCode));
    });
    req.once('error', reject);
    req.end(body);
  });
}

function percentile(sorted, p) {
  return sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
}

/**
 * Broadcasts per second through the HTTP API with `batch` messages per request.
 * @example await httpPublish(server, { perRoom: 100, payloadBytes: 200, batch: 1, concurrency: 16, warmupMs: 1000, measureMs: 3000 })
 */
export async function httpPublish(server, { perRoom, payloadBytes, batch, concurrency, warmupMs, measureMs }) {
  let delivered = 0;
  const members = await connectMembers(CONTENDERS.plume, server.port, { rooms: 1, perRoom, onDelivery: () => delivered++ });
  const message = `{"topic":"room:0","event":"msg","payload":${dataJson(payloadBytes, 0, 0)}}`;
  const body = Buffer.from(batch === 1 ? message : `{"messages":[${Array.from({ length: batch }, () => message).join(',')}]}`);
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  let running = true;
  let measuring = false;
  let accepted = 0;
  let failed = 0;
  const latencies = [];
  const worker = async () => {
    while (running) {
      const t0 = performance.now();
      const status = await post(agent, server.port, body);
      if (status !== 200) failed++;
      else if (measuring) {
        accepted += batch;
        latencies.push(performance.now() - t0);
      }
    }
  };
  const workers = Array.from({ length: concurrency }, worker);
  await sleep(warmupMs);
  const cpu0 = await server.cpuSplit();
  measuring = true;
  const t0 = performance.now();
  await sleep(measureMs);
  measuring = false;
  const seconds = (performance.now() - t0) / 1000;
  const cpu1 = await server.cpuSplit();
  running = false;
  await Promise.all(workers);
  agent.destroy();
  const sent = accepted;
  let complete = true;
  try {
    // Every broadcast answered 200 reached every member (the warm-up's too, counted apart here).
    await until(() => delivered >= sent * perRoom, 10_000, 'the last broadcasts to arrive');
  } catch {
    complete = false;
  }
  destroyAll(members);
  latencies.sort((a, b) => a - b);
  const cpuSeconds = cpu1.user - cpu0.user + (cpu1.system - cpu0.system);
  return {
    broadcastsPerSec: accepted / seconds,
    requestsPerSec: accepted / batch / seconds,
    broadcastsPerCpuSec: accepted / cpuSeconds,
    p50Ms: percentile(latencies, 0.5),
    p99Ms: percentile(latencies, 0.99),
    failed,
    complete,
  };
}

/** The HTTP part: single and batched requests, and the same room over a WebSocket publisher. */
export async function httpPart(withServer, { perRoom, payloadBytes, concurrency, batch, warmupMs, measureMs }) {
  const extra = ['--api-key', BENCH_API_KEY];
  const run = (size) => withServer('plume', (server) => httpPublish(server, { perRoom, payloadBytes, batch: size, concurrency, warmupMs, measureMs }), extra);
  const single = await run(1);
  console.log(`[bench] http: one message per request ${Math.round(single.broadcastsPerSec)} broadcasts/s`);
  const batched = await run(batch);
  console.log(`[bench] http: ${batch} per request ${Math.round(batched.broadcastsPerSec)} broadcasts/s`);
  const websocket = await withServer('plume', (server) => fanout(CONTENDERS.plume, server, { rooms: 1, perRoom, payloadBytes, warmupMs, measureMs, window: 20_000 }), extra);
  console.log(`[bench] http: the same room over a WebSocket ${Math.round(websocket.broadcastsPerSec)} broadcasts/s`);
  return { perRoom, payloadBytes, concurrency, batch, single, batched, websocket: { broadcastsPerSec: websocket.broadcastsPerSec, broadcastsPerCpuSec: websocket.broadcastsPerCpuSec, complete: websocket.complete } };
}
