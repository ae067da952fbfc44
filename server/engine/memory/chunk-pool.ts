/**
 * Memory for history payloads: chunks of bytes outside the JavaScript heap,
 * sized in powers of two, and a pool of emptied chunks kept for reuse.
 *
 * Responsible for allocating, pooling and freeing chunks. Not responsible
 * for what is written in them (`history.ts` does that).
 */

/** Largest chunk a topic's payload bytes are kept in (chunk sizes are powers of two). */
export const MAX_CHUNK = 256 * 1024;
/** Bytes of emptied chunks the pool may always keep, however little history holds. */
const POOL_FLOOR = 16 * 1024 * 1024;

/** Payload bytes of consecutive entries of one topic, and how many of those entries are still held. */
export interface Chunk {
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
export class ChunkPool {
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
export function pow2(n: number): number {
  return n <= 64 ? 64 : 2 ** Math.ceil(Math.log2(n));
}
