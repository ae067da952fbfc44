/**
 * BASELINE — a deliberately naive durable outbox, for comparison only.
 *
 * It is what an outbox looks like without batching: every message is stored
 * with its own idb-keyval `set` (one strict-durability transaction each),
 * and flushing is stop-and-wait: send one message, wait for its ack, delete
 * it with its own `del` transaction, then send the next. It uses the same
 * strict store (`src/storage.ts`), the same entry shape, the same socket and
 * the same server path (a push with a message id, deduplicated by the
 * server) as Plume's outbox, so the difference measured is the strategy.
 *
 * Not used by Plume; not a recommendation.
 */
import { del, set, type UseStore } from 'idb-keyval';
import type { Channel, Payload } from '../../src/index';
import { strictStore } from '../../src/storage';

/** The entry the baseline stores: the same fields Plume's outbox stores. */
export interface NaiveEntry {
  id: string;
  key: string;
  topic: string;
  event: string;
  payload: Payload;
  createdAt: number;
  status: 'queued';
}

export class NaiveOutbox {
  readonly store: UseStore;
  private counter = 0;

  constructor(name: string) {
    this.store = strictStore(`${name}-naive-outbox`, 'entries');
  }

  /** BASELINE enqueue: one `set`, one strict transaction, per message. */
  async add(topic: string, event: string, payload: Payload): Promise<NaiveEntry> {
    const now = Date.now();
    const entry: NaiveEntry = {
      id: crypto.randomUUID(),
      key: `${now.toString(36).padStart(9, '0')}-naive-${(++this.counter).toString(36).padStart(6, '0')}`,
      topic,
      event,
      payload,
      createdAt: now,
      status: 'queued',
    };
    await set(entry.id, entry, this.store);
    return entry;
  }

  /**
   * BASELINE flush: stop-and-wait over a joined channel. Each message is
   * pushed with its id, its ack awaited, then deleted in its own
   * transaction before the next one goes out. Calls `acked(i)` after the
   * i-th ack arrives (before its delete). Throws on anything but `ok`: a
   * benchmark run should fail loudly rather than retry quietly.
   */
  async flush(channel: Channel, entries: NaiveEntry[], acked: (index: number) => void): Promise<void> {
    const ordered = [...entries].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    for (let i = 0; i < ordered.length; i++) {
      const entry = ordered[i]!;
      const result = await channel.request(entry.event, entry.payload, { id: entry.id });
      if (result.status !== 'ok') throw new Error(`baseline: message ${i} got ${result.status} ${JSON.stringify(result.response)}`);
      acked(i);
      await del(entry.id, this.store);
    }
  }
}
