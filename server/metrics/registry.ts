/**
 * The Prometheus registry behind `GET /metrics`: every `plume_*` metric,
 * read from what the server already counts when a scrape asks.
 *
 * Responsible for names, help texts, labels and reading the source at
 * scrape time (collect callbacks), so nothing here runs per frame or per
 * delivery. prom-client is loaded with `import()` on the first scrape (a
 * dynamic import that bundlers keep lazy): it costs about 50 ms to load,
 * which a server that is never scraped, and every cold start, does not pay.
 * Labels are bounded sets (direction, result, scope, op, route, status):
 * never a topic or a user.
 */
import type { Counter, Gauge, Metric, Registry } from 'prom-client';
import { LATENCY_BUCKETS, type LatencyHistogram, type ServerCounters } from './counters';
import type { EngineTimings } from './engine-timing';

/** What the registry reads at each scrape. */
export interface MetricsSource {
  readonly counters: ServerCounters;
  /** Open sockets, joined channels, topics with members on this node. */
  gauges(): { sockets: number; channels: number; topics: number; presenceEntries: number; historyBytes: number | null; engineUp: boolean };
  /** Broadcast deliveries to this node's members, and those a peer carried instead (mesh). */
  deliveries(): { total: number; relayed: number; relayedBytes: number };
  mesh(): { rooms: number; signatures: number; reports: number } | null;
  /** Engine latency, or null when the engine is not timed (memory). */
  readonly engineTimings: EngineTimings | null;
  /** HTTP API requests by route template and status, and requests refused by its rate limit. */
  http(): { requests: ReadonlyMap<string, number>; rateLimited: number };
}

/**
 * Builds the registry for one server (each server has its own: tests run many in one process).
 * @example const text = await (await createRegistry(source)).metrics();
 */
export async function createRegistry(source: MetricsSource): Promise<Registry> {
  const { Counter, Gauge, Registry, collectDefaultMetrics } = await import('prom-client');
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'plume_' });
  const c = source.counters;
  const counter = (name: string, help: string, labelNames: string[], read: (set: (labels: Record<string, string>, value: number) => void) => void) =>
    new Counter({
      name, help, labelNames, registers: [registry],
      collect(this: Counter) {
        this.reset();
        read((labels, value) => this.inc(labels, value));
      },
    });
  const gauge = (name: string, help: string, read: () => number | null) =>
    new Gauge({
      name, help, registers: [registry],
      collect(this: Gauge) {
        const value = read();
        if (value !== null) this.set(value);
      },
    });
  const plain = (name: string, help: string, read: () => number) => counter(name, help, [], (set) => set({}, read()));

  gauge('plume_connections', 'Open sockets on this node.', () => source.gauges().sockets);
  plain('plume_connections_opened_total', 'Sockets accepted on this node since start.', () => c.connections);
  plain('plume_y_websocket_connections_opened_total', 'Of them, y-websocket clients (/yjs/<room>).', () => c.yWebsocketConnections);
  gauge('plume_channels', 'Joined channels on this node.', () => source.gauges().channels);
  gauge('plume_topics', 'Topics with at least one joined member on this node.', () => source.gauges().topics);
  counter('plume_joins_total', 'Joins answered, by result.', ['result'], (set) => {
    set({ result: 'accepted' }, c.joins);
    set({ result: 'refused' }, c.joinRefusals);
  });
  counter('plume_frames_total', 'WebSocket frames, by direction.', ['direction'], (set) => {
    set({ direction: 'in' }, c.framesIn);
    set({ direction: 'out' }, c.frames);
  });
  counter('plume_bytes_total', 'WebSocket frame bytes, by direction.', ['direction'], (set) => {
    set({ direction: 'in' }, c.bytesIn);
    set({ direction: 'out' }, c.bytes);
  });
  plain('plume_broadcasts_total', 'Broadcasts published on this node (sockets, server code and the HTTP API).', () => c.broadcasts);
  plain('plume_deliveries_total', 'Broadcasts delivered to members on this node, directly or through a peer.', () => source.deliveries().total);
  plain('plume_slow_consumer_closes_total', 'Sockets closed with 4429 because they stopped reading.', () => c.slowConsumerCuts);
  counter('plume_rate_limited_total', 'Frames or requests refused by a rate limit, by scope.', ['scope'], (set) => {
    set({ scope: 'socket' }, c.rateLimited);
    set({ scope: 'http' }, source.http().rateLimited);
  });
  plain('plume_dedupe_hits_total', 'Pushes with a message id already applied, answered with the original reply.', () => c.dedupeHits);
  counter('plume_recoveries_total', 'Joins that asked to recover from a position, by outcome.', ['outcome'], (set) => {
    set({ outcome: 'recovered' }, c.recovered);
    set({ outcome: 'not_recovered' }, c.notRecovered);
  });
  gauge('plume_history_bytes', 'Bytes of history held (memory engine; absent with Redis).', () => source.gauges().historyBytes);
  gauge('plume_presence_entries', 'Presence metas (one per tracked channel) in this node\'s view, across nodes.', () => source.gauges().presenceEntries);
  gauge('plume_mesh_rooms', 'Rooms with a peer mesh on this node.', () => source.mesh()?.rooms ?? 0);
  plain('plume_mesh_signatures_total', 'Batch signatures made for relayed broadcasts.', () => source.mesh()?.signatures ?? 0);
  plain('plume_mesh_relayed_total', 'Deliveries a peer carried instead of this server (mesh).', () => source.deliveries().relayed);
  plain('plume_mesh_egress_saved_bytes_total', 'Payload bytes this server did not send because a peer relayed them.', () => source.deliveries().relayedBytes);
  gauge('plume_mesh_relayed_share', 'Share of deliveries carried by peers since start (0 to 1).', () => {
    const { total, relayed } = source.deliveries();
    return total === 0 ? 0 : relayed / total;
  });
  gauge('plume_engine_up', '1 while the engine (its store, such as Redis) can be reached, else 0.', () => (source.gauges().engineUp ? 1 : 0));
  plain('plume_engine_errors_total', 'Engine publishes and history reads that failed.', () => c.engineErrors);
  if (source.engineTimings) registry.registerMetric(latencyMetric(source.engineTimings) as unknown as Metric);
  counter('plume_http_requests_total', 'HTTP API requests, by route and status.', ['route', 'status'], (set) => {
    for (const [key, value] of source.http().requests) {
      const [route = '', status = ''] = key.split(' ');
      set({ route, status }, value);
    }
  });
  return registry;
}

/** `plume_engine_latency_seconds{op}`: a histogram read from plain arrays at scrape time. */
function latencyMetric(timings: EngineTimings) {
  const name = 'plume_engine_latency_seconds';
  const series = (op: string, histogram: LatencyHistogram) => [
    ...histogram.counts.map((value, i) => ({ labels: { op, le: LATENCY_BUCKETS[i]! }, value, metricName: `${name}_bucket` })),
    { labels: { op, le: '+Inf' }, value: histogram.count, metricName: `${name}_bucket` },
    { labels: { op }, value: histogram.sum, metricName: `${name}_sum` },
    { labels: { op }, value: histogram.count, metricName: `${name}_count` },
  ];
  return {
    name,
    help: 'Latency of engine publishes and history reads (Redis), in seconds.',
    type: 'histogram',
    aggregator: 'sum',
    get: () => ({ name, help: 'Latency of engine publishes and history reads (Redis), in seconds.', type: 'histogram', aggregator: 'sum', values: [...series('publish', timings.publish), ...series('read', timings.read)] }),
    reset: () => {},
  };
}
