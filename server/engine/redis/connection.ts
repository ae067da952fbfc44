/**
 * The Redis engine's connections: one for commands (auto-pipelined, so the
 * commands of one event-loop turn leave in one write) and one in
 * subscriber mode, both reconnecting by themselves with capped backoff.
 *
 * Responsible for making the clients, telling whether Redis can be reached,
 * saying so in the log once per change (not once per failed command or
 * reconnect attempt), and turning a failure to reach Redis into
 * `EngineUnavailable`. Not responsible for what is stored.
 */
import { Redis, type RedisOptions } from 'ioredis';
import type { Logger } from '../../log';
import { EngineUnavailable } from '../engine';

/** A client's reconnect delay: doubling from 50 ms, capped at 2 s. */
const retryStrategy = (attempt: number): number => Math.min(2000, 50 * 2 ** Math.min(attempt, 6));

/** Options shared by both clients: fail at once while disconnected, instead of queueing. */
function clientOptions(name: string): RedisOptions {
  return {
    connectionName: name,
    retryStrategy,
    // A command sent while Redis is unreachable fails now, so the push that needed it is answered
    // `unavailable` and retried by its client, instead of waiting in a queue of unbounded length.
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    lazyConnect: true,
  };
}

/**
 * @example
 * const link = new RedisLink('redis://127.0.0.1:6379', 'node-a', log);
 * await link.connect(2000);
 * await link.command((redis) => redis.get('k'));
 */
export class RedisLink {
  /** Commands, auto-pipelined. */
  readonly client: Redis;
  /** Subscriber mode only. */
  readonly subscriber: Redis;
  private wasReady = false;
  private warned = false;
  /** Set once `connect` returned: before, connections coming up one after the other are not news. */
  private started = false;
  private lastError = '';
  private closed = false;
  private readonly readyListeners: Array<() => void> = [];

  constructor(url: string, node: string, private readonly log: Logger) {
    this.client = new Redis(url, { ...clientOptions(`plume:${node}`), enableAutoPipelining: true });
    this.subscriber = new Redis(url, { ...clientOptions(`plume:${node}:sub`), autoResubscribe: true });
    for (const redis of [this.client, this.subscriber]) {
      // An 'error' event with no listener would throw; every one is a reconnect attempt, logged on changes only.
      redis.on('error', (error: Error) => (this.lastError = error.message));
      redis.on('ready', () => this.changed());
      redis.on('close', () => this.changed());
    }
  }

  /** Calls `listener` each time both connections are up again after either was down (not on the first connect). */
  onReady(listener: () => void): void {
    this.readyListeners.push(listener);
  }

  /** True while both connections are up. */
  get ready(): boolean {
    return this.client.status === 'ready' && this.subscriber.status === 'ready';
  }

  /** Why Redis cannot be reached, when it cannot. */
  get reason(): string | undefined {
    if (this.ready) return undefined;
    return this.lastError ? `redis unreachable: ${this.lastError}` : 'redis not connected';
  }

  /**
   * Connects both clients, waiting at most `waitMs`: a server starts even when Redis is down
   * (pushes are answered `unavailable` until it comes back).
   */
  async connect(waitMs: number): Promise<void> {
    const attempt = Promise.all([this.client.connect(), this.subscriber.connect()]).then(() => true, () => false);
    const timer = new Promise<boolean>((resolve) => setTimeout(() => resolve(false), waitMs).unref());
    await Promise.race([attempt, timer]);
    this.started = true;
    this.changed();
  }

  /** Runs one command (or script), turning a failure to reach Redis into `EngineUnavailable`. */
  async command<T>(run: (redis: Redis) => Promise<T>): Promise<T> {
    if (this.client.status !== 'ready') throw new EngineUnavailable(this.reason ?? 'redis not connected');
    try {
      return await run(this.client);
    } catch (error) {
      throw this.client.status === 'ready' && !isConnectionError(error) ? error : new EngineUnavailable(`redis: ${(error as Error).message}`, { cause: error });
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([this.client, this.subscriber].map((redis) => redis.quit().catch(() => redis.disconnect())));
  }

  /** Logs when Redis stops or starts being reachable: once per change. */
  private changed(): void {
    if (this.closed || !this.started) return;
    const ready = this.ready;
    if (ready && !this.wasReady) {
      if (this.warned) this.log.info('redis: connected again; pushes that got "unavailable" are being retried by their clients');
      this.warned = false;
      for (const listener of this.readyListeners) listener();
    } else if (!ready && !this.warned) {
      this.warned = true;
      this.log.warn(`redis: cannot reach Redis (${this.lastError || this.client.status}); pushes are answered "unavailable" until it is back, reconnecting with backoff`);
    }
    this.wasReady = ready;
  }
}

function isConnectionError(error: unknown): boolean {
  const message = (error as Error)?.message ?? '';
  return /Connection is closed|Stream isn't writeable|ECONNREFUSED|ECONNRESET|EPIPE|ETIMEDOUT|max retries per request|Reached the max retries/i.test(message);
}
