/**
 * The Redis engine: order, history, dedupe, node liveness and the bus
 * between nodes, all in Redis, so several server nodes share one order per
 * topic and a restart loses nothing Redis kept. Clients may reconnect to
 * any node and recover: no sticky sessions.
 *
 * Uses `ioredis` (auto-pipelining, reconnect with backoff, Lua scripts sent
 * by SHA, Buffer replies, and a Cluster client with the same API). Keys are
 * laid out in `keys.ts`; the atomic steps are `scripts.ts`.
 */
import type { Engine, EngineContext, EngineFactory, EngineHealth } from '../engine';
import { RedisBus } from './bus';
import { RedisLink } from './connection';
import { RedisDedupeStore } from './dedupe';
import { RedisDocuments } from './documents';
import { RedisLog } from './log';
import { RedisNodes } from './nodes';

/** Options of {@link redisEngine}. */
export interface RedisEngineOptions {
  /** `redis://[user:password@]host:port[/db]`. */
  url: string;
  /** Prefix of every key and channel, so several apps can share a Redis. Default `"plume"`. */
  prefix?: string;
  /** How long `start()` waits for Redis before the server starts anyway (and answers `unavailable`). Default 2000 ms. */
  connectWaitMs?: number;
}

export class RedisEngine implements Engine {
  readonly name = 'redis';
  readonly log: RedisLog;
  readonly dedupe: RedisDedupeStore;
  readonly pubsub: RedisBus;
  readonly nodes: RedisNodes;
  readonly documents: RedisDocuments;
  readonly link: RedisLink;
  private lastEvictionWarning = -Infinity;

  constructor(private readonly options: RedisEngineOptions, context: EngineContext) {
    const prefix = options.prefix ?? 'plume';
    if (!/^[\w.:-]{1,64}$/.test(prefix)) throw new Error(`redis prefix must be 1 to 64 letters, digits, "_", ".", ":" or "-", got ${JSON.stringify(prefix)}`);
    this.link = new RedisLink(options.url, context.node, context.log);
    this.log = new RedisLog(this.link, prefix, context.limits, (error, topic) => context.log.error(`redis engine, ${topic}:`, error));
    this.dedupe = new RedisDedupeStore(this.link, prefix, context.limits, (count, user) => {
      const now = Date.now();
      if (now - this.lastEvictionWarning < 60_000) return;
      this.lastEvictionWarning = now;
      context.log.warn(`dedupe: ${JSON.stringify(user).slice(0, 80)} reached dedupeMaxPerUser (${context.limits.dedupeMaxPerUser}); ${count} of its oldest ids went before dedupeWindowMs (only its own)`);
    });
    this.pubsub = new RedisBus(this.link, prefix, context.node, (error) => {
      // Unreachable Redis is logged once by the link; anything else is worth a line.
      if (this.link.ready) context.log.error('redis engine, bus:', error);
    });
    this.nodes = new RedisNodes(this.link, prefix);
    this.documents = new RedisDocuments(this.link, prefix);
  }

  start(): Promise<void> {
    return this.link.connect(this.options.connectWaitMs ?? 2000);
  }

  close(): Promise<void> {
    return this.link.close();
  }

  health(): EngineHealth {
    const reason = this.link.reason;
    return reason === undefined ? { engine: this.name, ready: true } : { engine: this.name, ready: false, reason };
  }
}

/**
 * The Redis engine, for several nodes and restarts.
 *
 * @example
 * const server = new PlumeServer({ engine: redisEngine({ url: 'redis://127.0.0.1:6379' }), nodeId: 'a' });
 */
export function redisEngine(options: RedisEngineOptions): EngineFactory {
  if (typeof options?.url !== 'string' || !/^rediss?:\/\//.test(options.url)) throw new Error(`redisEngine needs a url like redis://127.0.0.1:6379, got ${JSON.stringify(options?.url)}`);
  return (context) => new RedisEngine(options, context);
}
