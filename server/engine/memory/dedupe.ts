/**
 * The memory engine's dedupe store: which message ids were applied, and
 * how, for a window, with a share per user.
 *
 * Responsible for claims (with a lease, so an id whose handling never
 * finished can be claimed again), outcomes, the window, the per-user share
 * (a user beyond it forgets its own oldest ids, never another user's) and
 * a global cap. Not responsible for running anything (`socket/at-most-once.ts`).
 */
import type { Claim, DedupeStore, StoredOutcome } from '../engine';

export interface MemoryDedupeOptions {
  /** How long an applied id is remembered (ms). Default 86400000 (24 h). */
  windowMs?: number;
  /** Most ids remembered for one user; beyond it that user's oldest go first. Default 10000. */
  maxPerUser?: number;
  /** Most ids remembered in all; beyond it the oldest go first (logged through `onEarlyEviction`). Default 200000. */
  maxEntries?: number;
  /** Current time (ms), for tests. */
  now?: () => number;
  /** Called when a cap forces out an id younger than the window, with its age and whose it was. */
  onEarlyEviction?: (ageMs: number, user: string, cause: 'user' | 'global') => void;
}

interface Entry {
  user: string;
  at: number;
  outcome: StoredOutcome | null;
  /** While pending: when the claim lapses. */
  leaseUntil: number;
}

/**
 * @example
 * const store = new MemoryDedupeStore({ windowMs: 60_000 });
 * await store.claim('ada\0room:a\0m1', 'ada', 30_000); // { state: 'claimed' }
 * await store.settle('ada\0room:a\0m1', 'ada', { kind: 'reply', reply: null, position: null });
 * await store.claim('ada\0room:a\0m1', 'ada', 30_000); // { state: 'done', outcome }
 */
export class MemoryDedupeStore implements DedupeStore {
  /** Every entry, oldest claim first. */
  private readonly entries = new Map<string, Entry>();
  /** Each user's keys, oldest claim first. */
  private readonly byUser = new Map<string, Set<string>>();
  private readonly windowMs: number;
  private readonly maxPerUser: number;
  private readonly maxEntries: number;
  private readonly now: () => number;
  private readonly onEarlyEviction: NonNullable<MemoryDedupeOptions['onEarlyEviction']>;

  constructor(options: MemoryDedupeOptions = {}) {
    this.windowMs = options.windowMs ?? 86_400_000;
    this.maxPerUser = options.maxPerUser ?? 10_000;
    this.maxEntries = options.maxEntries ?? 200_000;
    this.now = options.now ?? Date.now;
    this.onEarlyEviction = options.onEarlyEviction ?? (() => {});
  }

  /** Number of ids remembered. */
  get size(): number {
    return this.entries.size;
  }

  claim(key: string, user: string, leaseMs: number): Promise<Claim> {
    this.expire();
    const now = this.now();
    const known = this.entries.get(key);
    if (known?.outcome) return Promise.resolve({ state: 'done', outcome: known.outcome });
    if (known && known.leaseUntil > now) return Promise.resolve({ state: 'pending' });
    if (known) this.forget(key, known); // a lapsed claim: its handling never finished
    this.makeRoom(user);
    const entry: Entry = { user, at: now, outcome: null, leaseUntil: now + leaseMs };
    this.entries.set(key, entry);
    let keys = this.byUser.get(user);
    if (!keys) this.byUser.set(user, (keys = new Set()));
    keys.add(key);
    return Promise.resolve({ state: 'claimed' });
  }

  settle(key: string, _user: string, outcome: StoredOutcome): Promise<void> {
    const entry = this.entries.get(key);
    if (entry) entry.outcome = outcome;
    return Promise.resolve();
  }

  release(key: string): Promise<void> {
    const entry = this.entries.get(key);
    if (entry && !entry.outcome) this.forget(key, entry);
    return Promise.resolve();
  }

  /** Forgets ids past the window (claimed ids are ordered by claim time, so the oldest come first). */
  private expire(): void {
    const cutoff = this.now() - this.windowMs;
    for (const [key, entry] of this.entries) {
      if (entry.at >= cutoff) break;
      // An id still being handled stays while its lease holds; the ones behind it still go when due.
      if (!entry.outcome && entry.leaseUntil > this.now()) continue;
      this.forget(key, entry);
    }
  }

  /** Makes room for one more id of `user`: its own oldest first, then everyone's oldest. */
  private makeRoom(user: string): void {
    const keys = this.byUser.get(user);
    if (keys && keys.size >= this.maxPerUser) this.evictOldest(keys.values(), 'user');
    if (this.entries.size >= this.maxEntries) this.evictOldest(this.entries.keys(), 'global');
  }

  /** Forgets the first settled id of `keys` (an id still being handled is never forgotten). */
  private evictOldest(keys: Iterable<string>, cause: 'user' | 'global'): void {
    for (const key of keys) {
      const entry = this.entries.get(key)!;
      if (!entry.outcome) continue;
      this.onEarlyEviction(this.now() - entry.at, entry.user, cause);
      this.forget(key, entry);
      return;
    }
  }

  private forget(key: string, entry: Entry): void {
    this.entries.delete(key);
    const keys = this.byUser.get(entry.user);
    keys?.delete(key);
    if (keys?.size === 0) this.byUser.delete(entry.user);
  }
}
