/**
 * Where `/metrics` reads a server's numbers: the parts of a `PlumeServer`
 * that count, presented as a {@link MetricsSource}. Every read is a field
 * or a small walk over this node's topics, done at scrape time only.
 */
import type { Fanout } from '../delivery/fanout';
import type { Engine } from '../engine/engine';
import { MemoryEngine } from '../engine/memory/engine';
import type { HttpApi } from '../http/api';
import type { MeshRegistry } from '../mesh/registry';
import type { PresenceTracker } from '../presence/tracker';
import type { ServerCounters } from './counters';
import type { EngineTimings } from './engine-timing';
import type { MetricsSource } from './registry';

/** The server's parts `/metrics` reads. */
export interface CountingParts {
  counters: ServerCounters;
  engine: Engine;
  engineTimings: EngineTimings | null;
  fanout: Fanout;
  presence: PresenceTracker;
  mesh: MeshRegistry | null;
  api: HttpApi;
  /** Open sockets and joined channels on this node. */
  sockets(): { sockets: number; channels: number };
}

/**
 * @example createRegistry(metricsSource({ counters, engine, engineTimings: null, fanout, presence, mesh, api, sockets }))
 */
export function metricsSource(parts: CountingParts): MetricsSource {
  const { fanout, mesh, engine, api } = parts;
  return {
    counters: parts.counters,
    engineTimings: parts.engineTimings,
    gauges: () => ({
      ...parts.sockets(),
      topics: fanout.topicCount,
      presenceEntries: parts.presence.entries(),
      historyBytes: engine instanceof MemoryEngine ? engine.history.memory().heldBytes : null,
      engineUp: engine.health().ready,
    }),
    deliveries: () => ({ total: fanout.deliveries, relayed: fanout.relayed, relayedBytes: fanout.relayedBytes }),
    mesh: () => mesh && { rooms: mesh.roomCount, signatures: mesh.signer.signatures, reports: mesh.reports },
    http: () => ({ requests: api.requests, rateLimited: api.rateLimited }),
  };
}
