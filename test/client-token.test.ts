/**
 * The Plume client's token refresh against a real server (PROTOCOL.md §8,
 * refreshing a token): a token function is asked again before its token
 * expires and the new token goes over the open socket, so nothing
 * reconnects; a refused refresh is reported and the close that follows at
 * the old expiry brings a reconnect with a fresh token.
 */
import { describe, expect, it } from 'vitest';
import { signToken } from '../server/auth/token';
import { nextState, usePlumeClients } from './clients';
import { useServers } from './helpers';
import { Recorder } from './waiting';

const start = useServers();
const connect = usePlumeClients();
const fast = { reconnect: { baseMs: 50, maxMs: 200 }, rejoin: { baseMs: 50, maxMs: 200 } };
const secret = 'client-token-secret';

/** Resolves once the wall clock is past `ms` (the point of these tests is that time passes). */
function until(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, ms - Date.now()) + 20));
}

describe('the Plume client renews its token on the open socket', () => {
  it('before each token expires: the socket outlives several tokens without reconnecting, channels stay joined', async () => {
    const { url, server } = await start({ secret, clockToleranceSec: 0 });
    const expiries: number[] = [];
    const ada = connect(url, {
      ...fast,
      token: () => {
        const token = signToken({ sub: 'u1', name: 'Ada', rooms: ['room:*'] }, secret, { expiresInSeconds: 4 });
        expiries.push(JSON.parse(Buffer.from(token.split('.')[1] as string, 'base64url').toString()).exp * 1000);
        return token;
      },
    });
    const changes = new Recorder<string>();
    const errors = new Recorder<string>();
    ada.onStateChange(({ to, reason }) => changes.push(`${to}: ${reason}`));
    ada.onError((e) => errors.push(e.message));
    ada.connect();
    const room = ada.channel('room:renew');
    const echoed = new Recorder<unknown>();
    room.on('msg', (p) => echoed.push(p.from));
    expect((await room.join()).status).toBe('ok');
    const [socket] = server.sockets();

    await until((expiries[0] as number) + 1000); // past the first token's expiry, and the server's sweep
    expect(expiries.length).toBeGreaterThanOrEqual(3);
    expect(changes.all).toEqual(['connecting: connect', 'open: connected']);
    expect(errors.all).toEqual([]);
    expect(server.sockets().map((s) => s.socketId)).toEqual([socket?.socketId]);
    expect((await room.push('msg', { body: 'still here' })).status).toBe('ok');
    expect(await echoed.next()).toEqual({ id: 'u1', name: 'Ada' });
  });

  it('reports a refused refresh as unauthorized; the close at the old expiry follows and it reconnects with a fresh token', async () => {
    const { url } = await start({ secret, clockToleranceSec: 0 });
    const tokens = [
      signToken({ sub: 'u1', rooms: ['room:*'] }, secret, { expiresInSeconds: 4 }),
      signToken({ sub: 'someone-else', rooms: ['room:*'] }, secret, { expiresInSeconds: 60 }),
      signToken({ sub: 'u1', rooms: ['room:*'] }, secret, { expiresInSeconds: 60 }),
    ];
    let calls = 0;
    const ada = connect(url, { ...fast, token: () => tokens[Math.min(calls++, 2)] as string });
    const errors = new Recorder<string>();
    ada.onError((e) => errors.push(`${e.code} ${e.closeCode} ${e.message}`));
    ada.connect();
    const room = ada.channel('room:refused');
    expect((await room.join()).status).toBe('ok');
    expect(await errors.next(6000)).toBe('unauthorized undefined token refresh refused: token is for another user');
    expect(await errors.next(6000)).toBe('unauthorized 4401 token expired');
    await nextState(ada, (c) => c.to === 'open', 6000);
    expect(calls).toBe(3);
    const joined = new Recorder<string>();
    room.onStateChange(({ to }) => joined.push(to));
    while ((await joined.next(3000)) !== 'joined');
    expect((await room.push('msg', {})).status).toBe('ok');
  });

  it('does not refresh a static token: the server closes at expiry and the socket stays closed', async () => {
    const { url } = await start({ secret, clockToleranceSec: 0 });
    const ada = connect(url, { ...fast, token: signToken({ sub: 'u1' }, secret, { expiresInSeconds: 1 }) });
    const closed = nextState(ada, (c) => c.to === 'closed', 3000);
    ada.connect();
    expect((await closed).reason).toBe('unauthorized: token expired');
  });
});
