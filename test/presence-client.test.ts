/**
 * The Plume client's `Presence` against a real server: lists, updates of
 * its own fields, and a dropped socket that reconnects without anyone
 * seeing it leave.
 */
import { describe, expect, it } from 'vitest';
import { Presence, type Channel, type Socket } from '../src/index';
import { nextState, usePlumeClients } from './clients';
import { useServers } from './helpers';
import { deadline, Recorder } from './waiting';

const start = useServers();
const plume = usePlumeClients();

/** A Plume member of `topic` whose Presence records syncs (`key:typing×metas`), joins and leaves. */
async function member(url: string, name: string, topic: string) {
  const socket = plume(url, { params: { name }, reconnect: { baseMs: 20, maxMs: 40 } });
  socket.connect();
  const channel = socket.channel(topic);
  const presence = new Presence(channel, { throttleMs: 0 });
  const syncs = new Recorder<string>();
  const leaves = new Recorder<string>();
  presence.onSync(() => syncs.push(presence.list((key, { metas }) => `${key}:${String(metas[0]?.typing ?? '-')}×${metas.length}`).sort().join(' ')));
  presence.onLeave((key) => leaves.push(key));
  expect((await channel.join()).status).toBe('ok');
  return { socket, channel, presence, syncs, leaves };
}

async function until(syncs: Recorder<string>, expected: string): Promise<void> {
  while ((await syncs.next()) !== expected);
}

/** Resolves once `channel` received its own relayed `ping`: every frame sent to it before has arrived. */
async function roundTrip(channel: Channel): Promise<void> {
  const nonce = Math.random().toString(36);
  const heard = new Promise<void>((resolve) => channel.on('ping', (payload) => payload.nonce === nonce && resolve()));
  channel.push('ping', { nonce });
  await deadline(2000, 'the ping to come back', heard);
}

async function reconnected(socket: Socket): Promise<void> {
  await nextState(socket, ({ to }) => to === 'open');
}

describe('the Plume Presence against a Plume server', () => {
  it('lists members and carries each client\'s own fields to the others', async () => {
    const { url } = await start({ presenceCoalesceMs: 0 });
    const ada = await member(url, 'Ada', 'room:p1');
    const bob = await member(url, 'Bob', 'room:p1');
    await until(bob.syncs, 'Ada:-×1 Bob:-×1');
    ada.presence.update({ typing: true });
    await until(bob.syncs, 'Ada:true×1 Bob:-×1');
    await until(ada.syncs, 'Ada:true×1 Bob:-×1');
  });

  it('a socket the server drops reconnects, rejoins and keeps its presence: the others see no leave', async () => {
    const { url, server } = await start({ presenceCoalesceMs: 0, presenceGraceMs: 60_000 });
    const ada = await member(url, 'Ada', 'room:p2');
    const bob = await member(url, 'Bob', 'room:p2');
    ada.presence.update({ typing: true });
    await until(bob.syncs, 'Ada:true×1 Bob:-×1');
    const before = server.presence.list('room:p2').Ada?.metas;
    const leavesBefore = bob.leaves.all.length; // the typing update was a meta leave plus a meta join

    const back = reconnected(ada.socket);
    expect(server.disconnect((s) => s.assigns.name === 'Ada')).toBe(1);
    await back;
    await until(ada.syncs, 'Ada:true×1 Bob:-×1'); // the new join's state
    await roundTrip(bob.channel);
    expect(bob.leaves.all.slice(leavesBefore)).toEqual([]);
    expect(server.presence.list('room:p2').Ada?.metas).toEqual(before); // the same meta, taken over
  });

  it('a socket that goes away for good is shown leaving after the grace period', async () => {
    const { url } = await start({ presenceCoalesceMs: 0, presenceGraceMs: 200 });
    const ada = await member(url, 'Ada', 'room:p3');
    const bob = await member(url, 'Bob', 'room:p3');
    await until(bob.syncs, 'Ada:-×1 Bob:-×1');
    ada.socket.disconnect();
    expect(await bob.leaves.next()).toBe('Ada');
    expect(bob.presence.list((key) => key)).toEqual(['Bob']);
  });
});
