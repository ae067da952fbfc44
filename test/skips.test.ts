/**
 * Skips (PROTOCOL.md §7, "Order metadata"): a Plume member sees every seq
 * of its topic, as the broadcast or as a `plume:skip` where broadcast-from
 * or `handleOut` keeps the broadcast from it. Plain Phoenix sockets never
 * see a skip or a sixth element.
 */
import { describe, expect, it } from 'vitest';
import { ok } from '../server/channels/channel';
import { useServers, type Frame } from './helpers';
import { PLUME, joinOkWith, requestWith } from './plume-frames';

const start = useServers();

/** `from` is broadcast from the sender; `secret` reaches only the boss; anything else goes to all. */
async function room() {
  const server = await start({}, (s) => s.channel('x:*', {
    intercept: ['secret'],
    handleIn(event, payload, socket) {
      if (event === 'from') socket.broadcastFrom('m', payload);
      else socket.broadcast(event, payload);
      return ok();
    },
    handleOut: (_event, payload, socket) => (socket.assigns.name === 'boss' ? payload : null),
  }));
  const member = async (name: string, plume: boolean) => {
    const client = await server.connect({ name, params: plume ? PLUME : {} });
    const { joinRef, reply } = await joinOkWith(client, 'x:1');
    return { client, joinRef, epoch: reply.meta?.epoch as string | undefined };
  };
  return { ...server, member };
}

const sequenced = (f: Frame) => f.topic === 'x:1' && f.meta?.seq !== undefined;
const skipFrame = (epoch: string, seq: number) => `[null,null,"x:1","plume:skip",{},{"epoch":"${epoch}","seq":${seq}}]`;

describe('skips', () => {
  it('sends the sender of a broadcast-from a skip with its seq, and everyone else the broadcast', async () => {
    const { member } = await room();
    const ada = await member('ada', true);
    const bob = await member('bob', true);
    const epoch = ada.epoch as string;
    await ada.client.request('x:1', 'from', { body: 'hi' }, ada.joinRef);
    expect((await ada.client.next(sequenced)).raw).toBe(skipFrame(epoch, 1));
    const got = await bob.client.next(sequenced);
    expect([got.event, got.payload, got.meta]).toEqual(['m', { body: 'hi' }, { epoch, seq: 1 }]);
    expect(await ada.client.drain((f) => f.event === 'm')).toEqual([]);
  });

  it('sends a skip to each Plume member whose handleOut dropped the broadcast', async () => {
    const { member, server } = await room();
    const bob = await member('bob', true);
    const boss = await member('boss', true);
    const epoch = bob.epoch as string;
    server.broadcast('x:1', 'secret', { code: 42 });
    server.broadcast('x:1', 'm', { after: true });
    expect((await bob.client.take(2, sequenced)).map((f) => f.raw)).toEqual([
      skipFrame(epoch, 1),
      `[null,null,"x:1","m",{"after":true},{"epoch":"${epoch}","seq":2}]`,
    ]);
    expect((await boss.client.take(2, sequenced)).map((f) => [f.event, f.meta?.seq])).toEqual([['secret', 1], ['m', 2]]);
  });

  it('lets a Plume member account for every seq, as a broadcast or a skip', async () => {
    const { member, server } = await room();
    const ada = await member('ada', true);
    const bob = await member('bob', true);
    for (let i = 0; i < 12; i++) {
      if (i % 3 === 0) server.broadcast('x:1', 'secret', { i });
      else if (i % 3 === 1) await ada.client.request('x:1', 'from', { i }, ada.joinRef);
      else server.broadcast('x:1', 'm', { i });
    }
    for (const { client } of [ada, bob]) {
      const frames = await client.take(12, sequenced);
      expect(frames.map((f) => f.meta?.seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    }
  });

  it('never shows a plain Phoenix socket a skip or a sixth element', async () => {
    const { member, server } = await room();
    const ada = await member('ada', true);
    const carl = await member('carl', false);
    const plainBoss = await member('boss', false);
    server.broadcast('x:1', 'secret', { code: 1 });
    await ada.client.request('x:1', 'from', { n: 2 }, ada.joinRef);
    await carl.client.request('x:1', 'from', { n: 3 }, carl.joinRef);
    server.broadcast('x:1', 'm', { n: 4 });
    await ada.client.take(4, sequenced);
    const carlFrames = await carl.client.drain();
    const bossFrames = await plainBoss.client.drain();
    for (const frame of [...carlFrames, ...bossFrames]) {
      expect(frame.length).toBe(5);
      expect(frame.event).not.toBe('plume:skip');
    }
    // carl: his own broadcast-from and the secret are simply absent.
    expect(carlFrames.filter((f) => f.event === 'm').map((f) => f.payload.n)).toEqual([2, 4]);
    expect(bossFrames.filter((f) => f.event !== 'phx_reply').map((f) => [f.event, f.payload])).toEqual([
      ['secret', { code: 1 }], ['m', { n: 2 }], ['m', { n: 3 }], ['m', { n: 4 }],
    ]);
  });

  it('puts skips in a join\'s replay and in history pages where handleOut drops a broadcast', async () => {
    const { member, server, connect } = await room();
    const bob = await member('bob', true);
    const epoch = bob.epoch as string;
    server.broadcast('x:1', 'm', { n: 1 });
    server.broadcast('x:1', 'secret', { n: 2 });
    server.broadcast('x:1', 'm', { n: 3 });
    const late = await connect({ name: 'late', params: PLUME });
    const { joinRef } = await joinOkWith(late, 'x:1', { since: { epoch, seq: 0 } });
    expect((await late.take(3, sequenced)).map((f) => f.raw)).toEqual([
      `[null,null,"x:1","m",{"n":1},{"epoch":"${epoch}","seq":1}]`,
      skipFrame(epoch, 2),
      `[null,null,"x:1","m",{"n":3},{"epoch":"${epoch}","seq":3}]`,
    ]);
    const page = await requestWith(late, 'x:1', joinRef, 'plume:history', { epoch, from: 1, to: 3 });
    expect(page.payload.response).toEqual({
      epoch,
      complete: true,
      entries: [{ seq: 1, event: 'm', payload: { n: 1 } }, { seq: 2, skip: true }, { seq: 3, event: 'm', payload: { n: 3 } }],
    });
  });
});

