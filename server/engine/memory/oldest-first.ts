/**
 * A min-heap of topics keyed by the append order of their oldest entry:
 * which topic holds the oldest broadcast, for a history's byte budget.
 *
 * Responsible for the heap alone; `history.ts` decides what a key means.
 */

/**
 * Topics by the append order of their oldest entry, oldest first, for the
 * byte budget. A topic's key is at most its oldest entry's order (entries
 * only ever get dropped from the front, so a key goes stale by being too
 * old): whoever pops a topic compares and pushes it back with its true key.
 */
export class OldestFirst<T> {
  private readonly keys: number[] = [];
  private readonly logs: T[] = [];

  push(key: number, log: T): void {
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
  pop(): { key: number; log: T } | undefined {
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
