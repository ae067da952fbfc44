/**
 * The server's side of the mesh over raw sockets (PROTOCOL.md §10): what a
 * mesh join gets, who may signal whom, stamped senders, key rotation, and
 * ephemeral events.
 */
import { describe, expect, it } from 'vitest';
import { ok } from '../server/channels/channel';
import { joinOkWith, PLUME, requestWith } from './plume-frames';
import { useServers, type Frame, type RawClient, windowOf } from './helpers';

const start = useServers();
const TOPIC = 'room:mesh';

async function meshMember(connect: (o?: object) => Promise<RawClient>, name: string): Promise<{ client: RawClient; joinRef: string; member: string; reply: Frame }> {
  const client = await connect({ name, params: PLUME });
  const { joinRef, reply } = await joinOkWith(client, TOPIC, { mesh: true });
  return { client, joinRef, member: reply.meta!.member as string, reply };
}

const meshPush = (links: string[]) => (f: Frame) => f.event === 'plume:mesh' && (f.payload.links as string[]).length === links.length;

describe('the mesh on the server', () => {
  it('gives a mesh join its member id and the Ed25519 keys, and a plain Plume join neither', async () => {
    const { connect } = await start();
    const { reply, member } = await meshMember(connect, 'ada');
    expect(member).toMatch(/^[\w-]{8,}$/);
    expect(reply.meta!.keys).toEqual([{ kid: expect.any(String), alg: 'Ed25519', x: expect.stringMatching(/^[\w-]{43}$/) }]);
    const plain = await connect({ name: 'bob', params: PLUME });
    const { reply: plainReply } = await joinOkWith(plain, TOPIC);
    expect(plainReply.meta).not.toHaveProperty('member');
    expect(plainReply.meta).not.toHaveProperty('keys');
  });

  it('assigns links, forwards signalling only between linked members, and stamps the sender itself', async () => {
    const { connect } = await start();
    const a = await meshMember(connect, 'ada');
    const b = await meshMember(connect, 'bob');
    const linksOfA = await a.client.next((f) => f.event === 'plume:mesh' && (f.payload.links as string[]).includes(b.member));
    expect(linksOfA.joinRef).toBe(a.joinRef);
    const reply = await requestWith(a.client, TOPIC, a.joinRef, 'plume:signal', { to: b.member, from: 'someone-else', signal: { type: 'offer', sdp: 'x' } });
    expect(reply.payload).toEqual({ status: 'ok', response: {} });
    const signal = await b.client.next((f) => f.event === 'plume:signal');
    expect(signal.payload).toEqual({ from: a.member, signal: { type: 'offer', sdp: 'x' } });

    const stranger = await requestWith(a.client, TOPIC, a.joinRef, 'plume:signal', { to: 'not-a-member', signal: {} });
    expect(stranger.payload).toEqual({ status: 'error', response: { reason: 'invalid mesh message' } });
  });

  it('refuses mesh events from plain Phoenix sockets', async () => {
    const { connect } = await start();
    const plain = await connect({ name: 'phx' });
    const joinRef = await plain.joinOk(TOPIC);
    expect(await plain.request(TOPIC, 'plume:signal', { to: 'x', signal: {} }, joinRef)).toEqual({ status: 'error', response: { reason: 'unknown event' } });
  });

  it('drops the link between a reporter and the peer it reported (a second user\'s report cuts the peer out: mesh-trust.test.ts)', async () => {
    const { connect, server } = await start();
    const a = await meshMember(connect, 'ada');
    const b = await meshMember(connect, 'bob');
    await a.client.next(meshPush([b.member]));
    expect(await requestWith(a.client, TOPIC, a.joinRef, 'plume:report', { peer: b.member, reason: 'forged' })).toMatchObject({ payload: { status: 'ok' } });
    expect(server.stats().mesh?.reports).toBe(0);
    // Its link to the reporter is dropped: both are told their new (empty) links.
    await b.client.next((f) => f.event === 'plume:mesh' && (f.payload.links as string[]).length === 0);
    await a.client.next((f) => f.event === 'plume:mesh' && (f.payload.links as string[]).length === 0);
  });

  it('tells every mesh member about a key rotation before signing with the new key', async () => {
    const { connect, server } = await start();
    const a = await meshMember(connect, 'ada');
    server.rotateKeys();
    const keys = await a.client.next((f) => f.event === 'plume:keys');
    expect(keys.payload.keys).toHaveLength(2);
    expect((keys.payload.keys as Array<{ kid: string }>)[1]!.kid).toBe((a.reply.meta!.keys as Array<{ kid: string }>)[0]!.kid);
  });

  it('passes ephemeral events to the other members, unsequenced, and refuses them where the channel does not accept them', async () => {
    const { connect, server } = await start();
    server.channel('quiet:*', { join: () => ok() });
    const a = await meshMember(connect, 'ada');
    const plume = await connect({ name: 'bob', params: PLUME });
    await joinOkWith(plume, TOPIC);
    const phx = await connect({ name: 'cy' });
    await phx.joinOk(TOPIC);
    const reply = await requestWith(a.client, TOPIC, a.joinRef, 'plume:ephemeral', { event: 'typing', payload: { on: true }, eid: 'e1' });
    expect(reply.payload.status).toBe('ok');
    const atPlume = await plume.next((f) => f.event === 'typing');
    expect(atPlume.meta).toEqual({ ephemeral: true, from: a.member, eid: 'e1' });
    const atPhx = await phx.next((f) => f.event === 'typing');
    expect(atPhx.length).toBe(5);
    expect(atPhx.payload).toEqual({ on: true });
    expect(windowOf(server, TOPIC).head).toBe(0); // not sequenced, not stored

    const q = await connect({ name: 'dee', params: PLUME });
    const { joinRef } = await joinOkWith(q, 'quiet:1');
    const refused = await requestWith(q, 'quiet:1', joinRef, 'plume:ephemeral', { event: 'typing', payload: {}, eid: 'e2' });
    expect(refused.payload).toEqual({ status: 'error', response: { reason: 'ephemeral events are not accepted on this topic' } });
  });
});
