import { afterEach, describe, expect, it } from 'vitest';
import { MemoryAdapter, MemoryBus } from './memory';
import { PubSub } from './pubsub';

/** Lets the memory bus deliver (it hops nodes on a microtask, as a network would). */
const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

const started: PubSub[] = [];
async function node(bus: MemoryBus, nodeName?: string, onError?: (error: unknown, topic: string) => void): Promise<PubSub> {
  const pubsub = new PubSub(new MemoryAdapter({ bus, nodeName }), onError);
  await pubsub.start();
  started.push(pubsub);
  return pubsub;
}

afterEach(async () => {
  await Promise.all(started.splice(0).map((p) => p.close()));
});

/** Subscribes a recorder to `topic`; returns the messages it received. */
function record(pubsub: PubSub, topic: string): { messages: unknown[]; sub: ReturnType<PubSub['subscribe']> } {
  const messages: unknown[] = [];
  return { messages, sub: pubsub.subscribe(topic, (m) => messages.push(m)) };
}

describe('PubSub on one node', () => {
  it('delivers a broadcast to every subscriber of the topic, synchronously', async () => {
    const pubsub = await node(new MemoryBus());
    const a = record(pubsub, 'room:a');
    const b = record(pubsub, 'room:a');
    const other = record(pubsub, 'room:b');
    pubsub.broadcast('room:a', { n: 1 });
    expect(a.messages).toEqual([{ n: 1 }]);
    expect(b.messages).toEqual([{ n: 1 }]);
    expect(other.messages).toEqual([]);
  });

  it('passes the topic to the handler', async () => {
    const pubsub = await node(new MemoryBus());
    const topics: string[] = [];
    pubsub.subscribe('room:a', (_m, topic) => topics.push(topic));
    pubsub.broadcast('room:a', 'x');
    expect(topics).toEqual(['room:a']);
  });

  it('stops delivering after unsubscribe and forgets the topic', async () => {
    const pubsub = await node(new MemoryBus());
    const a = record(pubsub, 'room:a');
    expect(pubsub.subscriberCount('room:a')).toBe(1);
    pubsub.unsubscribe(a.sub);
    pubsub.broadcast('room:a', 1);
    expect(a.messages).toEqual([]);
    expect(pubsub.subscriberCount('room:a')).toBe(0);
    pubsub.unsubscribe(a.sub); // unknown subscriptions are ignored
  });

  it('broadcastFrom skips only the given subscription', async () => {
    const pubsub = await node(new MemoryBus());
    const a = record(pubsub, 'room:a');
    const b = record(pubsub, 'room:a');
    pubsub.broadcastFrom(a.sub.id, 'room:a', 'hi');
    expect(a.messages).toEqual([]);
    expect(b.messages).toEqual(['hi']);
  });

  it('subscribes under a chosen id', async () => {
    const pubsub = await node(new MemoryBus());
    const messages: unknown[] = [];
    const sub = pubsub.subscribe('room:a', (m) => messages.push(m), 'socket-1');
    expect(sub).toEqual({ id: 'socket-1', topic: 'room:a' });
    pubsub.localBroadcastFrom('socket-1', 'room:a', 'x');
    expect(messages).toEqual([]);
  });

  it('localBroadcast delivers on this node', async () => {
    const pubsub = await node(new MemoryBus());
    const a = record(pubsub, 'room:a');
    pubsub.localBroadcast('room:a', 'local');
    expect(a.messages).toEqual(['local']);
  });

  it('a throwing subscriber does not stop the others, and is reported', async () => {
    const errors: Array<[unknown, string]> = [];
    const pubsub = await node(new MemoryBus(), undefined, (error, topic) => errors.push([error, topic]));
    const before = record(pubsub, 'room:a');
    const boom = new Error('boom');
    pubsub.subscribe('room:a', () => {
      throw boom;
    });
    const after = record(pubsub, 'room:a');
    pubsub.broadcast('room:a', 'm');
    expect(before.messages).toEqual(['m']);
    expect(after.messages).toEqual(['m']);
    expect(errors).toEqual([[boom, 'room:a']]);
  });

  it('a subscriber may unsubscribe itself while a broadcast is delivered', async () => {
    const pubsub = await node(new MemoryBus());
    const seen: string[] = [];
    const sub = pubsub.subscribe('room:a', () => {
      seen.push('once');
      pubsub.unsubscribe(sub);
    });
    const other = record(pubsub, 'room:a');
    pubsub.broadcast('room:a', 1);
    pubsub.broadcast('room:a', 2);
    expect(seen).toEqual(['once']);
    expect(other.messages).toEqual([1, 2]);
  });
});

describe('PubSub across nodes sharing a MemoryBus', () => {
  it('each node sees the other\'s broadcasts', async () => {
    const bus = new MemoryBus();
    const a = await node(bus, 'a');
    const b = await node(bus, 'b');
    const onA = record(a, 'room:x');
    const onB = record(b, 'room:x');
    a.broadcast('room:x', 'from a');
    b.broadcast('room:x', 'from b');
    await settle();
    expect(onA.messages).toEqual(['from a', 'from b']);
    expect(onB.messages).toEqual(['from b', 'from a']);
  });

  it('localBroadcast stays on its node', async () => {
    const bus = new MemoryBus();
    const a = await node(bus, 'a');
    const b = await node(bus, 'b');
    const onA = record(a, 'room:x');
    const onB = record(b, 'room:x');
    a.localBroadcast('room:x', 'local');
    await settle();
    expect(onA.messages).toEqual(['local']);
    expect(onB.messages).toEqual([]);
  });

  it('a node does not receive its own broadcast twice', async () => {
    const bus = new MemoryBus();
    const a = await node(bus, 'a');
    await node(bus, 'b');
    const onA = record(a, 'room:x');
    a.broadcast('room:x', 1);
    await settle();
    expect(onA.messages).toEqual([1]);
  });

  it('broadcastFrom skips the sender\'s subscription only, not a same-numbered one on another node', async () => {
    const bus = new MemoryBus();
    const a = await node(bus, 'a');
    const b = await node(bus, 'b');
    const onA = record(a, 'room:x');
    const onB = record(b, 'room:x');
    a.broadcastFrom(onA.sub.id, 'room:x', 'hello');
    await settle();
    expect(onA.messages).toEqual([]);
    expect(onB.messages).toEqual(['hello']);
  });

  it('a closed node stops receiving', async () => {
    const bus = new MemoryBus();
    const a = await node(bus, 'a');
    const b = await node(bus, 'b');
    const onB = record(b, 'room:x');
    await b.close();
    a.broadcast('room:x', 1);
    await settle();
    expect(onB.messages).toEqual([]);
  });
});
