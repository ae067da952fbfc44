import { describe, expect, it } from 'vitest';
import { signToken } from '../server/auth/token';
import { nextState, usePlumeClients } from './clients';
import { useServers } from './helpers';
import { Recorder } from './waiting';

const start = useServers();
const connect = usePlumeClients();
const fast = { reconnect: { baseMs: 50, maxMs: 200 }, rejoin: { baseMs: 50, maxMs: 200 } };

describe('the Plume client against a real server', () => {
  it('reconnects and rejoins after the server drops the socket, then keeps chatting both ways', async () => {
    const { url, server } = await start();
    const ada = connect(url, { params: { name: 'ada' }, ...fast });
    const bob = connect(url, { params: { name: 'bob' }, ...fast });
    ada.connect();
    bob.connect();
    const adaRoom = ada.channel('room:drop');
    const bobRoom = bob.channel('room:drop');
    const toBob = new Recorder<unknown>();
    const toAda = new Recorder<unknown>();
    bobRoom.on('msg', (p) => toBob.push(p.body));
    adaRoom.on('msg', (p) => toAda.push(p.body));
    expect((await adaRoom.join()).status).toBe('ok');
    expect((await bobRoom.join()).status).toBe('ok');

    const rejoined = new Recorder<string>();
    adaRoom.onStateChange(({ to, reason }) => rejoined.push(`${to}:${reason}`));
    const reconnecting = nextState(ada, (c) => c.to === 'reconnecting');
    expect(server.disconnect((s) => s.assigns.name === 'ada')).toBe(1);
    expect((await reconnecting).reason).toBe('closed 1000: disconnected by server');
    expect(await rejoined.next()).toBe('errored:socket closed');
    expect(await rejoined.next()).toBe('joining:socket open');
    expect(await rejoined.next()).toBe('joined:joined');

    expect((await adaRoom.push('msg', { body: 'ada is back' })).status).toBe('ok');
    expect(await toBob.next()).toBe('ada is back');
    expect((await bobRoom.push('msg', { body: 'welcome back' })).status).toBe('ok');
    expect(await toAda.next()).toBe('ada is back');
    expect(await toAda.next()).toBe('welcome back');
  });

  it('sends pushes made while disconnected once the channel is joined again', async () => {
    const { url, server } = await start();
    const ada = connect(url, { params: { name: 'ada' }, ...fast, reconnect: { baseMs: 300, maxMs: 300 } });
    ada.connect();
    const room = ada.channel('room:buffer');
    const echoed = new Recorder<unknown>();
    room.on('msg', (p) => echoed.push(p.body));
    await room.join();
    const down = nextState(ada, (c) => c.to === 'reconnecting');
    server.disconnect(() => true);
    await down;
    const push = room.push('msg', { body: 'written offline' });
    expect(push.result).toBeNull();
    expect((await push).status).toBe('ok');
    expect(await echoed.next()).toBe('written offline');
  });

  it('reconnects to a restarted server on the same port', async () => {
    const first = await start();
    const ada = connect(first.url, { params: { name: 'ada' }, ...fast });
    ada.connect();
    const room = ada.channel('room:restart');
    await room.join();
    const down = nextState(ada, (c) => c.to === 'reconnecting');
    await first.server.close();
    await down;
    const { PlumeServer } = await import('../server/server');
    const second = new PlumeServer({ logger: false });
    await second.listen(first.port, '127.0.0.1');
    try {
      await nextState(ada, (c) => c.to === 'open', 3000);
      const joined = new Recorder<string>();
      room.onStateChange(({ to }) => joined.push(to));
      while ((await joined.next(3000)) !== 'joined');
      expect((await room.push('msg', { body: 'hi again' })).status).toBe('ok');
    } finally {
      ada.disconnect();
      await second.close();
    }
  });

  it('without the Plume extensions, authenticates with a token and fetches a fresh one after the old one expires', async () => {
    const secret = 'test-secret';
    const { url, server } = await start({ secret, clockToleranceSec: 0 });
    const tokens: string[] = [];
    // A plain Phoenix socket cannot renew its token in place (test/client-token.test.ts): it is closed and reconnects.
    const ada = connect(url, {
      ...fast,
      plume: false,
      token: () => {
        const token = signToken({ sub: 'u1', name: 'Ada' }, secret, { expiresInSeconds: tokens.length === 0 ? 1 : 60 });
        tokens.push(token);
        return token;
      },
    });
    const errors = new Recorder<string>();
    ada.onError((e) => errors.push(`${e.code} ${e.closeCode}`));
    ada.connect();
    const names = new Recorder<string>();
    server.channel('me:*', { join: (_t, _p, socket) => { names.push(socket.assigns.name); } });
    const me = ada.channel('me:1');
    expect((await me.join()).status).toBe('ok');
    expect(await names.next()).toBe('Ada');
    // The first token expires after about a second: the server closes with 4401, the client asks for a new one.
    expect(await errors.next(3000)).toBe('unauthorized 4401');
    await nextState(ada, (c) => c.to === 'open', 3000);
    expect(tokens).toHaveLength(2);
    expect(await names.next(3000)).toBe('Ada');
  });

  it('stays closed and reports unauthorized when a static token is refused', async () => {
    const { url } = await start({ secret: 'test-secret' });
    const ada = connect(url, { ...fast, token: 'not-a-jwt' });
    const errors = new Recorder<string>();
    ada.onError((e) => errors.push(`${e.code} ${e.closeCode} ${e.message}`));
    const closed = nextState(ada, (c) => c.to === 'closed');
    ada.connect();
    expect(await errors.next()).toBe('unauthorized 4401 token is not a JWT');
    expect((await closed).reason).toBe('unauthorized: token is not a JWT');
  });
});
