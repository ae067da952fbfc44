/**
 * Which broadcasts the server signs (PROTOCOL.md §10): only those of rooms
 * whose plan reaches some member through peers. Signing costs the server
 * a hash per broadcast and a signature per batch, so a room where
 * everybody gets frames directly (no links up, or no member that asked to
 * mesh) must not pay it.
 */
import { describe, expect, it } from 'vitest';
import { joinOkWith, PLUME, requestWith } from './plume-frames';
import { useServers, type RawClient } from './helpers';

const start = useServers();
const TOPIC = 'room:signing';

/** A Plume member that asked to mesh, with its member id. */
async function meshJoin(connect: (options?: object) => Promise<RawClient>, name: string): Promise<{ client: RawClient; joinRef: string; member: string }> {
  const client = await connect({ name, params: PLUME });
  const { joinRef, reply } = await joinOkWith(client, TOPIC, { mesh: true });
  return { client, joinRef, member: reply.meta!.member as string };
}

describe('signing relayed broadcasts', () => {
  it('does not sign in a room of plain Plume members', async () => {
    const { connect, server } = await start();
    const plain = await connect({ name: 'ada', params: PLUME });
    await joinOkWith(plain, TOPIC);
    server.broadcast(TOPIC, 'msg', { n: 1 });
    const frame = await plain.next((f) => f.event === 'msg');
    expect(frame.meta).not.toHaveProperty('sig');
    expect(server.stats().mesh?.signatures).toBe(0);
  });

  it('signs only once a member is reached through a peer', async () => {
    const { connect, server } = await start();
    const a = await meshJoin(connect, 'ada');
    const b = await meshJoin(connect, 'bob');
    await a.client.next((f) => f.event === 'plume:mesh' && (f.payload.links as string[]).includes(b.member));
    server.broadcast(TOPIC, 'msg', { n: 1 });
    expect((await a.client.next((f) => f.event === 'msg')).meta).not.toHaveProperty('sig'); // linked, but no link is up yet
    expect(server.stats().mesh?.signatures).toBe(0);

    await requestWith(a.client, TOPIC, a.joinRef, 'plume:link', { peer: b.member, up: true });
    const plan = await a.client.next((f) => f.event === 'plume:mesh' && ((f.payload.forward as string[]).length > 0 || f.payload.direct === false));
    const root = plan.payload.direct === false ? b : a;
    server.broadcast(TOPIC, 'msg', { n: 2 });
    const signed = await root.client.next((f) => f.event === 'msg' && f.payload.n === 2);
    expect(signed.meta).toHaveProperty('sig');
    expect(server.stats().mesh?.signatures).toBe(1);
  });

  it('sends plain frames directly to the members of a signed room that did not ask to mesh, and keeps them out of the mesh', async () => {
    const { connect, server } = await start();
    const a = await meshJoin(connect, 'ada');
    const b = await meshJoin(connect, 'bob');
    const plume = await connect({ name: 'cy', params: PLUME });
    await joinOkWith(plume, TOPIC);
    const phoenix = await connect({ name: 'dee' });
    await phoenix.joinOk(TOPIC);
    await a.client.next((f) => f.event === 'plume:mesh' && (f.payload.links as string[]).includes(b.member));
    await requestWith(a.client, TOPIC, a.joinRef, 'plume:link', { peer: b.member, up: true });
    await a.client.next((f) => f.event === 'plume:mesh' && ((f.payload.forward as string[]).length > 0 || f.payload.direct === false));
    for (let n = 1; n <= 3; n++) server.broadcast(TOPIC, 'msg', { n });
    for (const client of [plume, phoenix]) {
      for (let n = 1; n <= 3; n++) {
        const frame = await client.next((f) => f.event === 'msg' && f.payload.n === n);
        expect(frame.meta?.sig).toBeUndefined();
      }
    }
    expect(server.stats().mesh?.signatures).toBeGreaterThan(0);
    // One mesh, of the two members that asked for it.
    expect(server.stats().mesh?.rooms).toBe(1);
  });
});
