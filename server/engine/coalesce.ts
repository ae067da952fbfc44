/**
 * History reads asked of the store as seldom as they can be: when a node
 * restarts, thousands of clients rejoin the same topics within a second or
 * two and ask for the same window and the same range.
 *
 * - Identical reads in flight at once share one answer (Centrifugo calls
 *   this singleflight).
 * - A topic this node is subscribed to keeps its last window and its last
 *   few range reads for up to `cacheMs`, for as long as no broadcast of the
 *   topic reached this node. Every broadcast after a kept answer's head
 *   reaches this node's subscription, so a join answered from it still gets
 *   each later broadcast once, live, after its replay: the same guarantee a
 *   read of the store gives. A broadcast that arrives, or a subscription
 *   that comes or goes, drops what was kept; so does `cacheMs` passing,
 *   which bounds how stale a window's oldest entry can be (age trimming,
 *   a topic forgotten when idle, a store that lost its data).
 *
 * Responsible for merging and keeping reads; everything else passes
 * through. Not responsible for what a read means (`delivery/replay.ts`).
 */
import type { BroadcastHandler, BroadcastLog, HistoryRead, LogSubscription, NewBroadcast, Position, TopicWindow } from './engine';

/** Range reads kept per topic at most (a restart's rejoins mostly ask one or two). */
const READS_PER_TOPIC = 8;

interface Kept<T> {
  value: T;
  /** The topic's version when the read was asked; it is good while that is still the version. */
  version: number;
  /** When the read was asked. */
  at: number;
}

/** What this node knows of a topic it is subscribed to. */
interface Watched {
  /** Subscriptions made here, and how many of them are live (every broadcast after reaches them). */
  subscriptions: number;
  live: number;
  /** Moves on with every broadcast that reaches this node and every subscription that comes or goes. */
  version: number;
  window: Kept<TopicWindow> | null;
  reads: Map<string, Kept<HistoryRead>>;
}

/** How the log is tuned. */
export interface CoalescedLogOptions {
  /** How long a kept answer may serve at most (ms); 0 keeps none, and only reads in flight are shared. */
  cacheMs: number;
  /** The clock (tests). */
  now?: () => number;
}

/**
 * @example
 * const log = new CoalescedLog(engine.log, { cacheMs: 1000 });
 * await Promise.all([log.read('room:a', 1, 50, 50), log.read('room:a', 1, 50, 50)]); // one read of the store
 */
export class CoalescedLog implements BroadcastLog {
  private readonly windows = new Map<string, Promise<TopicWindow>>();
  private readonly reads = new Map<string, Promise<HistoryRead>>();
  private readonly watched = new Map<string, Watched>();
  private readonly subscriptions = new Map<LogSubscription, { watched: Watched; live: boolean }>();
  private readonly cacheMs: number;
  private readonly now: () => number;
  /** Reads answered by a read already in flight, and by a kept answer, since start (for stats). */
  merged = 0;
  kept = 0;

  constructor(private readonly log: BroadcastLog, options: CoalescedLogOptions = { cacheMs: 0 }) {
    this.cacheMs = options.cacheMs;
    this.now = options.now ?? Date.now;
  }

  /**
   * Passes through: this node's own broadcast reaches its subscription like any other (and a join
   * answered from a kept window meanwhile gets it live, after its replay).
   */
  publish(topic: string, broadcast: NewBroadcast): Promise<Position> {
    return this.log.publish(topic, broadcast);
  }

  subscribe(topic: string, handler: BroadcastHandler): LogSubscription {
    if (this.cacheMs <= 0) return this.log.subscribe(topic, handler);
    let watched = this.watched.get(topic);
    if (!watched) this.watched.set(topic, (watched = { subscriptions: 0, live: 0, version: 0, window: null, reads: new Map() }));
    const mine = watched;
    mine.subscriptions++;
    mine.version++;
    const subscription = this.log.subscribe(topic, (broadcast) => {
      mine.version++;
      handler(broadcast);
    });
    const state = { watched: mine, live: false };
    this.subscriptions.set(subscription, state);
    subscription.ready.then(() => {
      if (this.subscriptions.get(subscription) !== state) return;
      state.live = true;
      mine.live++;
      mine.version++;
    }, () => {});
    return subscription;
  }

  unsubscribe(subscription: LogSubscription): void {
    const state = this.subscriptions.get(subscription);
    this.subscriptions.delete(subscription);
    this.log.unsubscribe(subscription);
    if (!state) return;
    const { watched } = state;
    watched.version++;
    if (state.live) watched.live--;
    if (--watched.subscriptions === 0) this.watched.delete(subscription.topic);
  }

  window(topic: string): Promise<TopicWindow> {
    const watched = this.watched.get(topic);
    const kept = watched && this.fresh(watched, watched.window);
    if (kept) return Promise.resolve(kept);
    return this.shared(this.windows, topic, () => this.keep(topic, this.log.window(topic), (into, answer) => (into.window = answer)));
  }

  read(topic: string, from: number, to: number, limit: number): Promise<HistoryRead> {
    const key = `${from} ${to} ${limit}`;
    const watched = this.watched.get(topic);
    const kept = watched && this.fresh(watched, watched.reads.get(key));
    if (kept) return Promise.resolve(kept);
    return this.shared(this.reads, `${key} ${topic}`, () => this.keep(topic, this.log.read(topic, from, to, limit), (into, answer) => {
      into.reads.delete(key);
      if (into.reads.size >= READS_PER_TOPIC) into.reads.delete(into.reads.keys().next().value!);
      into.reads.set(key, answer);
    }));
  }

  sweep(): void {
    this.log.sweep?.();
  }

  /** A kept answer that may still serve, or null: nothing reached the topic since it was asked, and it is young enough. */
  private fresh<T>(watched: Watched, kept: Kept<T> | null | undefined): T | null {
    if (!kept || kept.version !== watched.version || this.now() - kept.at >= this.cacheMs) return null;
    this.kept++;
    return kept.value;
  }

  /**
   * Keeps what `asked` answers for the topic, if a live subscription watches it now, under the version
   * of now: a broadcast that reaches the topic before the answer comes (or any time after) moves the
   * version on, and `fresh` then refuses the answer. A subscription that ends moves it on too, so only
   * answers asked while one was live can ever serve.
   */
  private keep<T>(topic: string, asked: Promise<T>, store: (into: Watched, answer: Kept<T>) => void): Promise<T> {
    const watched = this.watched.get(topic);
    if (this.cacheMs <= 0 || !watched || watched.live === 0) return asked;
    const answer = { version: watched.version, at: this.now() };
    return asked.then((value) => {
      store(watched, { value, ...answer });
      return value;
    });
  }

  private shared<T>(inFlight: Map<string, Promise<T>>, key: string, ask: () => Promise<T>): Promise<T> {
    const pending = inFlight.get(key);
    if (pending) {
      this.merged++;
      return pending;
    }
    const asked = ask();
    inFlight.set(key, asked);
    const done = () => inFlight.delete(key);
    asked.then(done, done);
    return asked;
  }
}
