/**
 * Regressions for the findings of issue 20 ("Hardening") about identity,
 * each as the attacker reproduced it: dev mode on a public address, any
 * token holder joining any room and forging a message's sender, tokens in
 * the URL, and an Origin check that trusted the request's own Host header
 * and ignored the scheme. Each test failed before its fix.
 */
import { describe, expect, it } from 'vitest';
import { signToken } from '../server/auth/token';
import { PlumeServer } from '../server/server';
import { upgradeStatus, useServers } from './helpers';

const start = useServers();
const SECRET = 'regression-secret';

/** The subprotocols a client offers to carry `token` (PROTOCOL.md §1). */
function tokenProtocols(token: string): string[] {
  return ['phoenix', `base64url.bearer.phx.${Buffer.from(token).toString('base64url')}`];
}

describe('issue 20: identity and origins', () => {
  it('refuses to listen in dev mode on an address that is not loopback', async () => {
    const server = new PlumeServer({ logger: false });
    try {
      await expect(server.listen(0, '0.0.0.0')).rejects.toThrow(/dev mode/);
    } finally {
      await server.close();
    }
  });

  it('with a secret, the relay refuses a token holder the room is not granted to', async () => {
    const { connect } = await start({ secret: SECRET });
    const mallory = await connect({ name: null, protocols: tokenProtocols(signToken({ sub: 'mallory' }, SECRET)) });
    const { reply } = await mallory.join('room:board');
    expect(reply).toEqual({ status: 'error', response: { reason: 'not allowed to join this room' } });
  });

  it('with a secret, the relay stamps the sender from the token: a forged sender does not survive', async () => {
    const { connect } = await start({ secret: SECRET });
    const token = signToken({ sub: 'u-bob', name: 'Bob', rooms: ['room:lobby'] }, SECRET);
    const bob = await connect({ name: null, protocols: tokenProtocols(token) });
    const joinRef = await bob.joinOk('room:lobby');
    await bob.request('room:lobby', 'new_msg', { body: 'hi', name: 'Ada', from: { id: 'u-ada', name: 'Ada' } }, joinRef);
    const broadcast = await bob.next((f) => f.event === 'new_msg');
    expect(broadcast.payload.from).toEqual({ id: 'u-bob', name: 'Bob' });
  });

  it('refuses a token in the query string with 4401 and says how to send it instead', async () => {
    const { connect } = await start({ secret: SECRET });
    const ada = await connect({ name: null, params: { token: signToken({ sub: 'u1' }, SECRET) } });
    const closed = await ada.closeEvent();
    expect(closed.code).toBe(4401);
    expect(closed.reason).toMatch(/Sec-WebSocket-Protocol/);
  });

  it('refuses a page whose Origin matches only the Host it sent (DNS rebinding)', async () => {
    const { socketUrl, port } = await start();
    const rebound = { Host: `evil.example:${port}`, Origin: `http://evil.example:${port}` };
    expect(await upgradeStatus(socketUrl, { headers: rebound })).toBe(403);
  });

  it('with a secret, refuses an Origin that matches the Host but not the configured scheme', async () => {
    const { socketUrl } = await start({ secret: SECRET, allowedOrigins: ['https://chat.example'] });
    const downgraded = { Host: 'chat.example', Origin: 'http://chat.example' };
    expect(await upgradeStatus(socketUrl, { headers: downgraded })).toBe(403);
  });
});
