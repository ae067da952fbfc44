/**
 * Which broadcasts the server signs (PROTOCOL.md §10): only those of rooms
 * whose plan reaches some member through peers. Signing costs the server
 * a hash per broadcast and a signature per batch, so a room where
 * everybody gets frames directly (no links up, or no member that asked to
 * mesh) must not pay it.
 */
import { describe, expect, it } from 'vitest';
import { contentOf } from '../src/mesh/relay';
import { Verifier, type PublicKeyInfo, type Signature } from '../src/mesh/verify';
import { joinOkWith, PLUME, requestWith } from './plume-frames';
import { JsonAdapter, useServers, useTwoNodes, type RawClient } from './helpers';

const startServer = useServers();
/** Rooms of two or three members here: the server relays (and signs) once a single member is reached through a peer. */
const start: typeof startServer = (options, configure) => startServer({ mesh: { minRelayed: 1 }, ...options }, configure);
const TOPIC = 'room:signing';

/** A Plume member that asked to mesh, with its member id. */
async function meshJoin(connect: (options?: object) => Promise<RawClient>, name: string): Promise<{ client: RawClient; joinRef: string; member: string; keys: PublicKeyInfo[] }> {
  const client = await connect({ name, params: PLUME });
  const { joinRef, reply } = await joinOkWith(client, TOPIC, { mesh: true });
  return { client, joinRef, member: reply.meta!.member as string, keys: reply.meta!.keys as PublicKeyInfo[] };
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
    await requestWith(b.client, TOPIC, b.joinRef, 'plume:link', { peer: a.member, up: true }); // a link works once both ends say so
    const plan = await a.client.next((f) => f.event === 'plume:mesh' && ((f.payload.forward as string[]).length > 0 || f.payload.direct === false));
    const root = plan.payload.direct === false ? b : a;
    server.broadcast(TOPIC, 'msg', { n: 2 });
    const signed = await root.client.next((f) => f.event === 'msg' && f.payload.n === 2);
    expect(signed.meta).toHaveProperty('sig');
    expect(server.stats().mesh?.signatures).toBe(1);
  });

  it('by default, neither relays nor signs for a room whose plan would reach a single member through a peer', async () => {
    const { connect, server } = await startServer();
    const a = await meshJoin(connect, 'ada');
    const b = await meshJoin(connect, 'bob');
    await a.client.next((f) => f.event === 'plume:mesh' && (f.payload.links as string[]).includes(b.member));
    await requestWith(a.client, TOPIC, a.joinRef, 'plume:link', { peer: b.member, up: true });
    await requestWith(b.client, TOPIC, b.joinRef, 'plume:link', { peer: a.member, up: true });
    // A newcomer's first plan comes from a plan update made after those reports, which told a and b anything new first.
    const c = await meshJoin(connect, 'cy');
    await c.client.next((f) => f.event === 'plume:mesh');
    const plans = [...(await a.client.drain((f) => f.event === 'plume:mesh')), ...(await b.client.drain((f) => f.event === 'plume:mesh'))];
    for (const plan of plans) expect(plan.payload).toMatchObject({ direct: true, forward: [] });
    server.broadcast(TOPIC, 'msg', { n: 1 });
    for (const { client } of [a, b]) expect((await client.next((f) => f.event === 'msg')).meta).not.toHaveProperty('sig');
    expect(server.stats().mesh?.signatures).toBe(0);
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
    await requestWith(b.client, TOPIC, b.joinRef, 'plume:link', { peer: a.member, up: true });
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

  /** Two members of a node that asked to mesh, with their link up: one relays to the other. */
  async function relayingPair(connect: (options?: object) => Promise<RawClient>, names: [string, string]) {
    const x = await meshJoin(connect, names[0]);
    const y = await meshJoin(connect, names[1]);
    await x.client.next((f) => f.event === 'plume:mesh' && (f.payload.links as string[]).includes(y.member));
    await requestWith(x.client, TOPIC, x.joinRef, 'plume:link', { peer: y.member, up: true });
    await requestWith(y.client, TOPIC, y.joinRef, 'plume:link', { peer: x.member, up: true });
    const plan = await x.client.next((f) => f.event === 'plume:mesh' && ((f.payload.forward as string[]).length > 0 || f.payload.direct === false));
    const [root, relayed] = plan.payload.direct === false ? [y, x] : [x, y];
    return { root, relayed, keys: x.keys, kid: x.keys[0]!.kid };
  }

  it('signs the member a broadcast leaves out, whatever text names it, and the signed frame carries it', async () => {
    const { connect, server } = await start();
    const { root, keys } = await relayingPair(connect, ['ada', 'bob']);
    const verifier = new Verifier();
    verifier.setKeys(keys);
    for (const [n, exclude] of [[1, 'AbC-_09xyz'], [2, 'ünï "côde" 日']] as const) {
      server.broadcast(TOPIC, 'msg', { n }, { exclude });
      const frame = await root.client.next((f) => f.event === 'msg' && f.payload.n === n);
      const meta = frame.meta as { epoch: string; seq: number; x?: string; sig: Signature };
      expect(meta.x).toBe(exclude);
      const relayed = { topic: TOPIC, epoch: meta.epoch, seq: meta.seq, event: 'msg', id: null, payloadJson: JSON.stringify(frame.payload), exclude: meta.x ?? null, sig: meta.sig };
      expect(await verifier.verify(contentOf(relayed), meta.sig)).toBe(true);
      expect(await verifier.verify(contentOf({ ...relayed, exclude: null }), meta.sig)).toBe(false);
    }
  });

  describe('on several nodes', () => {
    const twoNodes = useTwoNodes(start);

    it('signs on the node whose mesh relays the room, for a broadcast made on another node', async () => {
      const [a, b] = await twoNodes();
      const { root, relayed, kid } = await relayingPair(b.connect, ['ada', 'bob']);
      // Node a has no member of the room, let alone a mesh: node b signs for its own.
      a.server.broadcast(TOPIC, 'msg', { n: 1 });
      expect(((await root.client.next((f) => f.event === 'msg')).meta?.sig as { k: string }).k).toBe(kid);
      expect([a.server.stats().mesh?.signatures, b.server.stats().mesh?.signatures]).toEqual([0, 1]);
      // The relayed member gets it from its peer, not from the server.
      expect(await relayed.client.drain((f) => f.event === 'msg')).toEqual([]);
    });

    it("signs with each node's own key, the one its members were given, when both nodes relay the room", async () => {
      const [a, b] = await twoNodes();
      const onA = await relayingPair(a.connect, ['ada', 'bob']);
      const onB = await relayingPair(b.connect, ['cy', 'dee']);
      expect(onA.kid).not.toBe(onB.kid);
      a.server.broadcast(TOPIC, 'msg', { n: 1 });
      for (const node of [onA, onB]) expect(((await node.root.client.next((f) => f.event === 'msg')).meta?.sig as { k: string }).k).toBe(node.kid);
    });

    it('signs exactly the text it frames for a broadcast that crossed nodes as JSON, without its encoded bytes', async () => {
      const [a, b] = await twoNodes(JsonAdapter);
      const { root, keys } = await relayingPair(b.connect, ['ada', 'bob']);
      a.server.broadcast(TOPIC, 'msg', { text: `é日🎉 "quoted" ${'x'.repeat(300)}`, n: 1 });
      const frame = await root.client.next((f) => f.event === 'msg');
      const meta = frame.meta as { epoch: string; seq: number; id?: string; x?: string; sig: Signature };
      const verifier = new Verifier();
      verifier.setKeys(keys);
      const relayed = { topic: TOPIC, epoch: meta.epoch, seq: meta.seq, event: 'msg', id: meta.id ?? null, payloadJson: JSON.stringify(frame.payload), exclude: meta.x ?? null, sig: meta.sig };
      expect(await verifier.verify(contentOf(relayed), meta.sig)).toBe(true);
      expect(await verifier.verify(contentOf({ ...relayed, payloadJson: JSON.stringify({ ...frame.payload, n: 2 }) }), meta.sig)).toBe(false);
    });
  });
});
