/**
 * Identical history reads in flight at once share one answer: when a node
 * restarts, thousands of clients rejoin the same topics within a second and
 * ask for the same window and the same range, and the store should be
 * asked once (Centrifugo calls this singleflight).
 *
 * Responsible for merging concurrent `window` and `read` calls with equal
 * arguments; everything else passes through. Not a cache: a call made after
 * the shared one settled asks the store again.
 */
import type { BroadcastHandler, BroadcastLog, HistoryRead, LogSubscription, NewBroadcast, Position, TopicWindow } from './engine';

/**
 * @example
 * const log = new CoalescedLog(engine.log);
 * await Promise.all([log.read('room:a', 1, 50, 50), log.read('room:a', 1, 50, 50)]); // one read of the store
 */
export class CoalescedLog implements BroadcastLog {
  private readonly windows = new Map<string, Promise<TopicWindow>>();
  private readonly reads = new Map<string, Promise<HistoryRead>>();
  /** Reads answered by a read already in flight, since start (for stats). */
  merged = 0;

  constructor(private readonly log: BroadcastLog) {}

  publish(topic: string, broadcast: NewBroadcast): Promise<Position> {
    return this.log.publish(topic, broadcast);
  }

  subscribe(topic: string, handler: BroadcastHandler): LogSubscription {
    return this.log.subscribe(topic, handler);
  }

  unsubscribe(subscription: LogSubscription): void {
    this.log.unsubscribe(subscription);
  }

  window(topic: string): Promise<TopicWindow> {
    return this.shared(this.windows, topic, () => this.log.window(topic));
  }

  read(topic: string, from: number, to: number, limit: number): Promise<HistoryRead> {
    return this.shared(this.reads, `${from} ${to} ${limit} ${topic}`, () => this.log.read(topic, from, to, limit));
  }

  sweep(): void {
    this.log.sweep?.();
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
