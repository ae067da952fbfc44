/**
 * The memory engine's broadcast log: `MemoryHistory` for order and
 * retention, plus the subscribers of each topic, called synchronously in
 * the publisher's turn (so a broadcast reaches this process's members
 * before `publish` returns, and in seq order: one thread assigns and
 * delivers).
 *
 * Shared by every node of one `MemoryStore`: in-process nodes see one order
 * per topic, as nodes on one Redis do. Not responsible for frames.
 */
import { QuotaExceeded, sequenced, type BroadcastHandler, type BroadcastLog, type HistoryRead, type LogSubscription, type NewBroadcast, type Position, type TopicWindow } from '../engine';
import type { MemoryHistory } from './history';

interface Entry extends LogSubscription {
  handler: BroadcastHandler;
}

const READY = Promise.resolve();

/**
 * @example
 * const log = new MemoryLog(new MemoryHistory(), (err) => console.error(err));
 * log.subscribe('room:a', (b) => console.log(b.seq, b.event));
 * await log.publish('room:a', broadcast); // { epoch, seq: 1 }, delivered above already
 */
export class MemoryLog implements BroadcastLog {
  private readonly topics = new Map<string, Set<Entry>>();
  /** Per topic, the position each message id got (keyed by sender and id), so a publish retried with the same id is not applied twice. */
  private readonly ids = new Map<string, Map<string, Position>>();

  constructor(
    private readonly history: MemoryHistory,
    /** A subscriber that throws is reported here; the others still get the broadcast. */
    private readonly onHandlerError: (error: unknown, topic: string) => void,
  ) {}

  publish(topic: string, broadcast: NewBroadcast): Promise<Position> {
    const key = broadcast.id === undefined ? undefined : `${broadcast.user}\u0000${broadcast.id}`;
    const known = key === undefined ? undefined : this.ids.get(topic)?.get(key);
    if (known && known.epoch === this.history.peek(topic)?.epoch) return Promise.resolve(known);
    let position: Position;
    try {
      position = this.history.append(topic, broadcast);
    } catch (err) {
      if (err instanceof QuotaExceeded) return Promise.reject(err);
      throw err;
    }
    if (key !== undefined) this.remember(topic, key, position);
    const subscribers = this.topics.get(topic);
    if (subscribers) {
      const live = sequenced(topic, position, broadcast);
      for (const entry of [...subscribers]) {
        try {
          entry.handler(live);
        } catch (error) {
          // One failing subscriber (node) must not starve the others; reported, not swallowed.
          this.onHandlerError(error, topic);
        }
      }
    }
    return Promise.resolve(position);
  }

  subscribe(topic: string, handler: BroadcastHandler): LogSubscription {
    const entry: Entry = { topic, ready: READY, handler };
    let set = this.topics.get(topic);
    if (!set) this.topics.set(topic, (set = new Set()));
    set.add(entry);
    return entry;
  }

  unsubscribe(subscription: LogSubscription): void {
    const set = this.topics.get(subscription.topic);
    if (!set?.delete(subscription as Entry)) return;
    if (set.size === 0) this.topics.delete(subscription.topic);
  }

  window(topic: string): Promise<TopicWindow> {
    return Promise.resolve(this.history.window(topic));
  }

  read(topic: string, from: number, to: number, limit: number): Promise<HistoryRead> {
    return Promise.resolve(this.history.read(topic, from, to, limit));
  }

  sweep(): void {
    this.history.sweep();
    // Ids of entries no longer held cannot be told from new ones by history either: forget them.
    for (const [topic, ids] of this.ids) {
      const window = this.history.peek(topic);
      for (const [id, position] of ids) if (position.epoch !== window?.epoch || position.seq < window.oldest) ids.delete(id);
      if (ids.size === 0) this.ids.delete(topic);
    }
  }

  private remember(topic: string, id: string, position: Position): void {
    let ids = this.ids.get(topic);
    if (!ids) this.ids.set(topic, (ids = new Map()));
    ids.set(id, position);
  }
}
