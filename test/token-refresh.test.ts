/**
 * `plume:token` on the server (PROTOCOL.md §8, refreshing a token): a Plume
 * socket replaces its token in place for the same user; the new expiry and
 * claims hold from then on; any refusal leaves the socket on its old token,
 * which still closes it with 4401 when it expires.
 */
import { describe, expect, it } from 'vitest';
import { signToken } from '../server/auth/token';
import type { RawClient, ReplyPayload } from './helpers';
import { useServers } from './helpers';
import { keyPair, signWith, useJwksServers } from './jwks';

const start = useServers();
const jwksServer = useJwksServers();
const SECRET = 'refresh-secret';
const strict = { secret: SECRET, clockToleranceSec: 0 };

/** A token for `sub` that expires in `seconds` (fractions allowed). */
function tokenFor(sub: string, seconds: number, claims: Record<string, unknown> = {}): string {
  return signToken({ sub, exp: Date.now() / 1000 + seconds, ...claims }, SECRET);
}

function refresh(client: RawClient, payload: Record<string, unknown>): Promise<ReplyPayload> {
  return client.replyTo(client.push('phoenix', 'plume:token', payload));
}

describe('plume:token', () => {
  it('moves the socket\'s expiry to the new token\'s: it outlives the old one, and closes at the new one', async () => {
    const { connect } = await start(strict);
    const ada = await connect({ token: tokenFor('u1', 0.8), params: { plume: '1' } });
    const exp = Date.now() / 1000 + 1.6;
    expect(await refresh(ada, { token: signToken({ sub: 'u1', exp }, SECRET) })).toEqual({ status: 'ok', response: { exp } });
    // Past the first token's expiry (and the sweep's second), the socket still answers.
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect((await ada.heartbeat()).payload).toEqual({ status: 'ok', response: {} });
    expect(await ada.closeEvent(3000)).toEqual({ code: 4401, reason: 'token expired' });
    expect(Date.now()).toBeGreaterThanOrEqual(exp * 1000);
  });

  it('refuses another user\'s token, and the old expiry still closes the socket', async () => {
    const { connect } = await start(strict);
    const ada = await connect({ token: tokenFor('u1', 0.8), params: { plume: '1' } });
    expect(await refresh(ada, { token: tokenFor('u2', 60) })).toEqual({ status: 'error', response: { reason: 'token is for another user' } });
    expect(await ada.closeEvent(3000)).toEqual({ code: 4401, reason: 'token expired' });
  });

  it('refuses a token that does not verify, or no token, with the reason and keeps the socket open', async () => {
    const { connect } = await start(strict);
    const ada = await connect({ token: tokenFor('u1', 60), params: { plume: '1' } });
    const forged = signToken({ sub: 'u1' }, 'not-the-secret');
    expect(await refresh(ada, { token: forged })).toEqual({ status: 'error', response: { reason: 'token signature does not verify' } });
    const expired = signToken({ sub: 'u1', exp: Date.now() / 1000 - 10 }, SECRET);
    expect(await refresh(ada, { token: expired })).toEqual({ status: 'error', response: { reason: 'token expired' } });
    expect(await refresh(ada, {})).toEqual({ status: 'error', response: { reason: 'token required' } });
    expect(ada.isOpen).toBe(true);
  });

  it('gives later joins the new token\'s claims', async () => {
    const { connect } = await start(strict);
    const ada = await connect({ token: tokenFor('u1', 60, { rooms: ['room:a'] }), params: { plume: '1' } });
    expect((await ada.join('room:b')).reply.status).toBe('error');
    expect((await refresh(ada, { token: tokenFor('u1', 60, { rooms: ['room:a', 'room:b'] }) })).status).toBe('ok');
    expect((await ada.join('room:b')).reply.status).toBe('ok');
  });

  it('answers unknown event to a plain Phoenix socket', async () => {
    const { connect } = await start(strict);
    const phx = await connect({ token: tokenFor('u1', 60) });
    expect(await refresh(phx, { token: tokenFor('u1', 120) })).toEqual({ status: 'error', response: { reason: 'unknown event' } });
  });

  it('answers "authentication is off" in dev mode', async () => {
    const { connect } = await start();
    const ada = await connect({ params: { plume: '1' } });
    expect(await refresh(ada, { token: 'anything' })).toEqual({ status: 'error', response: { reason: 'authentication is off' } });
  });

  it('verifies one refresh at a time per socket', async () => {
    const jwks = await jwksServer();
    const key = keyPair('EdDSA');
    jwks.serve([{ ...key.publicJwk, kid: 'k1' }]);
    const { connect } = await start({ jwksUrl: jwks.url, jwksCooldownMs: 0 });
    const ada = await connect({ token: await signWith(key, { sub: 'u1' }, { kid: 'k1' }), params: { plume: '1' } });
    // A kid the cached set lacks makes the server fetch it again; held, that verification stays in flight.
    await ada.heartbeat(); // answered once the socket is authenticated, so the set is cached
    const release = jwks.hold();
    const first = refresh(ada, { token: await signWith(key, { sub: 'u1' }, { kid: 'k2' }) });
    const second = await refresh(ada, { token: await signWith(key, { sub: 'u1' }, { kid: 'k1' }) });
    expect(second).toEqual({ status: 'error', response: { reason: 'token refresh in progress' } });
    jwks.serve([{ ...key.publicJwk, kid: 'k2' }]);
    release();
    expect((await first).status).toBe('ok');
  });
});
