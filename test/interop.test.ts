import { describe, expect, it } from 'vitest';
import { Socket as PhoenixSocket } from 'phoenix';
import WebSocket from 'ws';
import { usePhoenixClients, usePlumeClients } from './clients';
import { useServers } from './helpers';
import { deadline, Recorder } from './waiting';

const start = useServers();
const plume = usePlumeClients();
const phoenix = usePhoenixClients();

function phoenixJoin(channel: ReturnType<PhoenixSocket['channel']>): Promise<unknown> {
  return deadline(2000, 'the phoenix join', new Promise((resolve, reject) => {
    channel.join().receive('ok', resolve).receive('error', reject).receive('timeout', () => reject(new Error('join timeout')));
  }));
}

describe('the official phoenix client against a Plume server', () => {
  it('joins a room, pushes and gets its reply, and receives a Plume client broadcast with exactly the app payload', async () => {
    const { url } = await start();
    const phx = phoenix(url, { name: 'phoenix-user' });
    phx.connect();
    const phxRoom = phx.channel('room:interop', {});
    const received = new Recorder<unknown[]>();
    phxRoom.on('new_msg', (payload: unknown) => received.push([payload]));
    expect(await phoenixJoin(phxRoom)).toEqual({});

    const reply = await deadline(2000, 'the phoenix push reply', new Promise((resolve, reject) => {
      phxRoom.push('new_msg', { body: 'from phoenix' }).receive('ok', resolve).receive('error', reject);
    }));
    expect(reply).toEqual({});
    expect(await received.next()).toEqual([{ body: 'from phoenix' }]);

    const ours = plume(url, { params: { name: 'plume-user' } });
    ours.connect();
    const room = ours.channel('room:interop');
    expect((await room.join()).status).toBe('ok');
    const fromPhoenix = new Recorder<unknown>();
    room.on('new_msg', (payload) => fromPhoenix.push(payload));
    expect((await room.push('new_msg', { body: 'from plume', n: 1 })).status).toBe('ok');
    // Exactly the application payload: no order metadata, no extra keys.
    expect(await received.next()).toEqual([{ body: 'from plume', n: 1 }]);

    expect(await fromPhoenix.next()).toEqual({ body: 'from plume', n: 1 }); // the relay echoes to the sender
    phxRoom.push('new_msg', { body: 'back to plume' });
    expect(await fromPhoenix.next()).toEqual({ body: 'back to plume' });
  });

  it('sees a refused join as an error with the reason', async () => {
    const { url } = await start({}, (server) => server.channel('private:*', { join: () => ({ status: 'error', response: { reason: 'unauthorized' } }) }));
    const phx = phoenix(url);
    phx.connect();
    await expect(phoenixJoin(phx.channel('private:x', {}))).rejects.toEqual({ reason: 'unauthorized' });
  });

  it('heartbeats are answered, so an idle phoenix socket stays connected past the server timeout', async () => {
    const { url } = await start({ heartbeatTimeoutMs: 400 });
    const phx = new PhoenixSocket(`${url.replace(/^http/, 'ws')}/socket`, { transport: WebSocket, heartbeatIntervalMs: 100 });
    let closes = 0;
    phx.onClose(() => {
      closes++;
    });
    phx.connect();
    const room = phx.channel('room:idle', {});
    await phoenixJoin(room);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect(closes).toBe(0);
    expect(phx.isConnected()).toBe(true);
    phx.disconnect();
  });
});
