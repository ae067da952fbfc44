/**
 * At-most-once application of client message ids within a window.
 *
 * Responsible for remembering, per key (sender identity, topic, message
 * id), how handling a message ended, answering retries with that original
 * outcome, and joining a retry that races the original. Not responsible for
 * running handlers (`channel.ts`) or for framing replies (`connection.ts`).
 */
import type { Reply } from '../../channels/channel';
import type { Position } from './history';

/** How handling a message ended. */
export type Outcome =
  /** `reply` is null when the handler chose not to reply. */
  | { kind: 'reply'; reply: Reply | null; position: Position | null }
  | { kind: 'crashed' }
  /** The channel ended before the handler ran or finished: nothing is recorded; a retry runs it. */
  | { kind: 'aborted' };

/** Receives the outcome; `duplicate` is true for every answer but the original's. */
export type Answer = (outcome: Outcome, duplicate: boolean) => void;

export interface DedupeOptions {
  /** How long an id is remembered (ms). Default 86400000 (24 h). */
  windowMs?: number;
  /** Most ids remembered at once. Default 100000. */
  maxEntries?: number;
  /** Current time (ms), for tests. */
  now?: () => number;
  /** Called when the entry cap forces out an id younger than the window. */
  onEarlyEviction?: (ageMs: number) => void;
}

interface Entry {
  at: number;
  outcome: Outcome | null;
  waiters: Answer[];
}

/**
 * @example
 * dedupe.run(key, (finish) => handle(finish), (outcome, duplicate) => reply(outcome, duplicate));
 */
export class Dedupe {
  private readonly entries = new Map<string, Entry>();
  private readonly windowMs: number;
  private readonly maxEntries: number;
  private readonly now: () => number;
  private readonly onEarlyEviction: (ageMs: number) => void;

  constructor(options: DedupeOptions = {}) {
    this.windowMs = options.windowMs ?? 86_400_000;
    this.maxEntries = options.maxEntries ?? 100_000;
    this.now = options.now ?? Date.now;
    this.onEarlyEviction = options.onEarlyEviction ?? (() => {});
  }

  /** Number of ids remembered. */
  get size(): number {
    return this.entries.size;
  }

  /**
   * Runs `start` for a new key and answers with its outcome; for a key
   * already seen, answers with the recorded outcome (at once, or when the
   * original finishes) without running anything.
   */
  run(key: string, start: (finish: (outcome: Outcome) => void) => void, answer: Answer): void {
    this.evict(false);
    const known = this.entries.get(key);
    if (known) {
      if (known.outcome) answer(known.outcome, true);
      else known.waiters.push(answer);
      return;
    }
    // Room is made only for a new id: looking up a known one must not evict it (or another).
    this.evict(true);
    const entry: Entry = { at: this.now(), outcome: null, waiters: [answer] };
    this.entries.set(key, entry);
    let finished = false;
    start((outcome) => {
      if (finished) return;
      finished = true;
      if (outcome.kind === 'aborted') this.entries.delete(key);
      else entry.outcome = outcome;
      entry.waiters.forEach((waiter, index) => waiter(outcome, index > 0));
      entry.waiters = [];
    });
  }

  /** Forgets ids past the window and, with `makeRoom`, the oldest ones while at the cap. */
  private evict(makeRoom: boolean): void {
    const cutoff = this.now() - this.windowMs;
    for (const [key, entry] of this.entries) {
      const full = makeRoom && this.entries.size >= this.maxEntries;
      if (entry.at >= cutoff && !full) break;
      // Never forget an id that is still being handled; the ones behind it still go when due (a
      // handler that never finishes must not keep every later id for good).
      if (!entry.outcome) continue;
      if (entry.at >= cutoff) this.onEarlyEviction(this.now() - entry.at);
      this.entries.delete(key);
    }
  }
}
