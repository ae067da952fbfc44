/**
 * Per-topic order and bounded history: gives every authoritative broadcast
 * its topic's next `(epoch, seq)` and keeps the latest ones so that clients
 * can recover what they missed.
 *
 * Responsible for seq assignment (atomic per topic), retention by count and
 * age, and range reads. The memory store vouches only for this process's
 * lifetime, so its epoch is fresh on every start. Not responsible for
 * delivering anything (fan-out) or for deduplication (`dedupe.ts`).
 */
import { randomBytes } from 'node:crypto';

/** A broadcast's place in its topic's order. */
export interface Position {
  epoch: string;
  seq: number;
}

/** A broadcast as history keeps it. */
export interface StoredBroadcast {
  seq: number;
  event: string;
  /** The payload as JSON text: kept once, sent as is by replays (parse it for the object). */
  payloadJson: string;
  /** The message id it was made for (see PROTOCOL.md §7), if any. */
  id?: string;
  /** When it was appended (ms since the Unix epoch). */
  at: number;
}

/** A range read: the entries held, and whether they cover the whole range. */
export interface HistoryRead {
  entries: StoredBroadcast[];
  complete: boolean;
}

/** Assigns positions and keeps history; implementations must be atomic per topic. */
export interface History {
  /** Assigns the topic's next position and stores the broadcast under it. */
  append(topic: string, broadcast: Omit<StoredBroadcast, 'seq' | 'at'>): Position;
  /** The last assigned position, or `{epoch, seq: 0}` when none yet. */
  head(topic: string): Position;
  /** Entries with `from <= seq <= to` (at most `limit`) of `epoch`; `complete` is false when any is no longer held. */
  read(topic: string, epoch: string, from: number, to: number, limit: number): HistoryRead;
  /** The seq of the oldest entry still held (head + 1 when none). */
  oldest(topic: string): number;
  /** Drops expired entries of every topic (called periodically by the server). */
  sweep?(): void;
}

/** Retention limits. */
export interface HistoryOptions {
  /** Entries kept per topic. Default 1000. */
  limit?: number;
  /** Age after which an entry is dropped (ms). Default 3600000 (one hour). */
  maxAgeMs?: number;
  /** Current time (ms), for tests. Default `Date.now`. */
  now?: () => number;
}

/** A new random epoch identifier. */
export function newEpoch(): string {
  return randomBytes(6).toString('base64url');
}

interface TopicLog {
  /** Last assigned seq. */
  head: number;
  /** Oldest seq still held (head + 1 when none). */
  first: number;
  /** A ring of the latest `limit` entries: seq `s` sits at `(s - 1) % limit`. */
  ring: Array<StoredBroadcast | undefined>;
}

/**
 * @example
 * const history = new MemoryHistory({ limit: 500 });
 * history.append('room:a', { event: 'msg', payloadJson: '{"body":"hi"}' }); // { epoch, seq: 1 }
 */
export class MemoryHistory implements History {
  readonly epoch: string;
  private readonly logs = new Map<string, TopicLog>();
  private readonly limit: number;
  private readonly maxAgeMs: number;
  private readonly now: () => number;

  constructor(options: HistoryOptions = {}, epoch: string = newEpoch()) {
    this.epoch = epoch;
    this.limit = options.limit ?? 1000;
    this.maxAgeMs = options.maxAgeMs ?? 3_600_000;
    this.now = options.now ?? Date.now;
    if (!(this.limit >= 0) || !(this.maxAgeMs > 0)) throw new Error('history limit must be >= 0 and maxAgeMs > 0');
  }

  append(topic: string, broadcast: Omit<StoredBroadcast, 'seq' | 'at'>): Position {
    let log = this.logs.get(topic);
    if (!log) this.logs.set(topic, (log = { head: 0, first: 1, ring: [] }));
    const seq = ++log.head;
    if (this.limit === 0) log.first = seq + 1;
    else {
      // A fixed-size ring: appending allocates one entry and moves no array.
      log.ring[(seq - 1) % this.limit] = { seq, event: broadcast.event, payloadJson: broadcast.payloadJson, id: broadcast.id, at: this.now() };
      if (seq - log.first >= this.limit) log.first = seq - this.limit + 1;
    }
    return { epoch: this.epoch, seq };
  }

  head(topic: string): Position {
    return { epoch: this.epoch, seq: this.logs.get(topic)?.head ?? 0 };
  }

  oldest(topic: string): number {
    const log = this.logs.get(topic);
    if (!log) return 1;
    this.expire(log);
    return log.first;
  }

  read(topic: string, epoch: string, from: number, to: number, limit: number): HistoryRead {
    const log = this.logs.get(topic);
    const head = log?.head ?? 0;
    const last = Math.min(to, head);
    if (epoch !== this.epoch || !log) return { entries: [], complete: epoch === this.epoch && from > last };
    const first = this.oldest(topic);
    const start = Math.max(from, first);
    const end = Math.min(last, start + limit - 1);
    const entries: StoredBroadcast[] = [];
    for (let seq = start; seq <= end; seq++) entries.push(log.ring[(seq - 1) % this.limit]!);
    // A range cut short by `limit` is still complete: the client asks for the rest.
    return { entries, complete: from >= first };
  }

  sweep(): void {
    for (const log of this.logs.values()) this.expire(log);
  }

  /** Drops entries older than the age limit (their slots are freed). */
  private expire(log: TopicLog): void {
    const cutoff = this.now() - this.maxAgeMs;
    while (log.first <= log.head) {
      const slot = (log.first - 1) % this.limit;
      if (log.ring[slot]!.at >= cutoff) return;
      log.ring[slot] = undefined;
      log.first++;
    }
    if (log.ring.length > 0) log.ring = [];
  }
}
