/**
 * Signalling cannot be turned against a member (issue 20, finding 5):
 * `plume:signal` is capped per signal, per sender and per target, and
 * never pushes its target towards its slow-consumer limit (PROTOCOL.md §10).
 */
import type { Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { joinOkWith, PLUME, requestWith } from './plume-frames';
import { useServers, type Frame, type RawClient } from './helpers';

const start = useServers();
const TOPIC = 'room:signals';

async function meshMember(connect: (o?: object) => Promise<RawClient>, name: string): Promise<{ client: RawClient; joinRef: string; member: string }> {
  const client = await connect({ name, params: PLUME });
  const { joinRef, reply } = await joinOkWith(client, TOPIC, { mesh: true });
  return { client, joinRef, member: reply.meta!.member as string };
}

/** The TCP socket under a raw client, to stop it reading. */
const tcp = (client: RawClient): Socket => (client as unknown as { ws: { _socket: Socket } }).ws._socket;

/** Waits until every member in `members` has a link to every other (small rooms link fully). */
async function linked(members: Array<{ client: RawClient; member: string }>): Promise<void> {
  for (const m of members) {
    const others = members.filter((o) => o !== m).map((o) => o.member);
    await m.client.next((f: Frame) => f.event === 'plume:mesh' && others.every((o) => (f.payload.links as string[]).includes(o)));
  }
}

describe('signalling caps', () => {
  it('a member flooding a peer that reads slowly gets "rate limited", and the peer is not cut (it used to be closed with 4429)', async () => {
    const { connect, server } = await start();
    const a = await meshMember(connect, 'ada');
    const b = await meshMember(connect, 'bob');
    await linked([a, b]);
    tcp(b.client).pause();
    // 8 MiB of signalling in 1,024 signals of 8 KiB each: the size of the reproduction.
    const signal = { type: 'candidate', candidate: 'x'.repeat(8 * 1024) };
    const refs = Array.from({ length: 1024 }, () => {
      const ref = a.client.ref();
      a.client.send([a.joinRef, ref, TOPIC, 'plume:signal', { to: b.member, signal }]);
      return ref;
    });
    const replies = await Promise.all(refs.map((ref) => a.client.replyTo(ref, 10_000)));
    const refused = replies.filter((r) => r.status === 'error');
    expect(refused.length).toBeGreaterThan(900);
    expect(new Set(refused.map((r) => r.response.reason))).toEqual(new Set(['rate limited']));
    // Every signal is answered, so the server is done with them: the peer was not closed meanwhile.
    tcp(b.client).resume();
    expect((await b.client.heartbeat(10_000)).payload).toEqual({ status: 'ok', response: {} });
    expect(server.stats().sockets).toBe(2);
  });

  it('caps what all senders together send one target', async () => {
    const { connect } = await start();
    const target = await meshMember(connect, 'target');
    const senders = await Promise.all(['s1', 's2', 's3', 's4'].map((name) => meshMember(connect, name)));
    await linked([target, ...senders]);
    // Each sender stays within its own budget (100 KiB of the 128 KiB burst); together they pass the target's.
    const signal = { type: 'candidate', candidate: 'y'.repeat(10 * 1024) };
    const replies: Array<{ status: string; response: Record<string, unknown> }> = [];
    for (const s of senders) {
      for (let i = 0; i < 10; i++) replies.push((await requestWith(s.client, TOPIC, s.joinRef, 'plume:signal', { to: target.member, signal })).payload as never);
    }
    const ok = replies.filter((r) => r.status === 'ok').length;
    expect(ok).toBeGreaterThanOrEqual(11);
    expect(ok).toBeLessThan(20);
    expect(replies.filter((r) => r.status === 'error').every((r) => r.response.reason === 'rate limited')).toBe(true);
  });

  it('refuses a signal larger than mesh.maxSignalBytes with "signal too large"', async () => {
    const { connect } = await start();
    const a = await meshMember(connect, 'ada');
    const b = await meshMember(connect, 'bob');
    await linked([a, b]);
    const reply = await requestWith(a.client, TOPIC, a.joinRef, 'plume:signal', { to: b.member, signal: { sdp: 'z'.repeat(20 * 1024) } });
    expect(reply.payload).toEqual({ status: 'error', response: { reason: 'signal too large' } });
    expect(await b.client.drain((f) => f.event === 'plume:signal')).toEqual([]);
  });
});
