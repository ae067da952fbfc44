/**
 * For apps that connect a y-websocket `WebsocketProvider` (an editor binding
 * such as y-codemirror, y-prosemirror or Tiptap) to a Plume server's
 * `/yjs/<room>` endpoint (PROTOCOL.md §11): where a token goes. Nothing else
 * is needed on the client: the provider is used unmodified.
 */
import { base64url } from '../base64';
import { TOKEN_PROTOCOL_PREFIX } from '../protocol';

/**
 * The `protocols` option that hands a Plume server `token`, in the `Sec-WebSocket-Protocol` header
 * as Plume sockets send theirs (`phoenix` and `base64url.bearer.phx.<token>`), never in the URL.
 * The provider reads `protocols` at each connection: set `provider.protocols = tokenProtocols(fresh)`
 * before a token expires (the server closes the socket at its `exp` with 4401, which stops the provider).
 *
 * @example
 * import { WebsocketProvider } from 'y-websocket';
 * import { tokenProtocols } from 'plume/yjs';
 * const provider = new WebsocketProvider('wss://chat.example/yjs', 'lobby', doc, { protocols: tokenProtocols(token) });
 */
export function tokenProtocols(token: string): string[] {
  if (!token) throw new Error('tokenProtocols(token): the token is empty; pass the JWT your backend minted');
  return ['phoenix', TOKEN_PROTOCOL_PREFIX + base64url(token)];
}
