/**
 * A socket's token refresh, `plume:token` (PROTOCOL.md §8): the new token
 * must verify as at connect and name the same user.
 *
 * Responsible for deciding whether a new token may replace a socket's.
 * Not responsible for the frame or the socket's expiry timer (`connection.ts`).
 */
import { expiryOf } from './connect';
import { TokenError, type TokenClaims } from './token';
import type { TokenVerifier } from './verifier';

/** The outcome of a refresh: the new claims and closing time, or the reason it was refused. */
export type RefreshResult = { ok: true; claims: TokenClaims; expiresAt: number } | { ok: false; reason: string };

/**
 * Verifies `token` for a socket whose user is `sub`.
 * @example const result = await checkRefresh(verifier, payload.token, connection.claims?.sub);
 */
export async function checkRefresh(verifier: TokenVerifier, token: string, sub: string | undefined): Promise<RefreshResult> {
  try {
    const claims = await verifier.verify(token);
    if (claims.sub !== sub) return { ok: false, reason: 'token is for another user' };
    return { ok: true, claims, expiresAt: expiryOf(claims, verifier) };
  } catch (err) {
    if (err instanceof TokenError) return { ok: false, reason: err.message };
    throw err;
  }
}
