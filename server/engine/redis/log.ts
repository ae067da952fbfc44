/**
 * The Redis engine's broadcast log: one Lua script gives a broadcast its
 * topic's next seq, appends it to the topic's stream, trims, and publishes
 * it on the topic's shard channel, so every node receives a topic's
 * broadcasts in seq order whichever node made them. A turn's broadcasts
 * share one script call and each topic one message (`batch.ts`).
 *
 * Responsible for calling the scripts, subscribing to topics (one shard
 * channel per topic with members on this node), decoding what arrives, and
 * catching up after the subscriber reconnects (messages published while it
 * was away are read back from history, in order). Not responsible for frames.
 */
import { randomFillSync } from 'node:crypto';
import type { Redis } from 'ioredis';
import { fromHistory, sequenced, type BroadcastHandler, type BroadcastLog, type EngineLimits, type HistoryRead, type LogSubscription, type NewBroadcast, type Position, type SequencedBroadcast, type StoredBroadcast, type TopicWindow } from '../engine';
import type { RedisLink } from './connection';
import { topicKeys, topicOfChannel } from './keys';
import { PublishBatches } from './batch';
import { READ } from './scripts';

/** The first byte of a folded entry's kind (`f`, scripts.ts PUBLISH). */
const F = 0x66;

/** The scripts, as ioredis defines them on the command client. */
interface Scripted {
  plumeReadBuffer(meta: string, stream: string, users: string, ids: string, ledger: string, ...args: Array<string | number>): Promise<Array<Buffer | number>>;
}

interface Topic {
  handlers: Set<Subscription>;
  ready: Promise<void>;
  /** The last position delivered here (epoch null: none yet), to read back what the subscriber missed while away. */
  lastEpoch: string | null;
  lastSeq: number;
}

interface Subscription extends LogSubscription {
  handler: BroadcastHandler;
}

/**
 * @example
 * const log = new RedisLog(link, 'plume', limits, (err, topic) => console.error(topic, err));
 * log.subscribe('room:a', (b) => console.log(b.seq));
 * await log.publish('room:a', broadcast);
 */
export class RedisLog implements BroadcastLog {
  private readonly topics = new Map<string, Topic>();
  private readonly ttlMs: number;
  /** Candidate epochs for the scripts (used only when a topic's record is made). */
  private readonly epochs = new EpochPool();
  /** Publishes, one script call per event-loop turn. */
  readonly batches: PublishBatches;

  constructor(
    private readonly link: RedisLink,
    private readonly prefix: string,
    private readonly limits: EngineLimits,
    private readonly onError: (error: unknown, topic: string) => void,
  ) {
    // A topic idle for twice the age limit held nothing for at least one: Redis forgets it, as memory does.
    this.ttlMs = 2 * limits.historyMaxAgeMs;
    define(link.client);
    this.batches = new PublishBatches(link, prefix, limits, this.ttlMs, () => this.epochs.next());
    link.subscriber.on('smessageBuffer', (channel: Buffer, message: Buffer) => this.message(channel, message));
    // After a reconnect: every topic is subscribed again (one that failed while Redis was down
    // included), and what was published meanwhile is read back.
    link.onReady(() => {
      for (const [topic, entry] of this.topics) {
        // Read back only once subscribed again: whatever is published later arrives by the channel.
        this.link.subscriber.ssubscribe(topicKeys(this.prefix, topic).channel).then(() => this.catchUp(topic, entry), (error: unknown) => this.onError(error, topic));
      }
    });
  }

  publish(topic: string, broadcast: NewBroadcast): Promise<Position> {
    const published = this.batches.publish(topic, broadcast);
    if (!this.topics.has(topic)) return published;
    // This node's own subscribers get it from the script's answer, in the turn the answer arrives,
    // rather than from the channel a moment later: its fan-out then leaves in the same writes as the
    // acknowledgements (rooms of ten: one write per socket per turn instead of two), and a step sooner.
    return published.then((position) => {
      this.deliverOwn(topic, broadcast, position);
      return position;
    });
  }

  /**
   * Delivers a broadcast this node made, at its position, when it is the next one the topic's
   * subscribers here expect; otherwise (another node's broadcast before it is still on its way, or
   * none was delivered here yet) it arrives by the channel in its turn, as every other node's does.
   * Its copy from the channel is then dropped by seq.
   */
  private deliverOwn(topic: string, broadcast: NewBroadcast, position: Position): void {
    const entry = this.topics.get(topic);
    if (entry && entry.lastEpoch === position.epoch && position.seq === entry.lastSeq + 1) this.deliver(entry, sequenced(topic, position, broadcast));
  }

  subscribe(topic: string, handler: BroadcastHandler): LogSubscription {
    let entry = this.topics.get(topic);
    if (!entry) {
      const ready = this.link.subscriber.ssubscribe(topicKeys(this.prefix, topic).channel).then(() => undefined);
      entry = { handlers: new Set(), ready, lastEpoch: null, lastSeq: 0 };
      this.topics.set(topic, entry);
      // A subscription that fails now is made again when the subscriber reconnects; it is reported here.
      ready.catch((error: unknown) => this.onError(error, topic));
    }
    const subscription: Subscription = { topic, ready: entry.ready.catch(() => undefined), handler };
    entry.handlers.add(subscription);
    return subscription;
  }

  unsubscribe(subscription: LogSubscription): void {
    const entry = this.topics.get(subscription.topic);
    if (!entry?.handlers.delete(subscription as Subscription) || entry.handlers.size > 0) return;
    this.topics.delete(subscription.topic);
    this.link.subscriber.sunsubscribe(topicKeys(this.prefix, subscription.topic).channel).catch((error: unknown) => this.onError(error, subscription.topic));
  }

  async window(topic: string): Promise<TopicWindow> {
    const { epoch, head, oldest } = await this.readRaw(topic, 1, 0, 0);
    return { epoch, head, oldest };
  }

  read(topic: string, from: number, to: number, limit: number): Promise<HistoryRead> {
    return this.readRaw(topic, from, to, limit);
  }

  private async readRaw(topic: string, from: number, to: number, limit: number): Promise<HistoryRead> {
    const keys = topicKeys(this.prefix, topic);
    const reply = await this.link.command((redis) => (redis as unknown as Scripted).plumeReadBuffer(
      keys.meta, keys.stream, keys.users, keys.ids, keys.ledger,
      from, Number.isFinite(to) ? to : Number.MAX_SAFE_INTEGER, Number.isFinite(limit) ? limit : Number.MAX_SAFE_INTEGER, Date.now(), this.limits.historyMaxAgeMs, this.epochs.next(), this.ttlMs,
    ));
    const epoch = (reply[0] as Buffer).toString();
    const head = reply[1] as number;
    const oldest = reply[2] as number;
    const entries: StoredBroadcast[] = [];
    for (let i = 3; i + 6 < reply.length; i += 7) {
      const kind = reply[i + 6] as Buffer;
      const folded = kind[0] === F;
      const binary = !folded && kind.length > 0;
      const payload = reply[i + 2] as Buffer;
      const entry: StoredBroadcast = { seq: reply[i] as number, event: (reply[i + 1] as Buffer).toString(), payloadJson: binary || folded ? '' : payload.toString(), at: reply[i + 5] as number };
      if (folded) entry.folded = true;
      else if (binary) entry.binary = payload;
      const id = (reply[i + 3] as Buffer).toString();
      const exclude = (reply[i + 4] as Buffer).toString();
      if (id !== '') entry.id = id;
      if (exclude !== '') entry.exclude = exclude;
      entries.push(entry);
    }
    return { epoch, head, oldest, entries, complete: from >= oldest || from > Math.min(to, head) };
  }

  /** A message from the topic's shard channel: the broadcasts of one publish call, in seq order. */
  private message(channel: Buffer, message: Buffer): void {
    const topic = topicOfChannel(this.prefix, channel.toString());
    const entry = topic === null ? undefined : this.topics.get(topic);
    if (!entry || topic === null) return;
    let broadcasts: SequencedBroadcast[];
    try {
      // What was delivered here already (this node's own, from the script's answer) is not decoded again.
      broadcasts = decodeBroadcasts(topic, message, entry.lastEpoch, entry.lastSeq);
    } catch (error) {
      // Written by another version or by hand: reported, and the feed's gap repair reads it from history.
      return this.onError(error, topic);
    }
    for (const broadcast of broadcasts) this.deliver(entry, broadcast);
  }

  private deliver(entry: Topic, broadcast: SequencedBroadcast): void {
    if (broadcast.epoch === entry.lastEpoch && broadcast.seq <= entry.lastSeq) return; // read back already
    entry.lastEpoch = broadcast.epoch;
    entry.lastSeq = broadcast.seq;
    // A node subscribes once per topic (its fan-out): no copy of the set for that case.
    if (entry.handlers.size === 1) for (const subscription of entry.handlers) return this.handle(subscription, broadcast);
    for (const subscription of [...entry.handlers]) this.handle(subscription, broadcast);
  }

  private handle(subscription: Subscription, broadcast: SequencedBroadcast): void {
    try {
      subscription.handler(broadcast);
    } catch (error) {
      this.onError(error, broadcast.topic);
    }
  }

  /**
   * Reads back, in order, what a topic published while the subscriber was away: after the last
   * position delivered, or everything held when the epoch changed meanwhile (Redis came back empty).
   */
  private async catchUp(topic: string, entry: Topic): Promise<void> {
    const epoch = entry.lastEpoch;
    if (epoch === null) return;
    try {
      let read = await this.read(topic, entry.lastSeq + 1, Number.MAX_SAFE_INTEGER, 10_000);
      if (read.epoch !== epoch) read = await this.read(topic, 1, Number.MAX_SAFE_INTEGER, 10_000);
      if (this.topics.get(topic) !== entry) return;
      for (const stored of read.entries) this.deliver(entry, fromHistory(topic, read.epoch, stored));
    } catch (error) {
      this.onError(error, topic);
    }
  }
}

/**
 * Random epochs (the same 8 base64url characters as `newEpoch`), made 256 at a time: every publish
 * and read sends a candidate, and one crypto call each took about 3% of a node's CPU.
 */
class EpochPool {
  private readonly bytes = Buffer.alloc(6 * 256);
  private left = 0;

  next(): string {
    if (this.left === 0) {
      randomFillSync(this.bytes);
      this.left = 256;
    }
    this.left--;
    return this.bytes.toString('base64url', this.left * 6, this.left * 6 + 6);
  }
}

/** Defines the scripts on a client once (ioredis sends EVALSHA, and the script itself when Redis lost it). */
function define(redis: Redis): void {
  if ((redis as unknown as Partial<Scripted>).plumeReadBuffer) return;
  redis.defineCommand('plumeRead', { numberOfKeys: 5, lua: READ });
}

/**
 * Decodes what the publish script sends on a topic's shard channel (`scripts.ts`, PUBLISH): `*`, the
 * epoch, then per broadcast its seq, event, id, exclude, kind and payload, each as `<length>:<bytes>`
 * (lengths in bytes, decimal; kind `b` for a binary payload). Payloads are views into `message`.
 * Broadcasts of `deliveredEpoch` up to `deliveredSeq` (delivered already) are skipped, not decoded.
 */
export function decodeBroadcasts(topic: string, message: Buffer, deliveredEpoch: string | null = null, deliveredSeq = 0): SequencedBroadcast[] {
  if (message[0] !== 0x2a) throw new Error(`malformed broadcast on ${topic}: not a batch`);
  let at = 1;
  /** The next field's bounds: its length's digits are read in place, no string made. */
  const next = (): number => {
    let length = 0;
    let digits = 0;
    for (let byte = message[at]; byte !== 0x3a; byte = message[at]) {
      if (byte === undefined || byte < 0x30 || byte > 0x39 || ++digits > 15) throw new Error(`malformed broadcast on ${topic}: bad field length`);
      length = length * 10 + byte - 0x30;
      at++;
    }
    const start = at + 1;
    at = start + length;
    if (at > message.length) throw new Error(`malformed broadcast on ${topic}: field past the end`);
    return start;
  };
  const text = (): string => {
    const start = next();
    return start === at ? '' : message.toString('utf8', start, at);
  };
  /** A decimal field read in place. */
  const integer = (): number => {
    const start = next();
    let value = 0;
    for (let i = start; i < at; i++) value = value * 10 + message[i]! - 0x30;
    return value;
  };
  const epoch = text();
  const broadcasts: SequencedBroadcast[] = [];
  const delivered = epoch === deliveredEpoch ? deliveredSeq : 0;
  // Most broadcasts of a message share their event name: the previous one's string is used again.
  let event = '';
  let eventStart = 0;
  let eventEnd = 0;
  while (at < message.length) {
    const seq = integer();
    if (seq <= delivered) {
      // Skipped, fields and all: event, id, exclude, kind, payload.
      for (let field = 0; field < 5; field++) next();
      continue;
    }
    const named = next();
    if (!sameBytes(message, named, at, eventStart, eventEnd)) event = message.toString('utf8', named, at);
    eventStart = named;
    eventEnd = at;
    const id = text();
    const exclude = text();
    const kind = text();
    const start = next();
    const broadcast: SequencedBroadcast = { topic, epoch, seq, event, payloadBytes: message.subarray(start, at), exclude: exclude === '' ? null : exclude };
    if (id !== '') broadcast.id = id;
    if (kind === 'b') broadcast.binary = true;
    broadcasts.push(broadcast);
  }
  return broadcasts;
}

/** True when `bytes[a..aEnd)` equals `bytes[b..bEnd)`. */
function sameBytes(bytes: Buffer, a: number, aEnd: number, b: number, bEnd: number): boolean {
  if (aEnd - a !== bEnd - b) return false;
  for (let i = 0; i < aEnd - a; i++) if (bytes[a + i] !== bytes[b + i]) return false;
  return true;
}
