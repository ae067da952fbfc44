import { beforeEach, describe, expect, it } from 'vitest';
import { CoalescedLog } from './coalesce';
import type { BroadcastHandler, BroadcastLog, HistoryRead, LogSubscription, SequencedBroadcast, StoredBroadcast, TopicWindow } from './engine';

/** A store that counts what it is asked, answers when told, and delivers broadcasts on demand. */
class CountingLog implements BroadcastLog {
  windows = 0;
  reads = 0;
  head = 10;
  readonly handlers = new Map<LogSubscription, BroadcastHandler>();
  /** Resolves every subscription's `ready` when called. */
  goLive: () => void = () => {};
  private readonly live = new Promise<void>((resolve) => (this.goLive = resolve));

  publish(): never {
    throw new Error('not used');
  }

  subscribe(topic: string, handler: BroadcastHandler): LogSubscription {
    const subscription = { topic, ready: this.live };
    this.handlers.set(subscription, handler);
    return subscription;
  }

  unsubscribe(subscription: LogSubscription): void {
    this.handlers.delete(subscription);
  }

  window(): Promise<TopicWindow> {
    this.windows++;
    return Promise.resolve({ epoch: 'e', head: this.head, oldest: 1 });
  }

  read(_topic: string, from: number, to: number): Promise<HistoryRead> {
    this.reads++;
    const entries: StoredBroadcast[] = [];
    for (let seq = from; seq <= to; seq++) entries.push({ seq, event: 'msg', payloadJson: '{}', at: 0 } as StoredBroadcast);
    return Promise.resolve({ epoch: 'e', head: this.head, oldest: 1, entries, complete: true });
  }

  /** A broadcast of `topic` reaches this node. */
  deliver(topic: string): void {
    this.head++;
    const broadcast = { topic, epoch: 'e', seq: this.head, event: 'msg', payloadBytes: Buffer.from('{}'), exclude: null } as SequencedBroadcast;
    for (const [subscription, handler] of this.handlers) if (subscription.topic === topic) handler(broadcast);
  }
}

let store: CountingLog;
let clock: number;
let log: CoalescedLog;

beforeEach(() => {
  store = new CountingLog();
  clock = 0;
  log = new CoalescedLog(store, { cacheMs: 1000, now: () => clock });
});

/** A subscription to `topic` that is live. */
async function watching(topic: string): Promise<LogSubscription> {
  const subscription = log.subscribe(topic, () => {});
  store.goLive();
  await subscription.ready;
  await Promise.resolve();
  return subscription;
}

describe('CoalescedLog', () => {
  it('asks the store once for identical reads in flight together, even without a subscription', async () => {
    const answers = await Promise.all([log.read('room:a', 5, 10, 50), log.read('room:a', 5, 10, 50), log.read('room:a', 6, 10, 50)]);
    expect(store.reads).toBe(2);
    expect(answers[0]).toBe(answers[1]);
    await log.read('room:a', 5, 10, 50);
    expect(store.reads).toBe(3); // not kept: this node does not see the topic's broadcasts
  });

  it('answers later reads of a live topic from what it kept, while no broadcast arrived and for cacheMs at most', async () => {
    await watching('room:a');
    const first = await log.window('room:a');
    await log.read('room:a', 5, 10, 50);
    clock = 999;
    expect(await log.window('room:a')).toBe(first);
    await log.read('room:a', 5, 10, 50);
    expect([store.windows, store.reads]).toEqual([1, 1]);
    expect(log.kept).toBe(2);
    clock = 1000;
    await log.window('room:a');
    await log.read('room:a', 5, 10, 50);
    expect([store.windows, store.reads]).toEqual([2, 2]);
  });

  it('drops what it kept when a broadcast of the topic arrives, and only that topic', async () => {
    await watching('room:a');
    await watching('room:b');
    await log.window('room:a');
    await log.window('room:b');
    store.deliver('room:a');
    expect((await log.window('room:a')).head).toBe(11);
    await log.window('room:b');
    expect(store.windows).toBe(3);
  });

  it('keeps nothing that a broadcast overtook while it was being read', async () => {
    await watching('room:a');
    const reading = log.window('room:a');
    store.deliver('room:a'); // reached this node before the answer came back
    await reading;
    await log.window('room:a');
    expect(store.windows).toBe(2);
  });

  it('keeps nothing before the subscription is live, nor after it ended', async () => {
    const subscription = log.subscribe('room:a', () => {});
    await log.window('room:a');
    await log.window('room:a');
    expect(store.windows).toBe(2); // the subscription is not live yet: a broadcast could pass unseen
    store.goLive();
    await subscription.ready;
    await Promise.resolve();
    await log.window('room:a');
    await log.window('room:a');
    expect(store.windows).toBe(3);
    log.unsubscribe(subscription);
    await log.window('room:a');
    expect(store.windows).toBe(4);
  });

  it('passes broadcasts on to the subscriber', async () => {
    const seen: number[] = [];
    log.subscribe('room:a', (broadcast) => seen.push(broadcast.seq));
    store.deliver('room:a');
    expect(seen).toEqual([11]);
  });

  it('with cacheMs 0 keeps nothing and subscribes straight through', async () => {
    log = new CoalescedLog(store, { cacheMs: 0, now: () => clock });
    await watching('room:a');
    await log.window('room:a');
    await log.window('room:a');
    expect(store.windows).toBe(2);
  });
});
