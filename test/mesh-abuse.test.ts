/**
 * A lying mesh member, with real WebRTC between Node peers (@roamhq/wrtc):
 * a relay that takes the server's broadcasts and passes nothing on costs
 * its children no more than the repair bound (a head announcement, then
 * `gapWaitMs`, then a `plume:history` round trip) per broadcast, and only
 * until the server, hearing their repairs, takes its relay role away
 * (PROTOCOL.md §10, "Trust"; issue 20, finding 6).
 */
import wrtc from '@roamhq/wrtc';
import SimplePeer from 'simple-peer';
import { describe, expect, it } from 'vitest';
import type { Channel } from '../src/index';
import { mesh } from '../src/mesh/index';
import { usePlumeClients } from './clients';
import { useServers } from './helpers';
import { deadline } from './waiting';

const start = useServers();
const connect = usePlumeClients();
const TOPIC = 'room:abuse';
const GAP_WAIT_MS = 100;
/** How often the server announces a room's head to members reached through peers (registry.ts). */
const HEAD_INTERVAL_MS = 200;
/**
 * The repair bound: the head announcement, the gap wait, and a history round trip; plus a margin for
 * two shared cores running a server and five WebRTC peers.
 */
const REPAIR_BOUND_MS = HEAD_INTERVAL_MS + GAP_WAIT_MS + 1_000;

interface Member {
  room: Channel;
  got: Map<number, number>;
  /** When set, this member's data channels carry no relayed broadcast: it withholds everything. */
  withholding: boolean;
}

/** Polls until `ok()` holds (links and plans form asynchronously), failing with `what` after `ms`. */
async function until(ok: () => boolean, what: string, ms = 15_000): Promise<void> {
  await deadline(ms, what, (async () => {
    while (!ok()) await new Promise((r) => setTimeout(r, 20));
  })());
}

function member(url: string, name: string): Member {
  const self: Member = { room: undefined as unknown as Channel, got: new Map(), withholding: false };
  // A member whose own peer connections drop every relayed broadcast it sends once told to.
  class Withholding extends SimplePeer {
    override send(data: Parameters<SimplePeer.Instance['send']>[0]): void {
      if (self.withholding && String(data).startsWith('["m"')) return;
      super.send(data);
    }
  }
  const socket = connect(url, { params: { name }, gapWaitMs: GAP_WAIT_MS, mesh: mesh({ wrtc, SimplePeer: Withholding }) });
  socket.connect();
  self.room = socket.channel(TOPIC);
  self.room.on('msg', (p) => self.got.set(p.n as number, performance.now()));
  return self;
}

describe('a lying mesh member', () => {
  it('withholding every relay delays its children by at most the repair bound, and loses its relay role', async () => {
    const { url, server } = await start();
    const members = ['p0', 'p1', 'p2', 'p3', 'p4'].map((name) => member(url, name));
    await Promise.all(members.map((m) => m.room.join()));
    // Five members link to each other; the plan makes one of them the relay of the other four.
    const relayOf = () => members.find((m) => m.room.stats().mesh!.forwardTo.length === 4);
    await until(() => relayOf() !== undefined && members.filter((m) => m.room.stats().mesh!.planDirect === false).length === 4, 'one relay for four');
    const liar = relayOf()!;
    const honest = members.filter((m) => m !== liar);
    liar.withholding = true;

    const delays: number[] = [];
    const send = async (n: number): Promise<void> => {
      const sentAt = performance.now();
      server.broadcast(TOPIC, 'msg', { n });
      await until(() => honest.every((m) => m.got.has(n)), `every honest member to get ${n}`);
      delays.push(Math.max(...honest.map((m) => m.got.get(n)! - sentAt)));
    };
    let n = 0;
    while (liar.room.stats().mesh!.forwardTo.length > 0) {
      if (n >= 20) throw new Error(`the liar still relays after ${n} broadcasts`);
      await send(++n);
    }
    expect(server.mesh!.demotions).toBe(1);
    // Its children filled every gap from history, each within the bound.
    expect(Math.max(...delays)).toBeLessThan(REPAIR_BOUND_MS);
    expect(honest.every((m) => m.room.stats().repairs > 0)).toBe(true);

    // Demoted: another member relays, and the honest members get later broadcasts from it.
    await until(() => honest.some((m) => m.room.stats().mesh!.forwardTo.length === 4), 'another relay');
    const repairs = honest.map((m) => m.room.stats().repairs);
    const relayedBefore = honest.map((m) => m.room.stats().mesh!.receivedRelayed);
    for (let last = n + 5; n < last;) await send(++n);
    for (const m of honest) expect([...m.got.keys()]).toEqual(Array.from({ length: n }, (_, i) => i + 1));
    expect(honest.map((m) => m.room.stats().repairs)).toEqual(repairs);
    expect(honest.filter((m, i) => m.room.stats().mesh!.receivedRelayed > relayedBefore[i]!).length).toBe(3);
  }, 60_000);

  it('a peer that sends more than a data channel message may hold is cut and reported, and costs nothing else', async () => {
    const { url, server } = await start();
    const opened: SimplePeer.Instance[] = [];
    class Recording extends SimplePeer {
      constructor(options?: SimplePeer.Options) {
        super(options);
        opened.push(this);
      }
    }
    const honest = member(url, 'honest');
    const socket = connect(url, { params: { name: 'mallory' }, gapWaitMs: GAP_WAIT_MS, mesh: mesh({ wrtc, SimplePeer: Recording }) });
    socket.connect();
    const mallory = socket.channel(TOPIC);
    await Promise.all([honest.room.join(), mallory.join()]);
    await until(() => opened.some((p) => (p as unknown as { connected: boolean }).connected), 'the link to come up');
    // One part of a "chunked" message, far over 16 KiB: a receiver used to hold it, whatever its size.
    opened.find((p) => (p as unknown as { connected: boolean }).connected)!.send(JSON.stringify(['c', 'k', 0, 2, 'x'.repeat(100_000)]));
    await until(() => honest.room.stats().mesh!.forgeries === 1, 'the honest member to cut the peer');
    expect(honest.room.stats().mesh!.peers).toEqual([]);
    server.broadcast(TOPIC, 'msg', { n: 1 });
    await until(() => honest.got.has(1), 'the next broadcast');
  }, 30_000);
});
