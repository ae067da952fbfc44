/**
 * Presence across nodes: trackers on PubSubs that share a MemoryBus, with
 * fake channels, so node failures and lost messages can be staged.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { deadline } from '../../test/waiting';
import type { ChannelSocket } from '../channels/channel';
import type { Envelope } from '../pubsub/adapter';
import { MemoryAdapter, MemoryBus } from '../pubsub/memory';
import { PubSub } from '../pubsub/pubsub';
import type { PresenceMember } from './topic';
import type { NodeRegistry } from '../engine/engine';
import { MemoryNodes } from '../engine/memory/nodes';
import { PresenceTracker } from './tracker';

const HEARTBEAT_MS = 30;

/** A joined channel that records the presence frames it is sent. */
class FakeMember implements PresenceMember {
  readonly frames: unknown[][] = [];
  joined = true;
  readonly assigns: { userId: string; name: string };
  constructor(readonly topic: string, readonly socketId: string, user: string, readonly joinRef = '1') {
    this.assigns = { userId: user, name: user };
  }
  sendRaw(frame: string): void {
    if (this.joined) this.frames.push(JSON.parse(frame) as unknown[]);
  }
  get socket(): ChannelSocket {
    return this as unknown as ChannelSocket;
  }
}

const running: Array<{ tracker: PresenceTracker; pubsub: PubSub }> = [];
afterEach(async () => {
  for (const { tracker, pubsub } of running.splice(0)) {
    tracker.close();
    await pubsub.close();
  }
});

async function node(bus: MemoryBus, name: string, heartbeatMs = HEARTBEAT_MS, nodes?: NodeRegistry): Promise<PresenceTracker> {
  const pubsub = new PubSub(new MemoryAdapter({ bus, nodeName: name }));
  await pubsub.start();
  const tracker = new PresenceTracker(pubsub, { graceMs: 0, coalesceMs: 0, heartbeatMs, nodes });
  tracker.start();
  running.push({ tracker, pubsub });
  return tracker;
}

function join(tracker: PresenceTracker, member: FakeMember): FakeMember {
  tracker.track(member.socket, { name: member.assigns.name });
  tracker.joined(member);
  return member;
}

/** Waits (polling the event loop, with a deadline) until `check` holds. */
async function until(what: string, check: () => boolean): Promise<void> {
  await deadline(2000, what, (async () => {
    while (!check()) await new Promise((resolve) => setTimeout(resolve, 5));
  })());
}

const keys = (tracker: PresenceTracker, topic: string): string[] => Object.keys(tracker.list(topic)).sort();

describe('presence across nodes', () => {
  it('each node lists the other\'s members, and a member on one node gets diffs for joins on the other', async () => {
    const bus = new MemoryBus();
    const a = await node(bus, 'a');
    const b = await node(bus, 'b');
    const ada = join(a, new FakeMember('room:x', 's1', 'Ada'));
    await until('b to see Ada', () => keys(b, 'room:x').includes('Ada'));
    join(b, new FakeMember('room:x', 's2', 'Bob'));
    await until('a to see Bob', () => keys(a, 'room:x').join() === 'Ada,Bob');
    await until('Ada to get the diff', () => ada.frames.some((f) => f[3] === 'presence_diff' && JSON.stringify(f[4]).includes('"Bob"')));
    expect(keys(b, 'room:x')).toEqual(['Ada', 'Bob']);
  });

  it('a node that starts later receives the state of the nodes already running', async () => {
    const bus = new MemoryBus();
    const a = await node(bus, 'a');
    join(a, new FakeMember('room:y', 's1', 'Ada'));
    const b = await node(bus, 'b');
    const bob = join(b, new FakeMember('room:y', 's2', 'Bob'));
    await until('Bob\'s state or diffs to hold Ada', () => keys(b, 'room:y').join() === 'Ada,Bob');
    await until('Bob to be told', () => bob.frames.some((f) => JSON.stringify(f[4]).includes('"Ada"')));
  });

  it('a leave on one node reaches the other', async () => {
    const bus = new MemoryBus();
    const a = await node(bus, 'a');
    const b = await node(bus, 'b');
    const ada = join(a, new FakeMember('room:z', 's1', 'Ada'));
    await until('b to see Ada', () => keys(b, 'room:z').includes('Ada'));
    ada.joined = false;
    a.ended(ada, 'leave');
    await until('b to see Ada leave', () => keys(b, 'room:z').length === 0);
  });

  it('a node that closes takes its presences with it', async () => {
    const bus = new MemoryBus();
    const a = await node(bus, 'a');
    const b = await node(bus, 'b');
    join(b, new FakeMember('room:w', 's2', 'Bob'));
    await until('a to see Bob', () => keys(a, 'room:w').includes('Bob'));
    b.close();
    await until('a to drop Bob', () => keys(a, 'room:w').length === 0);
  });

  it('a node that goes silent (crashed) is dropped after three missed heartbeats', async () => {
    const bus = new MemoryBus();
    const a = await node(bus, 'a');
    const b = await node(bus, 'b');
    join(b, new FakeMember('room:v', 's2', 'Bob'));
    await until('a to see Bob', () => keys(a, 'room:v').includes('Bob'));
    bus.detach('b'); // no `down`: the network just stops carrying b
    const cut = performance.now();
    const sends = bus.send.bind(bus);
    bus.send = (envelope: Envelope) => (envelope.node === 'b' ? undefined : sends(envelope));
    await until('a to drop Bob', () => keys(a, 'room:v').length === 0);
    expect(performance.now() - cut).toBeGreaterThanOrEqual(2 * HEARTBEAT_MS);
  });

  it('with a node registry, keeps a node whose heartbeats stop while it still beats there, and drops it once its beat lapses', async () => {
    const bus = new MemoryBus();
    const registry = new MemoryNodes();
    const a = await node(bus, 'a', HEARTBEAT_MS, registry);
    const b = await node(bus, 'b', HEARTBEAT_MS, registry);
    join(b, new FakeMember('room:r', 's2', 'Bob'));
    await until('a to see Bob', () => keys(a, 'room:r').includes('Bob'));
    // b's heartbeats stop reaching a (a long pause, a slow bus), but b still beats in the registry.
    const sends = bus.send.bind(bus);
    bus.send = (envelope: Envelope) => (envelope.node === 'b' ? undefined : sends(envelope));
    await new Promise((resolve) => setTimeout(resolve, 6 * HEARTBEAT_MS));
    expect(keys(a, 'room:r')).toEqual(['Bob']);
    // Killed: it stops beating too; gone once its beat lapsed.
    const beat = registry.beat.bind(registry);
    registry.beat = (name, ttl) => (name === 'b' ? Promise.resolve() : beat(name, ttl));
    await until('a to drop Bob', () => keys(a, 'room:r').length === 0);
  });

  it('a presence that joins and leaves around a state request does not stay behind on the node that asked', async () => {
    const bus = new MemoryBus();
    const b = await node(bus, 'b', 60_000);
    const pubsub = new PubSub(new MemoryAdapter({ bus, nodeName: 'c' }));
    await pubsub.start();
    const c = new PresenceTracker(pubsub, { graceMs: 0, coalesceMs: 0, heartbeatMs: 60_000 });
    running.push({ tracker: c, pubsub });
    const eve = new FakeMember('room:t', 's1', 'Eve');
    // In one turn, so the microtasks run in this order: c's state request reaches b while Eve's join is
    // not published yet, then Eve leaves before b's next flush. Her join and leave must not cancel out
    // of what c is sent after the state that holds her.
    c.start();
    queueMicrotask(() => {
      eve.joined = false;
      b.ended(eve, 'leave');
    });
    join(b, eve);
    join(b, new FakeMember('room:t', 's2', 'Dan'));
    await until('c to see Dan', () => keys(c, 'room:t').includes('Dan'));
    expect(keys(c, 'room:t')).toEqual(['Dan']); // b's deltas arrive in order: Eve's leave came before Dan's join
  });

  it('a lost delta is noticed by the next one\'s number and repaired with the sender\'s state', async () => {
    const bus = new MemoryBus();
    // Heartbeats too slow to help: only the gap in numbering can trigger the repair.
    const a = await node(bus, 'a', 60_000);
    const b = await node(bus, 'b', 60_000);
    join(b, new FakeMember('room:u', 's1', 'Bob'));
    await until('a to see Bob', () => keys(a, 'room:u').includes('Bob'));
    const sends = bus.send.bind(bus);
    let dropped = 0;
    bus.send = (envelope: Envelope) => {
      const message = envelope.message as { op?: string; node?: string };
      if (message.op === 'delta' && message.node === 'b' && dropped++ === 0) return; // lose Cy's join
      sends(envelope);
    };
    join(b, new FakeMember('room:u', 's2', 'Cy'));
    await until('Cy\'s delta to be sent (and lost)', () => dropped === 1);
    expect(keys(a, 'room:u')).toEqual(['Bob']);
    join(b, new FakeMember('room:u', 's3', 'Dee'));
    await until('a to hold all three', () => keys(a, 'room:u').join() === 'Bob,Cy,Dee');
    expect(dropped).toBe(2); // Dee's delta arrived out of order: ignored, it asked for b's state instead
  });
});
