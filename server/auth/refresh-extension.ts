/**
 * `plume:token` on topic `phoenix` (PROTOCOL.md §8): a Plume client hands
 * its open socket a fresh token before the old one expires. One refresh at
 * a time per socket; the same user only.
 */
import { CLOSE, EXTENSION_EVENTS } from '../../src/protocol';
import type { Extension, ExtensionSocket } from '../socket/extensions';
import { checkRefresh } from './refresh';
import type { TokenVerifier } from './verifier';

/** @example extensions.register(tokenExtension(verifier, (err, context) => log.error(context, err))) */
export function tokenExtension(verifier: TokenVerifier | null, reportError: (error: unknown, context: string) => void): Extension {
  const refreshing = new WeakSet<ExtensionSocket>();
  return {
    event: EXTENSION_EVENTS.token,
    scope: 'socket',
    plumeOnly: true,
    handle(message, socket) {
      const token = message.payload.token;
      if (!verifier) return socket.replyError(message, 'authentication is off');
      if (typeof token !== 'string' || token === '') return socket.replyError(message, 'token required');
      if (refreshing.has(socket)) return socket.replyError(message, 'token refresh in progress');
      refreshing.add(socket);
      checkRefresh(verifier, token, socket.claims?.sub).then((result) => {
        refreshing.delete(socket);
        if (!socket.isOpen) return;
        if (!result.ok) return socket.replyError(message, result.reason);
        socket.renew(result.claims, result.expiresAt);
        socket.reply(message, { status: 'ok', response: { exp: result.claims.exp } });
      }).catch((err: unknown) => {
        reportError(err, `a token refresh of socket ${socket.socketId}`);
        socket.close(CLOSE.internalError, 'internal error');
      });
    },
  };
}
