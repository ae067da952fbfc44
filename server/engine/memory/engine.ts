/**
 * The memory engine: the embedded, zero-setup default. Order, history,
 * dedupe and the PubSub bus live in this process; nothing survives a
 * restart (every topic gets a new epoch, and clients are told so).
 *
 * Several in-process nodes may share one `MemoryStore`, as several nodes
 * share one Redis: one order per topic, one dedupe table, one bus. Tests use
 * that to run clusters without Redis.
 */
import type { Engine, EngineContext, EngineFactory, EngineHealth, EngineLimits } from '../engine';
import type { Logger } from '../../log';
import type { PubSubAdapter } from '../../pubsub/adapter';
import { MemoryAdapter, MemoryBus } from '../../pubsub/memory';
import { MemoryDedupeStore } from './dedupe';
import { MemoryDocuments } from './documents';
import { MemoryHistory } from './history';
import { MemoryLog } from './log';
import { MemoryNodes } from './nodes';

/**
 * What in-process nodes share. Its history and dedupe limits are those of
 * the first node that uses it.
 *
 * @example
 * const store = new MemoryStore();
 * const a = new PlumeServer({ engine: memoryEngine({ store }) });
 * const b = new PlumeServer({ engine: memoryEngine({ store }) }); // one order per topic across a and b
 */
export class MemoryStore {
  readonly bus = new MemoryBus();
  readonly nodes = new MemoryNodes();
  readonly documents = new MemoryDocuments();
  private parts: { history: MemoryHistory; log: MemoryLog; dedupe: MemoryDedupeStore } | undefined;
  private lastEvictionWarning = -Infinity;

  /** @internal The history, log and dedupe store, made with the first node's limits. */
  use(limits: EngineLimits, log: Logger): { history: MemoryHistory; log: MemoryLog; dedupe: MemoryDedupeStore } {
    if (this.parts) return this.parts;
    const history = new MemoryHistory({
      limit: limits.historyLimit, maxAgeMs: limits.historyMaxAgeMs, maxBytes: limits.historyMaxBytes,
      maxBytesPerTopic: limits.historyMaxBytesPerTopic, maxBytesPerUser: limits.historyMaxBytesPerUser,
    });
    const dedupe = new MemoryDedupeStore({
      windowMs: limits.dedupeWindowMs, maxEntries: limits.dedupeMaxEntries, maxPerUser: limits.dedupeMaxPerUser,
      onEarlyEviction: (ageMs, user, cause) => this.warnEviction(log, ageMs, user, cause, limits),
    });
    this.parts = { history, log: new MemoryLog(history, (error, topic) => log.error(`a subscriber of ${topic} threw:`, error)), dedupe };
    return this.parts;
  }

  /** Says, once a minute at most, that a cap made the dedupe store forget an id within its window. */
  private warnEviction(log: Logger, ageMs: number, user: string, cause: 'user' | 'global', limits: EngineLimits): void {
    const now = Date.now();
    if (now - this.lastEvictionWarning < 60_000) return;
    this.lastEvictionWarning = now;
    const why = cause === 'user' ? `${JSON.stringify(user).slice(0, 80)} reached dedupeMaxPerUser (${limits.dedupeMaxPerUser}); only its own oldest ids go` : `dedupeMaxEntries (${limits.dedupeMaxEntries}) was reached`;
    log.warn(`dedupe: forgot a message id after ${Math.round(ageMs / 1000)} s, before dedupeWindowMs, because ${why}`);
  }
}

/** One node's view of a `MemoryStore`. */
export class MemoryEngine implements Engine {
  readonly name = 'memory';
  readonly log: MemoryLog;
  readonly dedupe: MemoryDedupeStore;
  readonly pubsub: PubSubAdapter;
  readonly nodes: MemoryNodes;
  readonly documents: MemoryDocuments;
  readonly history: MemoryHistory;

  constructor(store: MemoryStore, context: EngineContext, adapter?: MemoryEngineOptions['adapter']) {
    const parts = store.use(context.limits, context.log);
    this.history = parts.history;
    this.log = parts.log;
    this.dedupe = parts.dedupe;
    this.nodes = store.nodes;
    this.documents = store.documents;
    this.pubsub = adapter ? adapter(store.bus, context.node) : new MemoryAdapter({ bus: store.bus, nodeName: context.node });
  }

  start(): Promise<void> {
    return Promise.resolve();
  }

  close(): Promise<void> {
    return Promise.resolve();
  }

  health(): EngineHealth {
    return { engine: this.name, ready: true };
  }
}

/** Options of {@link memoryEngine}. */
export interface MemoryEngineOptions {
  /** Shared by in-process nodes of one cluster. Default: a store of this node's own. */
  store?: MemoryStore;
  /** Makes the node's PubSub adapter on the store's bus (tests use one that serializes, as a network would). */
  adapter?: (bus: MemoryBus, node: string) => PubSubAdapter;
}

/**
 * The memory engine (the default): pass a shared `store` to make in-process nodes of one cluster.
 *
 * @example
 * new PlumeServer({ engine: memoryEngine() }); // what `new PlumeServer()` does
 */
export function memoryEngine(options: MemoryEngineOptions = {}): EngineFactory {
  return (context) => new MemoryEngine(options.store ?? new MemoryStore(), context, options.adapter);
}
