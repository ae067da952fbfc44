/**
 * The mesh does not take one member's word (issue 20, finding 6), over raw
 * sockets that say whatever the test tells them to (PROTOCOL.md §10): a
 * link works only once both ends report it up, a relay whose children keep
 * filling its gaps from history loses its relay role, and one report does
 * not cut a peer out.
 */
import { describe, expect, it } from 'vitest';
import { joinOkWith, PLUME, requestWith } from './plume-frames';
import { useServers, type Frame, type RawClient } from './helpers';

const start = useServers();
const TOPIC = 'room:trust';
/** Relays as soon as one member is reached through a peer, so small rooms show the plan. */
const RELAY_ONE = { mesh: { minRelayed: 1 } };

interface Member {
  client: RawClient;
  joinRef: string;
  member: string;
  name: string;
}

async function meshMember(connect: (o?: object) => Promise<RawClient>, name: string): Promise<Member> {
  const client = await connect({ name, params: PLUME });
  const { joinRef, reply } = await joinOkWith(client, TOPIC, { mesh: true });
  return { client, joinRef, member: reply.meta!.member as string, name };
}

const plan = (predicate: (p: { links: string[]; forward: string[]; direct: boolean }) => boolean) =>
  (f: Frame): boolean => f.event === 'plume:mesh' && predicate(f.payload as never);

/** Waits until each member was told links to all the others (rooms of up to five link fully). */
async function linkedFully(members: Member[]): Promise<void> {
  for (const m of members) {
    const others = members.filter((o) => o !== m).map((o) => o.member);
    await m.client.next(plan((p) => others.every((o) => p.links.includes(o))));
  }
}

/** Members in the order of their ids: the order in which the plan picks roots among equally linked members. */
const byId = (members: Member[]): Member[] => [...members].sort((x, y) => (x.member < y.member ? -1 : 1));

const link = (from: Member, to: Member, up: boolean) => requestWith(from.client, TOPIC, from.joinRef, 'plume:link', { peer: to.member, up });
const report = (from: Member, about: Member) => requestWith(from.client, TOPIC, from.joinRef, 'plume:report', { peer: about.member, reason: 'signature does not verify' });

describe('mesh trust', () => {
  it('does not stop sending to a member on the other end\'s word alone: a link works once both ends report it up', async () => {
    const { connect, server } = await start(RELAY_ONE);
    const a = await meshMember(connect, 'ada');
    const b = await meshMember(connect, 'bob');
    await linkedFully([a, b]);
    expect((await link(a, b, true)).payload).toEqual({ status: 'ok', response: {} });
    // A newcomer's first plan comes from a plan update made after the report above.
    const c = await meshMember(connect, 'cy');
    await c.client.next(plan((p) => p.links.length === 2));
    expect(server.mesh!.assignment(TOPIC, a.member)?.direct).toBe(true);
    expect(server.mesh!.assignment(TOPIC, b.member)?.direct).toBe(true);
    server.broadcast(TOPIC, 'msg', { n: 1 });
    for (const m of [a, b, c]) expect((await m.client.next((f) => f.event === 'msg')).payload).toEqual({ n: 1 });
    // The other end agrees: now the one with the larger id is reached through the other (plan.ts picks roots by id).
    await link(b, a, true);
    const [root, leaf] = byId([a, b]);
    await leaf!.client.next(plan((p) => !p.direct));
    expect(server.mesh!.assignment(TOPIC, root!.member)).toMatchObject({ direct: true, forward: [leaf!.member] });
  });

  it('one report does not cut a peer out: it needs a second member\'s, and the reporter only loses its own link', async () => {
    const { connect, server } = await start(RELAY_ONE);
    const [a, b, c] = [await meshMember(connect, 'ada'), await meshMember(connect, 'bob'), await meshMember(connect, 'cy')];
    await linkedFully([a, b, c]);
    expect((await report(a, b)).payload).toEqual({ status: 'ok', response: {} });
    // The link a-b is gone, b keeps its place and its link to c.
    await b.client.next(plan((p) => p.links.length === 1 && p.links[0] === c.member));
    await a.client.next(plan((p) => p.links.length === 1 && p.links[0] === c.member));
    expect(server.stats().mesh!.reports).toBe(0);
    // The same reporter again changes nothing: it holds no link to b any more.
    await report(a, b);
    expect(server.stats().mesh!.reports).toBe(0);
    // A second member's report corroborates the first: b relays no more and holds no links.
    await report(c, b);
    expect(server.stats().mesh!.reports).toBe(1);
    await b.client.next(plan((p) => p.links.length === 0 && p.forward.length === 0));
  });

  it('takes the relay role from a member whose children keep filling its gaps from history', async () => {
    const { connect, server } = await start(RELAY_ONE);
    const members: Member[] = [];
    for (const name of ['m1', 'm2', 'm3', 'm4', 'm5']) members.push(await meshMember(connect, name));
    await linkedFully(members);
    for (const from of members) for (const to of members) if (from !== to) await link(from, to, true);
    // Five members linked to each other: one root (the smallest id) forwards to the other four.
    const [root, ...children] = byId(members) as [Member, ...Member[]];
    await root.client.next(plan((p) => p.direct && p.forward.length === 4));
    // That plan stays (later link reports change nothing): what the members were told before it is done with.
    for (const m of members) await m.client.drain();
    // The root is a raw socket: it passes nothing on. Its children fetch what they miss as clients do:
    // on the head announcement that shows them behind. Broadcast after broadcast, until the server acts.
    const demoted = (f: Frame) => f.event === 'plume:mesh' && (f.payload.forward as string[]).length === 0;
    for (let n = 1; !root.client.inbox.some(demoted); n++) {
      if (n > 40) throw new Error('the root still relays after 40 broadcasts its children all repaired');
      const { epoch } = await server.broadcast(TOPIC, 'msg', { n });
      await Promise.all(children.map(async (child) => {
        await child.client.next((f) => f.event === 'plume:head' && (f.payload.seq as number) >= n, 5_000);
        const page = await requestWith(child.client, TOPIC, child.joinRef, 'plume:history', { epoch, from: n, to: n });
        expect((page.payload.response as { entries: unknown[] }).entries).toHaveLength(1);
      }));
    }
    // Its children's word together, checked against whom the plan made them depend on: it forwards no more.
    await children[0]!.client.next(plan((p) => p.direct && p.forward.length === 4), 5_000);
    expect(server.mesh!.assignment(TOPIC, root.member)).toMatchObject({ direct: false, forward: [] });
    expect(server.mesh!.demotions).toBe(1);
  });
});
