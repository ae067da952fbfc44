/**
 * `GET /metrics` against a real server on port 0: where it is served (the
 * server's port, behind the API key when there is one, or a port of its
 * own), and that each `plume_*` metric moves when what it counts happens.
 */
import type { Socket } from 'node:net';
import { afterEach, describe, expect, inject, it } from 'vitest';
import WebSocket from 'ws';
import { redisEngine } from '../server/engine/redis/engine';
import { useServers, windowOf } from './helpers';
import { PLUME, joinOkWith, joinWith, pushWith, requestWith } from './plume-frames';
import { deadline } from './waiting';

const KEY = 'metrics-test-key-0123456789';
const start = useServers();
const sockets: WebSocket[] = [];
afterEach(() => sockets.splice(0).forEach((ws) => ws.terminate()));

/** Scrapes and parses the text format into `name{labels}` → value. */
async function scrape(url: string, headers: Record<string, string> = {}): Promise<Map<string, number>> {
  const res = await fetch(`${url}/metrics`, { headers });
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  const values = new Map<string, number>();
  for (const line of (await res.text()).split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const space = line.lastIndexOf(' ');
    values.set(line.slice(0, space), Number(line.slice(space + 1)));
  }
  return values;
}

describe('where /metrics is served', () => {
  it('on the server\'s port, open without an API key', async () => {
    const { url } = await start();
    const metrics = await scrape(url);
    expect(metrics.get('plume_connections')).toBe(0);
    expect([...metrics.keys()].some((k) => k.startsWith('plume_nodejs_eventloop_lag_p99_seconds'))).toBe(true);
  });

  it('behind the API key when one is set', async () => {
    const { url } = await start({ apiKey: KEY });
    expect((await fetch(`${url}/metrics`)).status).toBe(401);
    expect((await scrape(url, { authorization: `Bearer ${KEY}` })).get('plume_engine_up')).toBe(1);
  });

  it('on a port of its own with metricsPort (no key there), and not on the server\'s', async () => {
    const { url, server } = await start({ apiKey: KEY, metricsPort: 0 });
    expect(server.metricsUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
    expect((await scrape(server.metricsUrl!.replace(/\/metrics$/, ''))).get('plume_connections')).toBe(0);
    expect((await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${KEY}` } })).status).toBe(404);
  });

  it('nowhere with metrics: false', async () => {
    const { url } = await start({ metrics: false });
    expect((await fetch(`${url}/metrics`)).status).toBe(404);
  });
});

describe('what the metrics count', () => {
  it('connections, joins and refusals, frames and bytes, broadcasts and deliveries, dedupe hits, presence, history, HTTP requests', async () => {
    const { url, connect, server } = await start({ apiKey: KEY, presenceCoalesceMs: 0 });
    const auth = { authorization: `Bearer ${KEY}` };
    const ada = await connect({ name: 'ada', params: PLUME });
    const bob = await connect({ name: 'bob' });
    const joinRef = (await joinOkWith(ada, 'room:a')).joinRef;
    await bob.joinOk('room:a');
    expect((await bob.join('nowhere')).reply.status).toBe('error');
    const push = { topic: 'room:a', event: 'msg', payload: { body: 'hi' } };
    const meta = { id: 'm-1' };
    await requestWith(ada, push.topic, joinRef, push.event, push.payload, meta);
    await requestWith(ada, push.topic, joinRef, push.event, push.payload, meta); // the same id: a dedupe hit
    await fetch(`${url}/api/broadcast`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify({ ...push, payload: { body: 'from api' } }) });
    await bob.next((f) => f.payload.body === 'from api');

    const m = await scrape(url, auth);
    expect(m.get('plume_connections')).toBe(2);
    expect(m.get('plume_connections_opened_total')).toBe(2);
    expect(m.get('plume_channels')).toBe(2);
    expect(m.get('plume_topics')).toBe(1);
    expect(m.get('plume_joins_total{result="accepted"}')).toBe(2);
    expect(m.get('plume_joins_total{result="refused"}')).toBe(1);
    expect(m.get('plume_frames_total{direction="in"}')).toBe(5);
    expect(m.get('plume_frames_total{direction="out"}')).toBeGreaterThanOrEqual(8);
    expect(m.get('plume_bytes_total{direction="in"}')).toBeGreaterThan(100);
    expect(m.get('plume_broadcasts_total')).toBe(2);
    expect(m.get('plume_deliveries_total')).toBe(4);
    expect(m.get('plume_dedupe_hits_total')).toBe(1);
    expect(m.get('plume_presence_entries')).toBe(2);
    expect(m.get('plume_history_bytes')).toBeGreaterThan(0);
    expect(m.get('plume_http_requests_total{route="broadcast",status="200"}')).toBe(1);
    expect(m.get('plume_engine_up')).toBe(1);
    expect(m.get('plume_mesh_relayed_share')).toBe(0);
    // No per-topic or per-user label anywhere.
    expect([...m.keys()].filter((k) => /room:a|ada|bob/.test(k))).toEqual([]);
    expect(server.counters.broadcasts).toBe(2);
  });

  it('recovery outcomes', async () => {
    const { url, connect, server } = await start();
    for (let n = 0; n < 3; n++) await server.broadcast('room:r', 'm', { n });
    const { epoch } = windowOf(server, 'room:r');
    await joinOkWith(await connect({ params: PLUME }), 'room:r', { since: { epoch, seq: 1 } });
    await joinWith(await connect({ params: PLUME }), 'room:r', { since: { epoch: 'another', seq: 1 } });
    await joinOkWith(await connect({ params: PLUME }), 'room:r');
    const m = await scrape(url);
    expect([m.get('plume_recoveries_total{outcome="recovered"}'), m.get('plume_recoveries_total{outcome="not_recovered"}')]).toEqual([1, 1]);
  });

  it('slow-consumer closes', async () => {
    const { url, socketUrl, server } = await start({ maxBufferedBytes: 64 * 1024 });
    const ws = new WebSocket(`${socketUrl}?vsn=2.0.0&name=slow`);
    sockets.push(ws);
    ws.on('error', () => {});
    await new Promise((resolve) => ws.once('open', resolve));
    ws.send(JSON.stringify(['1', '1', 'room:s', 'phx_join', {}]));
    await new Promise((resolve) => ws.once('message', resolve));
    (ws as unknown as { _socket: Socket })._socket.pause();
    const chunk = 'x'.repeat(16 * 1024);
    await deadline(10_000, 'a slow-consumer close', (async () => {
      while (server.counters.slowConsumerCuts === 0) {
        for (let i = 0; i < 50; i++) void server.broadcast('room:s', 'chunk', { chunk });
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    })());
    expect((await scrape(url)).get('plume_slow_consumer_closes_total')).toBe(1);
  });

  it('HTTP rate-limit hits', async () => {
    const { url } = await start({ apiKey: KEY, apiRateLimit: { perSecond: 1, burst: 1 } });
    const auth = { authorization: `Bearer ${KEY}` };
    await fetch(`${url}/api/topics`, { headers: auth });
    expect((await fetch(`${url}/api/topics`, { headers: auth })).status).toBe(429);
    await new Promise((resolve) => setTimeout(resolve, 1100));
    expect((await scrape(url, auth)).get('plume_rate_limited_total{scope="http"}')).toBe(1);
  });

  it('engine latency and errors with Redis', async () => {
    const { url, server } = await start({ engine: redisEngine({ url: inject('redisUrl'), prefix: `metrics-${Date.now()}` }) });
    await server.broadcast('room:x', 'm', {});
    await server.history.read('room:x', 1, 1, 10);
    const m = await scrape(url);
    expect(m.get('plume_engine_latency_seconds_count{op="publish"}')).toBe(1);
    expect(m.get('plume_engine_latency_seconds_bucket{op="publish",le="+Inf"}')).toBe(1);
    expect(m.get('plume_engine_latency_seconds_count{op="read"}')).toBe(1);
    expect(m.get('plume_engine_errors_total')).toBe(0);
  });
});
