/**
 * A channel handler's `terminate`: called exactly once when its channel
 * ends, with the reason it ended (leave, closed, replaced, crashed).
 */
import { describe, expect, it } from 'vitest';
import { ok, refuse, type ChannelHandler, type TerminateReason } from '../server/channels/channel';
import { Recorder, useServers } from './helpers';

const start = useServers();

describe('terminate', () => {
  function recording(): { terminated: Recorder<[string, TerminateReason]>; handler: ChannelHandler } {
    const terminated = new Recorder<[string, TerminateReason]>();
    const handler: ChannelHandler = {
      handleIn(event) {
        if (event === 'boom') throw new Error('handler bug');
        return ok();
      },
      terminate: (reason, socket) => terminated.push([socket.topic, reason]),
    };
    return { terminated, handler };
  }

  it('is called once with "leave" when the client leaves', async () => {
    const { terminated, handler } = recording();
    const { connect } = await start({}, (server) => server.channel('room:*', handler));
    const ada = await connect();
    const a = await ada.joinOk('room:a');
    await ada.joinOk('room:b');
    await ada.request('room:a', 'phx_leave', {}, a);
    expect(await terminated.next()).toEqual(['room:a', 'leave']);
    await ada.dispose();
    expect(await terminated.next()).toEqual(['room:b', 'closed']);
    expect(terminated.all).toEqual([['room:a', 'leave'], ['room:b', 'closed']]);
  });

  it('is called with "closed" for every channel when the socket goes away', async () => {
    const { terminated, handler } = recording();
    const { connect } = await start({}, (server) => server.channel('room:*', handler));
    const ada = await connect();
    await ada.joinOk('room:a');
    await ada.joinOk('room:b');
    await ada.dispose();
    const reasons = [await terminated.next(), await terminated.next()];
    expect(reasons.sort()).toEqual([['room:a', 'closed'], ['room:b', 'closed']]);
  });

  it('is called with "replaced" when the same topic is joined again', async () => {
    const { terminated, handler } = recording();
    const { connect } = await start({}, (server) => server.channel('room:*', handler));
    const ada = await connect();
    await ada.joinOk('room:a');
    await ada.joinOk('room:a');
    expect(await terminated.next()).toEqual(['room:a', 'replaced']);
    await ada.dispose();
    expect(await terminated.next()).toEqual(['room:a', 'closed']);
    expect(terminated.all).toHaveLength(2);
  });

  it('is called with "crashed" when handleIn throws, and not again when the socket closes', async () => {
    const { terminated, handler } = recording();
    const { connect } = await start({}, (server) => server.channel('room:*', handler));
    const ada = await connect();
    const a = await ada.joinOk('room:a');
    await ada.joinOk('room:b');
    ada.push('room:a', 'boom', {}, a);
    expect(await terminated.next()).toEqual(['room:a', 'crashed']);
    await ada.dispose();
    expect(await terminated.next()).toEqual(['room:b', 'closed']);
    expect(terminated.all).toEqual([['room:a', 'crashed'], ['room:b', 'closed']]);
  });

  it('is not called for a join that was refused', async () => {
    const terminated = new Recorder<TerminateReason>();
    const { connect } = await start({}, (server) => server.channel('room:*', {
      join: (topic) => (topic === 'room:no' ? refuse('no') : ok()),
      terminate: (reason) => terminated.push(reason),
    }));
    const ada = await connect();
    expect((await ada.join('room:no')).reply.status).toBe('error');
    await ada.joinOk('room:yes');
    await ada.dispose();
    expect(await terminated.next()).toBe('closed');
    expect(terminated.all).toEqual(['closed']);
  });
});

