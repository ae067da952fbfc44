/**
 * Socket authentication (PROTOCOL.md §1 step 3 and §8): tokens in the
 * subprotocol header (the query only when allowed), refusals as close codes
 * 4401/4403/1011, the connect hook, expiry while connected, and dev mode.
 */
import { createServer } from 'node:http';
import { describe, expect, it } from 'vitest';
import { signToken } from '../server/auth/token';
import { PlumeServer } from '../server/server';
import { keyPair, signWith, useJwksServers } from './jwks';
import { ok, type ChannelHandler } from '../server/channels/channel';
import { ConnectRefused, type ConnectInfo } from '../server/auth/connect';
import { Recorder, useServers } from './helpers';

const start = useServers();
const jwksServer = useJwksServers();
const SECRET = 'integration-secret';

/** A channel whose join answers with the socket's assigns, so tests can read them. */
const whoami: ChannelHandler = { join: (_topic, _params, socket) => ok({ assigns: { ...socket.assigns } }) };

function withWhoami(server: PlumeServer): void {
  server.channel('whoami', whoami);
}

function b64(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

describe('with a secret', () => {
  it('closes a socket without a token with 4401 "token required"', async () => {
    const { connect } = await start({ secret: SECRET });
    const ada = await connect();
    expect(await ada.closeEvent()).toEqual({ code: 4401, reason: 'token required' });
  });

  it('closes a socket with an expired token with 4401', async () => {
    const { connect } = await start({ secret: SECRET });
    const token = signToken({ sub: 'u1' }, SECRET, { now: Date.now() - 7200_000 });
    const ada = await connect({ token });
    expect(await ada.closeEvent()).toEqual({ code: 4401, reason: 'token expired' });
  });

  it('closes a socket whose token is signed with another secret with 4401', async () => {
    const { connect } = await start({ secret: SECRET });
    const ada = await connect({ token: signToken({ sub: 'u1' }, 'not-the-secret') });
    expect(await ada.closeEvent()).toEqual({ code: 4401, reason: 'token signature does not verify' });
  });

  it('closes a socket presenting an alg "none" token with 4401', async () => {
    const { connect } = await start({ secret: SECRET });
    const token = `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ sub: 'admin', exp: Date.now() / 1000 + 3600 })}.`;
    const ada = await connect({ token });
    expect(await ada.closeEvent()).toMatchObject({ code: 4401 });
  });

  it('closes a socket presenting garbage as a token with 4401', async () => {
    const { connect } = await start({ secret: SECRET });
    const ada = await connect({ token: 'garbage' });
    expect(await ada.closeEvent()).toEqual({ code: 4401, reason: 'token is not a JWT' });
  });

  it('closes a socket whose token is not valid yet with 4401', async () => {
    const { connect } = await start({ secret: SECRET });
    const token = signToken({ sub: 'u1', nbf: Math.floor(Date.now() / 1000) + 600 }, SECRET);
    const ada = await connect({ token });
    expect(await ada.closeEvent()).toEqual({ code: 4401, reason: 'token not valid yet' });
  });

  it('accepts a token in the subprotocol header and takes assigns from its claims', async () => {
    const { connect } = await start({ secret: SECRET }, withWhoami);
    const ada = await connect({ name: 'ignored', token: signToken({ sub: 'user-1', name: 'Ada' }, SECRET) });
    expect((await ada.join('whoami')).reply).toEqual({ status: 'ok', response: { assigns: { userId: 'user-1', name: 'Ada' } } });
  });

  it('uses sub as the name when the token has no name claim', async () => {
    const { connect } = await start({ secret: SECRET }, withWhoami);
    const ada = await connect({ token: signToken({ sub: 'user-2' }, SECRET) });
    expect((await ada.join('whoami')).reply.response).toEqual({ assigns: { userId: 'user-2', name: 'user-2' } });
  });

  it('accepts a token in the Phoenix authToken subprotocol and selects "phoenix"', async () => {
    const { connect } = await start({ secret: SECRET }, withWhoami);
    const token = signToken({ sub: 'user-3', name: 'Bo' }, SECRET);
    const ada = await connect({ name: null, protocols: ['phoenix', `base64url.bearer.phx.${Buffer.from(token).toString('base64url')}`] });
    expect(ada.protocol).toBe('phoenix');
    expect((await ada.join('whoami')).reply.response).toEqual({ assigns: { userId: 'user-3', name: 'Bo' } });
  });

  it('accepts the subprotocol token as the phoenix client encodes it (btoa, padding removed)', async () => {
    const { connect } = await start({ secret: SECRET }, withWhoami);
    const token = signToken({ sub: 'user-4' }, SECRET);
    const encoded = Buffer.from(token).toString('base64').replace(/=/g, '');
    const ada = await connect({ name: null, protocols: ['phoenix', `base64url.bearer.phx.${encoded}`] });
    expect((await ada.join('whoami')).reply.response).toEqual({ assigns: { userId: 'user-4', name: 'user-4' } });
  });

  it('closes a socket with 4401 when its token expires while connected', async () => {
    const { connect } = await start({ secret: SECRET, clockToleranceSec: 0 });
    const expiresAt = Date.now() + 400;
    const token = signToken({ sub: 'u1', exp: expiresAt / 1000, rooms: ['room:a'] }, SECRET);
    const ada = await connect({ token });
    await ada.joinOk('room:a');
    // The expiry sweep runs at most once a second.
    expect(await ada.closeEvent(3000)).toEqual({ code: 4401, reason: 'token expired' });
    expect(Date.now()).toBeGreaterThanOrEqual(expiresAt);
  });
});

describe('the connect hook', () => {
  it('refuses with 4403 when it returns false', async () => {
    const { connect } = await start({}, (server) => server.onConnect(() => false));
    const ada = await connect();
    expect(await ada.closeEvent()).toEqual({ code: 4403, reason: 'connect refused' });
  });

  it('refuses with 4403 and the reason given to ConnectRefused', async () => {
    const { connect } = await start({}, (server) => server.onConnect(async () => {
      throw new ConnectRefused('account suspended');
    }));
    const ada = await connect();
    expect(await ada.closeEvent()).toEqual({ code: 4403, reason: 'account suspended' });
  });

  it('closes with 1011 when it fails unexpectedly, and reports the error', async () => {
    const errors = new Recorder<unknown>();
    const { connect } = await start({ logger: { info() {}, warn() {}, error: (_m, err) => errors.push(err) } }, (server) => server.onConnect(() => {
      throw new Error('database down');
    }));
    const ada = await connect();
    expect(await ada.closeEvent()).toEqual({ code: 1011, reason: 'connect hook failed' });
    expect(String(await errors.next())).toMatch(/database down/);
  });

  it('adds assigns that channel handlers see', async () => {
    const { connect } = await start({}, (server) => {
      server.onConnect(({ params }) => ({ room: params.room, vip: params.key === 'gold' }));
      withWhoami(server);
    });
    const ada = await connect({ name: 'ada', params: { room: 'r1', key: 'gold' } });
    expect((await ada.join('whoami')).reply.response).toEqual({ assigns: { userId: 'ada', name: 'ada', room: 'r1', vip: true } });
  });

  it('receives connect params without vsn, token and plume, and the verified claims', async () => {
    const seen = new Recorder<ConnectInfo>();
    const { connect } = await start({ secret: SECRET }, (server) => server.onConnect((info) => seen.push(info)));
    const token = signToken({ sub: 'u9', team: 'blue' }, SECRET);
    await connect({ name: 'x', token, params: { plume: '1', custom: 'yes' } });
    const info = await seen.next();
    expect(info.params).toEqual({ name: 'x', custom: 'yes' });
    expect(info.claims).toMatchObject({ sub: 'u9', team: 'blue' });
    expect(info.assigns).toEqual({ userId: 'u9', name: 'u9' });
  });

  it('is not consulted when the token is refused', async () => {
    const calls = new Recorder<string>();
    const { connect } = await start({ secret: SECRET }, (server) => server.onConnect(() => calls.push('called')));
    const ada = await connect();
    expect((await ada.closeEvent()).code).toBe(4401);
    expect(calls.all).toEqual([]);
  });
});

describe('dev mode (no secret)', () => {
  it('takes the identity from the name param', async () => {
    const { connect } = await start({}, withWhoami);
    const ada = await connect({ name: 'Ada' });
    expect((await ada.join('whoami')).reply.response).toEqual({ assigns: { userId: 'Ada', name: 'Ada' } });
  });

  it('names a socket without a name param as a guest', async () => {
    const { connect } = await start({}, withWhoami);
    const anon = await connect({ name: null });
    const { assigns } = (await anon.join('whoami')).reply.response as { assigns: { userId: string; name: string } };
    expect(assigns.userId).toMatch(/^guest-/);
    expect(assigns.name).toBe(assigns.userId);
  });

  it('ignores a token param instead of refusing the socket', async () => {
    const { connect } = await start({}, withWhoami);
    const ada = await connect({ name: 'ada', params: { token: 'whatever' } });
    expect((await ada.join('whoami')).reply.status).toBe('ok');
  });

  it('says so in its log', async () => {
    const warnings = new Recorder<string>();
    await start({ logger: { info() {}, warn: (m) => warnings.push(m), error() {} } });
    expect(await warnings.next()).toMatch(/DEV MODE/);
  });
});

describe('where the token travels', () => {
  it('refuses a query token with 4401 and the fix, even with a good token in the header', async () => {
    const { connect } = await start({ secret: SECRET });
    const token = signToken({ sub: 'u1' }, SECRET);
    const ada = await connect({ token, params: { token } });
    expect(await ada.closeEvent()).toEqual({ code: 4401, reason: 'token in URL refused: send it in Sec-WebSocket-Protocol (token/authToken option) or set allowQueryToken' });
  });

  it('accepts a query token with allowQueryToken, and prefers the header when both come', async () => {
    const { connect } = await start({ secret: SECRET, allowQueryToken: true }, withWhoami);
    const ada = await connect({ params: { token: signToken({ sub: 'from-query' }, SECRET) } });
    expect((await ada.join('whoami')).reply.response).toEqual({ assigns: { userId: 'from-query', name: 'from-query' } });
    const bob = await connect({ token: signToken({ sub: 'from-header' }, SECRET), params: { token: signToken({ sub: 'from-query' }, SECRET) } });
    expect((await bob.join('whoami')).reply.response).toEqual({ assigns: { userId: 'from-header', name: 'from-header' } });
  });
});

describe('with public keys or a JWK Set', () => {
  it('accepts a token signed with the private half of publicKey, and checks iss and aud', async () => {
    const key = keyPair('ES256');
    const { connect } = await start({ publicKey: key.publicPem, issuer: 'https://login.example/', audience: 'chat' }, withWhoami);
    const ada = await connect({ token: await signWith(key, { sub: 'u1', name: 'Ada', iss: 'https://login.example/', aud: 'chat' }) });
    expect((await ada.join('whoami')).reply.response).toEqual({ assigns: { userId: 'u1', name: 'Ada' } });
    const other = await connect({ token: await signWith(key, { sub: 'u1', iss: 'https://other.example/', aud: 'chat' }) });
    expect(await other.closeEvent()).toEqual({ code: 4401, reason: 'token issuer is not accepted' });
    const hs = await connect({ token: signToken({ sub: 'u1', iss: 'https://login.example/', aud: 'chat' }, key.publicPem) });
    expect(await hs.closeEvent()).toEqual({ code: 4401, reason: 'token algorithm HS256 is not accepted' });
  });

  it('accepts a token whose key is in the JWK Set', async () => {
    const jwks = await jwksServer();
    const key = keyPair('EdDSA');
    jwks.serve([{ ...key.publicJwk, kid: 'k1' }]);
    const { connect } = await start({ jwksUrl: jwks.url }, withWhoami);
    const ada = await connect({ token: await signWith(key, { sub: 'u1' }, { kid: 'k1' }) });
    expect((await ada.join('whoami')).reply.status).toBe('ok');
    const stranger = await connect({ token: await signWith(keyPair('EdDSA'), { sub: 'u1' }, { kid: 'k9' }) });
    expect(await stranger.closeEvent()).toEqual({ code: 4401, reason: 'no key matches the token' });
  });

  it('closes with 1011 "token keys unavailable" when the JWK Set cannot be fetched, and logs it', async () => {
    const jwks = await jwksServer();
    jwks.down();
    const errors = new Recorder<string>();
    const { connect } = await start({ jwksUrl: jwks.url, logger: { info() {}, warn() {}, error: (m) => errors.push(m) } });
    const ada = await connect({ token: await signWith(keyPair('EdDSA'), { sub: 'u1' }, { kid: 'k1' }) });
    expect(await ada.closeEvent()).toEqual({ code: 1011, reason: 'token keys unavailable' });
    expect(await errors.next()).toMatch(/token keys unavailable/);
  });
});

describe('dev mode is loopback only', () => {
  it('refuses to listen on a public address, with the fix in the message', async () => {
    const server = new PlumeServer({ logger: false });
    try {
      await expect(server.listen(0, '0.0.0.0')).rejects.toThrow(/Configure authentication .*, or listen on a loopback address .*, or accept the risk with dev: true \(--dev, PLUME_DEV=1\)/);
    } finally {
      await server.close();
    }
  });

  it('listens anywhere with dev: true, and says so', async () => {
    const warnings = new Recorder<string>();
    const server = new PlumeServer({ dev: true, logger: { info() {}, warn: (m) => warnings.push(m), error() {} } });
    try {
      await server.listen(0, '0.0.0.0');
      expect(warnings.all.join('\n')).toMatch(/DEV MODE on 0\.0\.0\.0 \(dev: true\)/);
    } finally {
      await server.close();
    }
  });

  it('listens anywhere with authentication configured', async () => {
    const server = new PlumeServer({ secret: SECRET, logger: false });
    try {
      expect((await server.listen(0, '0.0.0.0')).port).toBeGreaterThan(0);
    } finally {
      await server.close();
    }
  });

  it('attaches only to an HTTP server listening on loopback', async () => {
    const http = createServer();
    const server = new PlumeServer({ logger: false });
    try {
      await expect(server.attach(http)).rejects.toThrow(/dev mode/);
      await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
      await server.attach(http);
    } finally {
      await server.close();
      await new Promise((resolve) => http.close(resolve));
    }
  });
});
