/**
 * Channel lifecycle rules of PROTOCOL.md §4: routing, join_ref checks,
 * duplicate joins and the per-socket channel cap.
 */
import { describe, expect, it } from 'vitest';
import { ok } from '../server/channels/channel';
import { useServers, type Frame } from './helpers';

const start = useServers();

const unmatched = { status: 'error', response: { reason: 'unmatched topic' } };

describe('routing', () => {
  it('answers a join of a topic no handler matches with "unmatched topic"', async () => {
    const { connect } = await start();
    const ada = await connect();
    expect((await ada.join('nowhere:1')).reply).toEqual(unmatched);
    expect(ada.isOpen).toBe(true);
  });

  it('has no room:* channel when the relay is turned off', async () => {
    const { connect } = await start({ relay: false });
    const ada = await connect();
    expect((await ada.join('room:lobby')).reply).toEqual(unmatched);
  });

  it('routes to the application handler before the relay', async () => {
    const { connect } = await start({}, (server) => server.channel('room:vip', { join: () => ok({ vip: true }) }));
    const ada = await connect();
    expect((await ada.join('room:vip')).reply).toEqual({ status: 'ok', response: { vip: true } });
    expect((await ada.join('room:other')).reply).toEqual({ status: 'ok', response: {} });
  });

  it('answers a push to a topic the socket has not joined with "unmatched topic"', async () => {
    const { connect } = await start();
    const ada = await connect();
    expect(await ada.request('room:lobby', 'new_msg', { body: 'hi' }, '1')).toEqual(unmatched);
    expect(await ada.request('room:lobby', 'new_msg', { body: 'hi' }, null as unknown as string)).toEqual(unmatched);
  });

  it('answers a push with an outdated join_ref with "unmatched topic"', async () => {
    const { connect } = await start();
    const ada = await connect();
    const old = await ada.joinOk('room:a');
    const current = await ada.joinOk('room:a');
    expect(await ada.request('room:a', 'msg', {}, old)).toEqual(unmatched);
    expect(await ada.request('room:a', 'msg', {}, current)).toEqual({ status: 'ok', response: {} });
  });

  it('answers a push after leaving with "unmatched topic"', async () => {
    const { connect } = await start();
    const ada = await connect();
    const joinRef = await ada.joinOk('room:a');
    await ada.request('room:a', 'phx_leave', {}, joinRef);
    expect(await ada.request('room:a', 'msg', {}, joinRef)).toEqual(unmatched);
  });
});

describe('duplicate join', () => {
  it('replaces the first join: phx_close for the old join_ref, then the new join works', async () => {
    const { connect } = await start();
    const ada = await connect();
    const old = await ada.joinOk('room:a');
    const ref = ada.ref();
    ada.send([ref, ref, 'room:a', 'phx_join', {}]);
    const [close, reply] = await ada.take(2, (f) => f.topic === 'room:a');
    expect(close?.raw).toBe(`["${old}","${old}","room:a","phx_close",{}]`);
    expect(reply?.raw).toBe(`["${ref}","${ref}","room:a","phx_reply",{"status":"ok","response":{}}]`);
    expect(await ada.request('room:a', 'msg', {}, ref)).toEqual({ status: 'ok', response: {} });
  });

  it('delivers each broadcast once to a socket that joined twice', async () => {
    const { connect } = await start();
    const ada = await connect();
    const bob = await connect();
    await ada.joinOk('room:a');
    await ada.joinOk('room:a');
    const bobRef = await bob.joinOk('room:a');
    await bob.request('room:a', 'msg', { n: 1 }, bobRef);
    await bob.request('room:a', 'msg', { n: 2 }, bobRef);
    const received = await ada.drain((f: Frame) => f.event === 'msg');
    expect(received.map((f) => f.payload)).toEqual([{ n: 1 }, { n: 2 }]);
  });

  it('counts the replaced channel once toward the cap', async () => {
    const { connect } = await start({ maxChannelsPerSocket: 1 });
    const ada = await connect();
    await ada.joinOk('room:a');
    await ada.joinOk('room:a');
    await ada.joinOk('room:a');
  });
});

describe('channel cap', () => {
  it('refuses a join beyond maxChannelsPerSocket with "too many channels"', async () => {
    const { connect, server } = await start({ maxChannelsPerSocket: 2 });
    const ada = await connect();
    const a = await ada.joinOk('room:a');
    await ada.joinOk('room:b');
    expect((await ada.join('room:c')).reply).toEqual({ status: 'error', response: { reason: 'too many channels' } });
    expect(server.stats().channels).toBe(2);
    await ada.request('room:a', 'phx_leave', {}, a);
    await ada.joinOk('room:c');
  });

  it('counts per socket, not per server', async () => {
    const { connect } = await start({ maxChannelsPerSocket: 1 });
    const ada = await connect();
    const bob = await connect();
    await ada.joinOk('room:a');
    await bob.joinOk('room:a');
  });

  it('frees the slots of refused and crashed joins', async () => {
    const { connect } = await start({ maxChannelsPerSocket: 1 }, (server) => server.channel('bad:*', {
      join: (topic) => {
        if (topic === 'bad:throw') throw new Error('join bug');
        return { status: 'error', response: { reason: 'no' } };
      },
    }));
    const ada = await connect();
    expect((await ada.join('bad:refuse')).reply.status).toBe('error');
    expect((await ada.join('bad:throw')).reply.response).toEqual({ reason: 'join crashed' });
    await ada.joinOk('room:a');
  });
});
