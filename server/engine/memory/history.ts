/**
 * Per-topic order and bounded history in this process's memory: gives every
 * broadcast its topic's next `(epoch, seq)` and keeps the latest ones, so
 * clients can recover what they missed.
 *
 * Responsible for seq assignment, retention (count and age per topic, bytes
 * per topic, per sender and across topics, metadata counted), range reads,
 * and forgetting idle topics. The memory store vouches only for this
 * process's lifetime: every topic gets a fresh random epoch when its record
 * is made, so a restart (or a topic forgotten while idle) tells recovering
 * clients `recovered: false`. Synchronous; `log.ts` puts the engine's
 * asynchronous interface on it. Not responsible for delivering anything.
 */
import { randomBytes } from 'node:crypto';
import { ENTRY_OVERHEAD, QuotaExceeded, entryCost, type HistoryRead, type NewBroadcast, type Position, type StoredBroadcast, type TopicWindow } from '../engine';
import { ChunkPool, MAX_CHUNK, pow2, type Chunk } from './chunk-pool';
import { OldestFirst } from './oldest-first';

/** Memory a history's entries take, in bytes. */
export interface HistoryMemory {
  /** Bytes of the entries held: payloads, plus event, id and a fixed overhead per entry. */
  heldBytes: number;
  /** Emptied chunks kept for reuse (freed by the sweep after next when nobody takes them). */
  pooledBytes: number;
  /** Chunks allocated since start: stops growing once a busy history is full. */
  allocatedBytes: number;
  /** Entries dropped since start, before their count or age limit, to keep within a byte budget. */
  evictedForBudget: number;
  /** Topics with a record (a head), held entries or not. */
  topics: number;
}

/** Retention limits. */
export interface HistoryOptions {
  /** Entries kept per topic. Default 1000. */
  limit?: number;
  /** Age after which an entry is dropped (ms); a topic that held nothing for as long is forgotten. Default 3600000. */
  maxAgeMs?: number;
  /**
   * Bytes kept across all topics (payloads, plus event, id and {@link ENTRY_OVERHEAD} per entry).
   * Beyond it, the oldest entries of any topic are dropped first (never the one just appended).
   * Default 268435456 (256 MiB).
   */
  maxBytes?: number;
  /** Bytes one topic may keep; beyond it, its own oldest entries go. Default `maxBytes / 16`. */
  maxBytesPerTopic?: number;
  /**
   * Bytes the broadcasts of one sender may take across topics; a broadcast that would go beyond
   * is refused with {@link QuotaExceeded}. Server code (user `""`) is not counted. Default `maxBytes / 16`.
   */
  maxBytesPerUser?: number;
  /** Current time (ms), for tests. Default `Date.now`. */
  now?: () => number;
}

export { ENTRY_OVERHEAD };

/**
 * How long a run of folded entries may span (ms): later ones start a new run, so an entry of a run
 * expires at most this much before its age limit.
 */
const FOLDED_RUN_MS = 1000;

/** A new random epoch identifier. */
export function newEpoch(): string {
  return randomBytes(6).toString('base64url');
}

/**
 * A kept entry. Its payload is UTF-8 bytes in a chunk shared with the
 * topic's neighbouring entries, outside the JavaScript heap: a busy server
 * keeps hundreds of megabytes of history, and as strings every payload was
 * copied into the old generation and collected from it again a few seconds
 * later (2 KB payloads, 100 rooms × 1,000 kept: the garbage collector took
 * 17% of the server's time; with the bytes here, 7%). A chunk goes back to
 * the pool with the last entry that points into it.
 */
interface Kept {
  event: string;
  id: string | undefined;
  exclude: string | null;
  /** The payload is bytes, not JSON. */
  binary: boolean;
  /**
   * Kept by its position only (PROTOCOL.md §7, folded entries): no payload, no chunk. Consecutive folded
   * entries of one event and sender share one record, each slot of the run pointing at it.
   */
  folded: boolean;
  user: string;
  /** When it was appended (the first of a folded run). */
  at: number;
  /** Bytes counted for it (payload, event, id, overhead). */
  cost: number;
  /** Its place in the order of appends across topics (which entries are oldest, for the byte budget). */
  order: number;
  chunk: Chunk;
  start: number;
  end: number;
}

interface TopicLog {
  epoch: string;
  /** Last assigned seq. */
  head: number;
  /** Oldest seq still held (head + 1 when none). */
  first: number;
  /** A ring of the latest `limit` entries: seq `s` sits at `(s - 1) % limit`. */
  ring: Array<Kept | undefined>;
  /** The chunk new payloads are written to. */
  chunk: Chunk;
  /** Payload bytes of the entries held, which sizes the next chunk. */
  payloadBytes: number;
  /** Bytes counted for the entries held. */
  bytes: number;
  /** When it last had an entry appended (ms), to forget it when idle. */
  lastAppend: number;
  /** Whether the topic has a place in the oldest-first heap (see `MemoryHistory.fitBudget`). */
  queued: boolean;
}

/** The chunk of a topic that has written nothing yet (never pooled: its count never reaches 0). */
const NO_CHUNK: Chunk = { bytes: Buffer.alloc(0), used: 0, live: 1 };

/**
 * @example
 * const history = new MemoryHistory({ limit: 500 });
 * history.append('room:a', { event: 'msg', payloadJson: '{}', payloadBytes: Buffer.from('{}'), exclude: null, user: 'ada' }); // { epoch, seq: 1 }
 */
export class MemoryHistory {
  private readonly logs = new Map<string, TopicLog>();
  private readonly pool = new ChunkPool();
  /** Bytes counted for every entry held, across topics. */
  private bytes = 0;
  /** Bytes counted for the entries each sender has held (server code, `""`, not counted). */
  private readonly users = new Map<string, number>();
  private readonly oldestFirst = new OldestFirst<TopicLog>();
  private evictedForBudget = 0;
  /** Appends so far, across topics: each entry's `order`. */
  private appended = 0;
  private lastQuotaSweep = -Infinity;
  private readonly limit: number;
  private readonly maxAgeMs: number;
  private readonly maxBytes: number;
  private readonly maxBytesPerTopic: number;
  private readonly maxBytesPerUser: number;
  private readonly now: () => number;

  constructor(options: HistoryOptions = {}) {
    this.limit = options.limit ?? 1000;
    this.maxAgeMs = options.maxAgeMs ?? 3_600_000;
    this.maxBytes = options.maxBytes ?? 256 * 1024 * 1024;
    this.maxBytesPerTopic = options.maxBytesPerTopic ?? this.maxBytes / 16;
    this.maxBytesPerUser = options.maxBytesPerUser ?? this.maxBytes / 16;
    this.now = options.now ?? Date.now;
    if (!(this.limit >= 0) || !(this.maxAgeMs > 0) || !(this.maxBytes > 0) || !(this.maxBytesPerTopic > 0) || !(this.maxBytesPerUser > 0)) {
      throw new Error('history limit must be >= 0; maxAgeMs, maxBytes, maxBytesPerTopic and maxBytesPerUser > 0');
    }
  }

  /** Assigns the topic's next position and keeps the broadcast; throws {@link QuotaExceeded} when its sender is over its share. */
  append(topic: string, broadcast: NewBroadcast): Position {
    const cost = entryCost(broadcast);
    let log = this.logs.get(topic);
    if (broadcast.user !== '' && this.limit > 0) {
      // The entry this append pushes out of the topic's ring gives its bytes back first.
      const replaced = log?.ring[log.head % this.limit];
      this.checkQuota(broadcast.user, cost - (replaced?.user === broadcast.user ? replaced.cost : 0));
    }
    if (!log) this.logs.set(topic, (log = { epoch: newEpoch(), head: 0, first: 1, ring: [], chunk: NO_CHUNK, payloadBytes: 0, bytes: 0, lastAppend: 0, queued: false }));
    const seq = ++log.head;
    log.lastAppend = this.now();
    if (this.limit === 0) log.first = seq + 1;
    else {
      const slot = (seq - 1) % this.limit;
      const evicted = log.ring[slot];
      if (evicted) this.drop(log, evicted);
      // A fixed-size ring: appending allocates one entry and moves no array.
      const kept = (log.ring[slot] = broadcast.folded ? this.keepFolded(log, seq, broadcast, cost) : this.keep(log, broadcast, cost));
      if (seq - log.first >= this.limit) log.first = seq - this.limit + 1;
      if (!log.queued) {
        log.queued = true;
        this.oldestFirst.push(kept.order, log);
      }
      while (log.bytes > this.maxBytesPerTopic && log.first < log.head) {
        this.dropOldest(log);
        this.evictedForBudget++;
      }
      if (this.bytes > this.maxBytes) this.fitBudget(log);
    }
    return { epoch: log.epoch, seq };
  }

  /** The topic's epoch, head and oldest held seq (a topic never appended to has a fresh epoch). */
  window(topic: string): TopicWindow {
    const log = this.logs.get(topic);
    if (!log) {
      // A topic with no record: made now, so the epoch a client hears stays the one its broadcasts get.
      const made: TopicLog = { epoch: newEpoch(), head: 0, first: 1, ring: [], chunk: NO_CHUNK, payloadBytes: 0, bytes: 0, lastAppend: this.now(), queued: false };
      this.logs.set(topic, made);
      return { epoch: made.epoch, head: 0, oldest: 1 };
    }
    this.expire(log);
    return { epoch: log.epoch, head: log.head, oldest: log.first };
  }

  /** The topic's window when it has a record, without making one. */
  peek(topic: string): TopicWindow | undefined {
    const log = this.logs.get(topic);
    return log && { epoch: log.epoch, head: log.head, oldest: log.first };
  }

  /** Entries with `from <= seq <= to` (at most `limit`) of the topic's current epoch. */
  read(topic: string, from: number, to: number, limit: number): HistoryRead {
    const { epoch, head, oldest } = this.window(topic);
    const log = this.logs.get(topic)!;
    const start = Math.max(from, oldest);
    const end = Math.min(to, head, start + limit - 1);
    const entries: StoredBroadcast[] = [];
    for (let seq = start; seq <= end; seq++) {
      const kept = log.ring[(seq - 1) % this.limit]!;
      const entry: StoredBroadcast = kept.folded
        ? { seq, event: kept.event, payloadJson: '', folded: true, at: kept.at }
        : kept.binary
          ? { seq, event: kept.event, payloadJson: '', binary: Buffer.from(kept.chunk.bytes.subarray(kept.start, kept.end)), at: kept.at }
          : { seq, event: kept.event, payloadJson: kept.chunk.bytes.toString('utf8', kept.start, kept.end), at: kept.at };
      if (kept.id !== undefined) entry.id = kept.id;
      if (kept.exclude !== null) entry.exclude = kept.exclude;
      entries.push(entry);
    }
    // A range cut short by `limit` is still complete: the client asks for the rest.
    return { epoch, head, oldest, entries, complete: from >= oldest || from > Math.min(to, head) };
  }

  /**
   * Drops expired entries, forgets topics that held nothing for `maxAgeMs` (so no appended in twice
   * that long), and frees emptied chunks nobody took since the last sweep.
   */
  sweep(): void {
    const idleBefore = this.now() - 2 * this.maxAgeMs;
    for (const [topic, log] of this.logs) {
      this.expire(log);
      if (log.first > log.head && log.lastAppend < idleBefore) this.logs.delete(topic);
    }
    this.pool.release();
  }

  /** Memory the entries take (see {@link HistoryMemory}). */
  memory(): HistoryMemory {
    return { heldBytes: this.bytes, pooledBytes: this.pool.held, allocatedBytes: this.pool.allocated, evictedForBudget: this.evictedForBudget, topics: this.logs.size };
  }

  /** Bytes the entries of `user` take now. */
  userBytes(user: string): number {
    return this.users.get(user) ?? 0;
  }

  /** Refuses a broadcast that would take its sender beyond its share (after dropping what expired, at most once a second). */
  private checkQuota(user: string, cost: number): void {
    if (this.userBytes(user) + cost <= this.maxBytesPerUser) return;
    const now = this.now();
    if (now - this.lastQuotaSweep >= 1000) {
      this.lastQuotaSweep = now;
      for (const log of this.logs.values()) this.expire(log);
      if (this.userBytes(user) + cost <= this.maxBytesPerUser) return;
    }
    throw new QuotaExceeded(`${user} holds ${this.userBytes(user)} bytes of history, at its share of ${this.maxBytesPerUser}`);
  }

  /**
   * Drops the oldest entries across topics until everything fits the byte budget, or until only
   * `newest`'s latest entry (the one just appended) would be left to drop.
   */
  private fitBudget(newest: TopicLog): void {
    while (this.bytes > this.maxBytes) {
      const top = this.oldestFirst.pop();
      if (!top) return;
      const log = top.log;
      if (log.first > log.head) {
        log.queued = false;
        continue;
      }
      const oldest = log.ring[(log.first - 1) % this.limit]!;
      if (top.key < oldest.order) {
        // A stale key: the topic goes back with its true one.
        this.oldestFirst.push(oldest.order, log);
        continue;
      }
      if (log === newest && log.first === log.head) {
        // Only the entry just appended is left to drop: it stays, and keeps its place.
        this.oldestFirst.push(top.key, log);
        return;
      }
      this.dropOldest(log);
      this.evictedForBudget++;
      if (log.first <= log.head) this.oldestFirst.push(log.ring[(log.first - 1) % this.limit]!.order, log);
      else log.queued = false;
    }
  }

  /** Drops the topic's oldest entry (there is one); a topic left with none gives its last chunk back. */
  private dropOldest(log: TopicLog): void {
    const slot = (log.first - 1) % this.limit;
    this.drop(log, log.ring[slot]!);
    log.ring[slot] = undefined;
    log.first++;
    if (log.first <= log.head) return;
    if (log.ring.length > 0) log.ring = [];
    if (log.chunk.live === 0) this.pool.give(log.chunk, this.bytes);
    log.chunk = NO_CHUNK;
  }

  /**
   * A folded entry: the run the previous seq belongs to when this one continues it (same event, sender
   * and exclusion, no id, within {@link FOLDED_RUN_MS}), else a new run. A document typed into holds
   * one record per burst of keystrokes instead of one per keystroke.
   */
  private keepFolded(log: TopicLog, seq: number, broadcast: NewBroadcast, cost: number): Kept {
    const now = this.now();
    const previous = seq > 1 ? log.ring[(seq - 2) % this.limit] : undefined;
    this.count(log, broadcast.user, cost);
    if (
      previous?.folded && seq - 1 >= log.first && previous.id === undefined && broadcast.id === undefined && previous.event === broadcast.event &&
      previous.user === broadcast.user && previous.exclude === broadcast.exclude && now - previous.at < FOLDED_RUN_MS
    ) return previous;
    return { event: broadcast.event, id: broadcast.id, exclude: broadcast.exclude, binary: false, folded: true, user: broadcast.user, at: now, cost, order: ++this.appended, chunk: NO_CHUNK, start: 0, end: 0 };
  }

  /** Counts an entry's bytes for its topic, in all, and for its sender. */
  private count(log: TopicLog, user: string, cost: number): void {
    log.bytes += cost;
    this.bytes += cost;
    if (user !== '') this.users.set(user, this.userBytes(user) + cost);
  }

  /** Writes the payload into the topic's current chunk (a new one when it does not fit). */
  private keep(log: TopicLog, broadcast: NewBroadcast, cost: number): Kept {
    const bytes = broadcast.payloadBytes;
    let chunk = log.chunk;
    if (chunk.bytes.length - chunk.used < bytes.length) {
      // Chunks grow with what the topic keeps (half of it, at most MAX_CHUNK), so a quiet topic
      // holds little and a busy one few chunks; at most about one chunk per topic is slack.
      if (chunk.live === 0) this.pool.give(chunk, this.bytes);
      chunk = log.chunk = this.pool.take(pow2(Math.max(bytes.length, Math.min(MAX_CHUNK, log.payloadBytes >>> 1))));
    }
    const start = chunk.used;
    chunk.bytes.set(bytes, start);
    chunk.used += bytes.length;
    chunk.live++;
    log.payloadBytes += bytes.length;
    this.count(log, broadcast.user, cost);
    return { event: broadcast.event, id: broadcast.id, exclude: broadcast.exclude, binary: broadcast.binary === true, folded: false, user: broadcast.user, at: this.now(), cost, order: ++this.appended, chunk, start, end: chunk.used };
  }

  /** Forgets an entry (one slot of a folded run); its chunk goes back to the pool with its last entry. */
  private drop(log: TopicLog, kept: Kept): void {
    log.payloadBytes -= kept.end - kept.start;
    log.bytes -= kept.cost;
    this.bytes -= kept.cost;
    if (kept.user !== '') {
      const left = this.userBytes(kept.user) - kept.cost;
      if (left > 0) this.users.set(kept.user, left);
      else this.users.delete(kept.user);
    }
    if (!kept.folded && --kept.chunk.live === 0 && kept.chunk !== log.chunk) this.pool.give(kept.chunk, this.bytes);
  }

  /** Drops entries older than the age limit (their slots are freed). */
  private expire(log: TopicLog): void {
    const cutoff = this.now() - this.maxAgeMs;
    while (log.first <= log.head && log.ring[(log.first - 1) % this.limit]!.at < cutoff) this.dropOldest(log);
  }
}
