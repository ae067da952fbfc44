/**
 * The default relay channel under authentication (PROTOCOL.md §8, identity
 * and joins on the relay channel): the server stamps `from` from the token,
 * joins need the `relay.join` hook or the token's `rooms` claim, and dev
 * mode keeps relaying what it is given to anyone.
 */
import { describe, expect, it } from 'vitest';
import { signToken } from '../server/auth/token';
import type { ChannelSocket } from '../server/channels/channel';
import { Recorder, useServers } from './helpers';

const start = useServers();
const SECRET = 'relay-secret';
const token = (sub: string, claims: Record<string, unknown> = {}) => signToken({ sub, ...claims }, SECRET);
const isEvent = (event: string) => (f: { event: string }) => f.event === event;

describe('the relay channel with authentication', () => {
  it('stamps from: {id, name} from the token over what the client sent, and passes the rest as sent', async () => {
    const { connect } = await start({ secret: SECRET });
    const ada = await connect({ token: token('u-ada', { name: 'Ada', rooms: ['room:lobby'] }) });
    const bob = await connect({ token: token('u-bob', { rooms: ['room:*'] }) });
    const adaRef = await ada.joinOk('room:lobby');
    const bobRef = await bob.joinOk('room:lobby');
    expect((await ada.request('room:lobby', 'new_msg', { body: 'hi', name: 'Mallory', from: 'admin' }, adaRef)).status).toBe('ok');
    const seen = await bob.next(isEvent('new_msg'));
    expect(seen.payload).toEqual({ body: 'hi', name: 'Mallory', from: { id: 'u-ada', name: 'Ada' } });
    // Without a name claim, the name is the sub.
    await bob.request('room:lobby', 'new_msg', { body: 'yo' }, bobRef);
    const [own, fromBob] = await ada.take(2, isEvent('new_msg'));
    expect(own?.payload.from).toEqual({ id: 'u-ada', name: 'Ada' });
    expect(fromBob?.payload).toEqual({ body: 'yo', from: { id: 'u-bob', name: 'u-bob' } });
  });

  it('stamps what the connect hook made of the identity', async () => {
    const { connect } = await start({ secret: SECRET }, (server) => server.onConnect(({ assigns }) => ({ ...assigns, name: `${assigns.name} (staff)` })));
    const ada = await connect({ token: token('u-ada', { name: 'Ada', rooms: ['room:x'] }) });
    const ref = await ada.joinOk('room:x');
    await ada.request('room:x', 'm', {}, ref);
    expect((await ada.next(isEvent('m'))).payload.from).toEqual({ id: 'u-ada', name: 'Ada (staff)' });
  });

  it('admits a join by the rooms claim: exact topics and prefixes ending in *', async () => {
    const { connect } = await start({ secret: SECRET });
    const ada = await connect({ token: token('u1', { rooms: ['room:lobby', 'room:team-*'] }) });
    expect((await ada.join('room:lobby')).reply.status).toBe('ok');
    expect((await ada.join('room:team-7')).reply.status).toBe('ok');
    expect((await ada.join('room:lobby2')).reply).toEqual({ status: 'error', response: { reason: 'not allowed to join this room' } });
    const noClaim = await connect({ token: token('u2') });
    expect((await noClaim.join('room:lobby')).reply.status).toBe('error');
    const badClaim = await connect({ token: token('u3', { rooms: 'room:*' }) });
    expect((await badClaim.join('room:lobby')).reply.status).toBe('error');
  });

  it('asks the join hook instead, sync or async, with the socket\'s claims at hand', async () => {
    const asked = new Recorder<string>();
    const join = async (topic: string, socket: ChannelSocket, params: Record<string, unknown>) => {
      asked.push(`${socket.assigns.userId} ${topic} ${String(params.invite)} ${String(socket.claims?.plan)}`);
      return params.invite === 'yes';
    };
    const { connect } = await start({ secret: SECRET, relay: { join } });
    const ada = await connect({ token: token('u1', { plan: 'pro', rooms: ['room:*'] }) });
    expect((await ada.join('room:club', { invite: 'yes' })).reply.status).toBe('ok');
    expect((await ada.join('room:vault', { invite: 'no' })).reply).toEqual({ status: 'error', response: { reason: 'not allowed to join this room' } });
    expect(asked.all).toEqual(['u1 room:club yes pro', 'u1 room:vault no pro']);
  });

  it('refuses the join when the hook answers anything but true, and reports a hook that throws as a crashed join', async () => {
    const { connect } = await start({ secret: SECRET, relay: { join: (topic) => (topic === 'room:boom' ? (() => { throw new Error('db down'); })() : ('yes' as unknown as boolean)) } });
    const ada = await connect({ token: token('u1') });
    expect((await ada.join('room:a')).reply.status).toBe('error');
    expect((await ada.join('room:boom')).reply).toEqual({ status: 'error', response: { reason: 'join crashed' } });
  });

  it('still tracks presence under the token\'s identity', async () => {
    const { connect } = await start({ secret: SECRET });
    const ada = await connect({ token: token('u-ada', { name: 'Ada', rooms: ['room:p'] }), params: { name: 'Mallory' } });
    await ada.joinOk('room:p');
    const state = await ada.next(isEvent('presence_state'));
    expect(Object.keys(state.payload)).toEqual(['u-ada']);
    expect((state.payload['u-ada'] as { metas: Array<{ name: string }> }).metas[0]?.name).toBe('Ada');
  });
});

describe('the relay channel in dev mode', () => {
  it('lets anyone join any room and passes payloads on unchanged', async () => {
    const { connect } = await start();
    const ada = await connect({ name: 'Ada' });
    const ref = await ada.joinOk('room:anything');
    await ada.request('room:anything', 'new_msg', { body: 'hi', name: 'Ada', from: 'whoever' }, ref);
    expect((await ada.next(isEvent('new_msg'))).payload).toEqual({ body: 'hi', name: 'Ada', from: 'whoever' });
  });

  it('applies a join hook when one is given', async () => {
    const { connect } = await start({ relay: { join: (topic) => topic !== 'room:closed' } });
    const ada = await connect({ name: 'Ada' });
    expect((await ada.join('room:open')).reply.status).toBe('ok');
    expect((await ada.join('room:closed')).reply.status).toBe('error');
  });
});
