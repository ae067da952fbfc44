/**
 * Publishes in batches: the broadcasts a node makes in one event-loop turn
 * go to Redis as one call of the publish script (`scripts.ts`, PUBLISH) per
 * Redis Cluster hash slot, instead of one call each. On a single Redis
 * (not a Cluster) that is one call per turn, whatever the topics: the
 * script still touches each topic's keys by their `{topic}` hash tag only,
 * so grouping by slot is all a Cluster needs. The script publishes each
 * topic's broadcasts of the call as one shard-channel message.
 *
 * Why: with rooms of ten members, one script call and one pub/sub message
 * per broadcast cost the node and Redis several times what the fan-out does
 * (bench/cluster/README.md). A turn's batch is sent at `setImmediate`, after
 * the I/O phase that produced it, so nothing waits for a later turn.
 *
 * The call is encoded by hand (`resp.ts`) and written at once, not held
 * behind ioredis's auto-pipeline (which serves one pipeline at a time).
 *
 * Responsible for the batching, argument layout and handing each caller its
 * position or error. Not responsible for what the script does.
 */
import { createHash } from 'node:crypto';
import calculateSlot from 'cluster-key-slot';
import type { Redis } from 'ioredis';
import { QuotaExceeded, entryCost, type EngineLimits, type NewBroadcast, type Position } from '../engine';
import type { RedisLink } from './connection';
import { topicKeys } from './keys';
import { encodeCommand, sendEncoded } from './resp';
import { PUBLISH } from './scripts';

const PUBLISH_SHA = createHash('sha1').update(PUBLISH).digest('hex');

/** Broadcasts per script call at most: a larger turn is split, so no call holds Redis for long. */
const MAX_PER_CALL = 500;

interface Pending {
  /** Dropped once encoded: its payload then need not outlive the round trip (for the collector). */
  broadcast: NewBroadcast | null;
  user: string;
  resolve: (position: Position) => void;
  reject: (error: unknown) => void;
}

/** A topic's share of one call: its keys and its broadcasts in the order they were made. */
interface TopicBatch {
  topic: string;
  keys: string[];
  pending: Pending[];
}

/**
 * The calls a turn's broadcasts need: one per hash slot on a Cluster, else one. Topics keep the
 * order of their first broadcast, and each topic its broadcasts' order.
 * @example groupBySlot('plume', [['room:a', b1], ['room:b', b2], ['room:a', b3]], false) // one call: room:a [b1, b3], room:b [b2]
 */
export function groupBySlot<T>(prefix: string, items: Iterable<[string, T]>, cluster: boolean): Array<Map<string, { keys: string[]; items: T[] }>> {
  const calls = new Map<number, Map<string, { keys: string[]; items: T[] }>>();
  for (const [topic, item] of items) {
    const slot = cluster ? calculateSlot(`{${topic}}`) : 0;
    let call = calls.get(slot);
    if (!call) calls.set(slot, (call = new Map()));
    let batch = call.get(topic);
    if (!batch) {
      const keys = topicKeys(prefix, topic);
      call.set(topic, (batch = { keys: [keys.meta, keys.stream, keys.users, keys.ids, keys.ledger], items: [] }));
    }
    batch.items.push(item);
  }
  return [...calls.values()];
}

/**
 * @example
 * const batches = new PublishBatches(link, 'plume', limits, () => epochs.next());
 * const [a, b] = await Promise.all([batches.publish('room:a', x), batches.publish('room:b', y)]); // one script call
 */
export class PublishBatches {
  private queue: Array<[string, Pending]> = [];
  /** The script's arguments after `now` that never change. */
  private readonly constants: string[];
  /** The connection the script was last sent in full on (EVAL), which then has it by its SHA. */
  private loadedOn: unknown = null;
  private scheduled = false;
  /** Script calls made, and broadcasts they carried (for tests and the bench). */
  calls = 0;
  carried = 0;

  constructor(
    private readonly link: RedisLink,
    private readonly prefix: string,
    private readonly limits: EngineLimits,
    private readonly ttlMs: number,
    private readonly candidateEpoch: () => string,
  ) {
    const { historyLimit, historyMaxAgeMs, historyMaxBytesPerTopic, historyMaxBytesPerUser } = limits;
    this.constants = [historyLimit, historyMaxAgeMs, historyMaxBytesPerTopic, historyMaxBytesPerUser, ttlMs].map(String);
  }

  /** Queues a broadcast for this turn's call; resolves with its position (see `BroadcastLog.publish`). */
  publish(topic: string, broadcast: NewBroadcast): Promise<Position> {
    return new Promise((resolve, reject) => {
      this.queue.push([topic, { broadcast, user: broadcast.user, resolve, reject }]);
      if (this.scheduled) return;
      this.scheduled = true;
      setImmediate(this.flush);
    });
  }

  /**
   * Sends an encoded call of the script (`full`: as EVAL, with its text, which it is the first time on
   * a connection, as ioredis does for its own scripts; else EVALSHA). When Redis forgot the script
   * meanwhile (SCRIPT FLUSH) it says so without running anything: the script is loaded again and the
   * same call sent again.
   */
  private async call(redis: Redis, bytes: Buffer, full: boolean): Promise<Array<string | number>> {
    this.loadedOn = redis.stream;
    try {
      return (await sendEncoded(redis, full ? 'eval' : 'evalsha', bytes)) as Array<string | number>;
    } catch (error) {
      if (full || !/NOSCRIPT/.test((error as Error).message)) throw error;
      await redis.script('LOAD', PUBLISH);
      return (await sendEncoded(redis, 'evalsha', bytes)) as Array<string | number>;
    }
  }

  private readonly flush = (): void => {
    this.scheduled = false;
    const queue = this.queue;
    this.queue = [];
    // Calls leave in order on one connection, so a topic's broadcasts are applied in the order made.
    for (let start = 0; start < queue.length; start += MAX_PER_CALL) {
      for (const call of groupBySlot(this.prefix, queue.slice(start, start + MAX_PER_CALL), this.link.client.isCluster)) {
        void this.send([...call].map(([topic, { keys, items }]) => ({ topic, keys, pending: items })));
      }
    }
  };

  /** One script call for `topics`; every caller gets its position, or the call's error. */
  private async send(topics: TopicBatch[]): Promise<void> {
    // EVAL or EVALSHA, the script or its SHA, the number of keys, the keys, then the arguments (scripts.ts, PUBLISH).
    const command: Array<string | Buffer> = ['', '', ''];
    for (const { keys } of topics) for (const key of keys) command.push(key);
    command[2] = String(command.length - 3);
    command.push(String(Date.now()));
    for (const constant of this.constants) command.push(constant);
    for (const { pending } of topics) {
      command.push(this.candidateEpoch(), String(pending.length));
      for (const entry of pending) {
        const broadcast = entry.broadcast!;
        entry.broadcast = null;
        // Kind: `b` bytes, `` JSON; `f` before it keeps the entry folded (no payload in the stream).
        const kind = (broadcast.folded ? 'f' : '') + (broadcast.binary ? 'b' : '');
        command.push(broadcast.event, broadcast.payloadBytes, broadcast.id ?? '', broadcast.exclude ?? '', broadcast.user, String(entryCost(broadcast)), kind);
      }
    }
    const full = this.loadedOn !== this.link.client.stream;
    command[0] = full ? 'EVAL' : 'EVALSHA';
    command[1] = full ? PUBLISH : PUBLISH_SHA;
    const bytes = encodeCommand(command);
    command.length = 0;
    this.calls++;
    let reply: Array<string | number>;
    try {
      reply = await this.link.command((redis) => this.call(redis, bytes, full));
    } catch (error) {
      for (const { pending } of topics) for (const { reject } of pending) reject(error);
      return;
    }
    const { historyMaxBytesPerUser } = this.limits;
    let at = 0;
    for (const { topic, pending } of topics) {
      const epoch = String(reply[at++]);
      for (const { user, resolve, reject } of pending) {
        const seq = Number(reply[at++]);
        this.carried++;
        if (seq === -1) reject(new QuotaExceeded(`${user} holds more than its share of ${historyMaxBytesPerUser} bytes of history in ${topic}`));
        else resolve({ epoch, seq });
      }
    }
  }
}
