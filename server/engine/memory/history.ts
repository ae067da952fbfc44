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
import { utf8Write } from '../../transport/bytes';

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

/** What `History.append` is given: the broadcast, and its payload's UTF-8 bytes when the caller has them. */
export type AppendedBroadcast = Omit<StoredBroadcast, 'seq' | 'at'> & {
  /**
   * `payloadJson` as UTF-8, already encoded (a store may copy these instead of encoding the text again).
   * Possibly a view into the larger buffer the client's frame arrived in: copy it, do not keep it.
   */
  payloadBytes?: Uint8Array;
};

/** Assigns positions and keeps history; implementations must be atomic per topic. */
export interface History {
  /** Assigns the topic's next position and stores the broadcast under it. */
  append(topic: string, broadcast: AppendedBroadcast): Position;
  /** The last assigned position, or `{epoch, seq: 0}` when none yet. */
  head(topic: string): Position;
  /** Entries with `from <= seq <= to` (at most `limit`) of `epoch`; `complete` is false when any is no longer held. */
  read(topic: string, epoch: string, from: number, to: number, limit: number): HistoryRead;
  /** The seq of the oldest entry still held (head + 1 when none). */
  oldest(topic: string): number;
  /** Drops expired entries of every topic (called periodically by the server). */
  sweep?(): void;
  /** What the kept payloads take in memory, for `server.stats()`, when the store can tell. */
  memory?(): HistoryMemory;
}

/** Memory a history's payloads take, in bytes. */
export interface HistoryMemory {
  /** Payload bytes of the entries held. */
  heldBytes: number;
  /** Emptied chunks kept for reuse (freed by the sweep after next when nobody takes them). */
  pooledBytes: number;
  /** Chunks allocated since start: stops growing once a busy history is full. */
  allocatedBytes: number;
  /** Entries dropped since start, before their count or age limit, to keep `heldBytes` within the byte budget. */
  evictedForBudget: number;
}

/** Retention limits. */
export interface HistoryOptions {
  /** Entries kept per topic. Default 1000. */
  limit?: number;
  /** Age after which an entry is dropped (ms). Default 3600000 (one hour). */
  maxAgeMs?: number;
  /**
   * Payload bytes kept across all topics. Beyond it, the oldest entries of any topic are dropped
   * first, in the order they were appended (never the one just appended). Default 268435456 (256 MiB).
   */
  maxBytes?: number;
  /** Current time (ms), for tests. Default `Date.now`. */
  now?: () => number;
}

/** A new random epoch identifier. */
export function newEpoch(): string {
  return randomBytes(6).toString('base64url');
}

/** Largest chunk a topic's payload bytes are kept in (chunk sizes are powers of two). */
const MAX_CHUNK = 256 * 1024;
/** Bytes of emptied chunks the pool may always keep, however little history holds. */
const POOL_FLOOR = 16 * 1024 * 1024;

/** Payload bytes of consecutive entries of one topic, and how many of those entries are still held. */
interface Chunk {
  bytes: Buffer;
  used: number;
  live: number;
}

/**
 * Emptied chunks, by size, for the next topic that needs one. Reusing them
 * is not about the allocation: fresh memory from the OS is zero-filled page
 * by page on first write, which cost as much as writing the payload (on the
 * reference machine, a virtual machine, about 13 µs per 4 KB page: 6 µs per
 * 2 KB broadcast, against 0.2 µs for a reused chunk).
 *
 * A busy history empties chunks as fast as it fills new ones, about one
 * chunk per busy topic in transit, so the pool may hold as many bytes as
 * the history holds (at least {@link POOL_FLOOR}): a fixed cap below that
 * freed chunks only to fault in fresh ones a moment later, for as long as
 * the server ran. What nobody takes is freed by `release`, which the
 * history's periodic sweep calls: a chunk given back is freed by the second
 * sweep after, at the latest (within two minutes with the server's sweep).
 */
class ChunkPool {
  /** Chunks given back since the last release, by size. */
  private fresh = new Map<number, Buffer[]>();
  /** Chunks given back before the last release: taken first, freed at the next. */
  private aging = new Map<number, Buffer[]>();
  /** Bytes of chunks in the pool. */
  held = 0;
  /** Bytes of chunks ever allocated (for `MemoryHistory.memory`). */
  allocated = 0;

  take(size: number): Chunk {
    const bytes = this.aging.get(size)?.pop() ?? this.fresh.get(size)?.pop();
    if (bytes) this.held -= size;
    else this.allocated += size;
    return { bytes: bytes ?? Buffer.allocUnsafeSlow(size), used: 0, live: 0 };
  }

  /**
   * Keeps an emptied chunk while the pool holds at most `allowance` bytes (or the floor). Over that,
   * chunks of other sizes are freed to make room, those kept longest first: the chunk just emptied
   * is the size topics use now, while the others may be left from a topic's growth.
   */
  give(chunk: Chunk, allowance: number): void {
    const size = chunk.bytes.length;
    if (size === 0) return;
    const cap = Math.max(POOL_FLOOR, allowance);
    if (this.held + size > cap && !this.makeRoom(size, cap)) return;
    let list = this.fresh.get(size);
    if (!list) this.fresh.set(size, (list = []));
    list.push(chunk.bytes);
    this.held += size;
  }

  /** Frees chunks of sizes other than `size` until one of `size` fits under `cap`; false when it cannot. */
  private makeRoom(size: number, cap: number): boolean {
    for (const generation of [this.aging, this.fresh]) {
      for (const [other, list] of generation) {
        if (other === size) continue;
        while (list.length > 0 && this.held + size > cap) {
          list.pop();
          this.held -= other;
        }
        if (list.length === 0) generation.delete(other);
        if (this.held + size <= cap) return true;
      }
    }
    return false;
  }

  /** Frees the chunks nobody took since the last call; those given since wait for the next. */
  release(): void {
    for (const list of this.aging.values()) for (const bytes of list) this.held -= bytes.length;
    this.aging = this.fresh;
    this.fresh = new Map();
  }
}

/** The smallest power of two at least `n` (and at least 64). */
function pow2(n: number): number {
  return n <= 64 ? 64 : 2 ** Math.ceil(Math.log2(n));
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
  seq: number;
  event: string;
  id: string | undefined;
  at: number;
  /** Its place in the order of appends across topics (which entries are oldest, for the byte budget). */
  order: number;
  chunk: Chunk;
  start: number;
  end: number;
}

interface TopicLog {
  /** Last assigned seq. */
  head: number;
  /** Oldest seq still held (head + 1 when none). */
  first: number;
  /** A ring of the latest `limit` entries: seq `s` sits at `(s - 1) % limit`. */
  ring: Array<Kept | undefined>;
  /** The chunk new payloads are written to. */
  chunk: Chunk;
  /** Payload bytes of the entries held, which sizes the next chunk. */
  bytes: number;
  /** Whether the topic has a place in the oldest-first heap (see `MemoryHistory.fitBudget`). */
  queued: boolean;
}

/**
 * Topics by the append order of their oldest entry, oldest first, for the
 * byte budget. A topic's key is at most its oldest entry's order (entries
 * only ever get dropped from the front, so a key goes stale by being too
 * old): whoever pops a topic compares and pushes it back with its true key.
 */
class OldestFirst {
  private readonly keys: number[] = [];
  private readonly logs: TopicLog[] = [];

  push(key: number, log: TopicLog): void {
    let i = this.keys.length;
    this.keys.push(key);
    this.logs.push(log);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (this.keys[parent]! <= key) break;
      this.keys[i] = this.keys[parent]!;
      this.logs[i] = this.logs[parent]!;
      i = parent;
    }
    this.keys[i] = key;
    this.logs[i] = log;
  }

  /** The topic with the smallest key and that key, removed from the heap; undefined when empty. */
  pop(): { key: number; log: TopicLog } | undefined {
    const size = this.keys.length;
    if (size === 0) return undefined;
    const top = { key: this.keys[0]!, log: this.logs[0]! };
    const key = this.keys.pop()!;
    const log = this.logs.pop()!;
    if (size > 1) {
      let i = 0;
      for (;;) {
        let child = 2 * i + 1;
        if (child >= size - 1) break;
        if (child + 1 < size - 1 && this.keys[child + 1]! < this.keys[child]!) child++;
        if (this.keys[child]! >= key) break;
        this.keys[i] = this.keys[child]!;
        this.logs[i] = this.logs[child]!;
        i = child;
      }
      this.keys[i] = key;
      this.logs[i] = log;
    }
    return top;
  }
}

/** The chunk of a topic that has written nothing yet (never pooled: its count never reaches 0). */
const NO_CHUNK: Chunk = { bytes: Buffer.alloc(0), used: 0, live: 1 };

/**
 * @example
 * const history = new MemoryHistory({ limit: 500 });
 * history.append('room:a', { event: 'msg', payloadJson: '{"body":"hi"}' }); // { epoch, seq: 1 }
 */
export class MemoryHistory implements History {
  readonly epoch: string;
  private readonly logs = new Map<string, TopicLog>();
  private readonly pool = new ChunkPool();
  /** Payload bytes of every entry held, across topics. */
  private bytes = 0;
  private readonly oldestFirst = new OldestFirst();
  private evictedForBudget = 0;
  /** Appends so far, across topics: each entry's `order`. */
  private appended = 0;
  private readonly limit: number;
  private readonly maxAgeMs: number;
  private readonly maxBytes: number;
  private readonly now: () => number;

  constructor(options: HistoryOptions = {}, epoch: string = newEpoch()) {
    this.epoch = epoch;
    this.limit = options.limit ?? 1000;
    this.maxAgeMs = options.maxAgeMs ?? 3_600_000;
    this.maxBytes = options.maxBytes ?? 256 * 1024 * 1024;
    this.now = options.now ?? Date.now;
    if (!(this.limit >= 0) || !(this.maxAgeMs > 0) || !(this.maxBytes > 0)) throw new Error('history limit must be >= 0, maxAgeMs and maxBytes > 0');
  }

  append(topic: string, broadcast: AppendedBroadcast): Position {
    let log = this.logs.get(topic);
    if (!log) this.logs.set(topic, (log = { head: 0, first: 1, ring: [], chunk: NO_CHUNK, bytes: 0, queued: false }));
    const seq = ++log.head;
    if (this.limit === 0) log.first = seq + 1;
    else {
      const slot = (seq - 1) % this.limit;
      const evicted = log.ring[slot];
      if (evicted) this.drop(log, evicted);
      // A fixed-size ring: appending allocates one entry and moves no array.
      const kept = (log.ring[slot] = this.keep(log, seq, broadcast));
      if (seq - log.first >= this.limit) log.first = seq - this.limit + 1;
      if (!log.queued) {
        log.queued = true;
        this.oldestFirst.push(kept.order, log);
      }
      if (this.bytes > this.maxBytes) this.fitBudget(log);
    }
    return { epoch: this.epoch, seq };
  }

  /**
   * Drops the oldest entries across topics until the payloads fit the byte budget, or until only
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

  /** Writes the payload into the topic's current chunk (a new one when it does not fit). */
  private keep(log: TopicLog, seq: number, broadcast: AppendedBroadcast): Kept {
    const text = broadcast.payloadJson;
    const bytes = broadcast.payloadBytes;
    let chunk = log.chunk;
    // UTF-8 takes at most 3 bytes per UTF-16 unit: measure exactly only when that might not fit.
    if (chunk.bytes.length - chunk.used < (bytes ? bytes.length : text.length * 3)) {
      const length = bytes ? bytes.length : Buffer.byteLength(text);
      if (chunk.bytes.length - chunk.used < length) {
        // Chunks grow with what the topic keeps (half of it, at most MAX_CHUNK), so a quiet topic
        // holds little and a busy one few chunks; at most about one chunk per topic is slack.
        if (chunk.live === 0) this.pool.give(chunk, this.bytes);
        chunk = log.chunk = this.pool.take(pow2(Math.max(length, Math.min(MAX_CHUNK, log.bytes >>> 1))));
      }
    }
    const start = chunk.used;
    if (bytes) {
      chunk.bytes.set(bytes, start);
      chunk.used += bytes.length;
    } else chunk.used += utf8Write(chunk.bytes, text, start);
    chunk.live++;
    log.bytes += chunk.used - start;
    this.bytes += chunk.used - start;
    return { seq, event: broadcast.event, id: broadcast.id, at: this.now(), order: ++this.appended, chunk, start, end: chunk.used };
  }

  /** Forgets an entry's payload; its chunk goes back to the pool with its last entry. */
  private drop(log: TopicLog, kept: Kept): void {
    log.bytes -= kept.end - kept.start;
    this.bytes -= kept.end - kept.start;
    if (--kept.chunk.live === 0 && kept.chunk !== log.chunk) this.pool.give(kept.chunk, this.bytes);
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
    for (let seq = start; seq <= end; seq++) {
      const kept = log.ring[(seq - 1) % this.limit]!;
      entries.push({ seq, event: kept.event, payloadJson: kept.chunk.bytes.toString('utf8', kept.start, kept.end), id: kept.id, at: kept.at });
    }
    // A range cut short by `limit` is still complete: the client asks for the rest.
    return { entries, complete: from >= first };
  }

  /** Drops expired entries, and frees emptied chunks that no topic took since the previous sweep. */
  sweep(): void {
    for (const log of this.logs.values()) this.expire(log);
    this.pool.release();
  }

  /** Memory the payloads take (see {@link HistoryMemory}). */
  memory(): HistoryMemory {
    return { heldBytes: this.bytes, pooledBytes: this.pool.held, allocatedBytes: this.pool.allocated, evictedForBudget: this.evictedForBudget };
  }

  /** Drops entries older than the age limit (their slots are freed). */
  private expire(log: TopicLog): void {
    const cutoff = this.now() - this.maxAgeMs;
    while (log.first <= log.head && log.ring[(log.first - 1) % this.limit]!.at < cutoff) this.dropOldest(log);
  }
}
