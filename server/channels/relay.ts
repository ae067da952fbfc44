/**
 * The default relay channel on `room:*`, so an app needs no server code to
 * chat: any event a member pushes is broadcast to all members, the sender
 * included, and acknowledged with `ok`.
 *
 * Who may join, and what a message says about its sender (PROTOCOL.md §8,
 * identity and joins on the relay channel):
 * - in dev mode anyone joins any room and payloads pass unchanged (the
 *   `name` connect param is the identity anyway);
 * - with authentication, the server stamps `from: { id, name }` from the
 *   socket's assigns into every message, over whatever the client sent, and
 *   a join needs the `relay.join` hook's yes, or without a hook the token's
 *   `rooms` claim.
 *
 * Register your own handler for `room:*` (or turn `relay` off) to replace it.
 */
import { ok, refuse, type ChannelHandler, type ChannelSocket, type Maybe } from './channel';
import type { Payload } from '../../src/protocol';
import type { TokenClaims } from '../auth/token';

/** Pattern the relay channel is registered under. */
export const RELAY_PATTERN = 'room:*';

/** The reason a refused relay join gets. */
export const NOT_ALLOWED = 'not allowed to join this room';

/** Options for the default relay channel (server option `relay`). */
export interface RelayOptions {
  /**
   * Decides whether `socket` may join `topic`: true to accept, false to
   * refuse with `not allowed to join this room`. It replaces the default
   * rule (the token's `rooms` claim); `socket.claims` holds the token's claims.
   * @example { join: (topic, socket) => db.isMember(socket.assigns.userId, topic) }
   */
  join?(topic: string, socket: ChannelSocket, params: Payload): Maybe<boolean>;
}

/** @example server.channel('chat:*', relayChannel) // relay on another prefix too (dev-mode rules: anyone joins, payloads unchanged) */
export const relayChannel: ChannelHandler = {
  join: () => ok(),
  ephemeral: true,
  handleIn(event, payload, socket) {
    socket.broadcast(event, payload);
    return ok();
  },
  // Bytes are relayed as they came, with authentication too: no identity can be stamped into them
  // (an app that needs to know who sent bytes registers its own channel and wraps them).
  handleBinary(event, payload, socket) {
    socket.broadcast(event, payload);
    return ok();
  },
};

/**
 * True when the token's `rooms` claim lists `topic`: exactly, or by a prefix ending in `*`.
 * @example roomsClaimAllows('room:team-7', { rooms: ['room:team-*'] }) // true
 */
export function roomsClaimAllows(topic: string, claims: Partial<TokenClaims> | undefined): boolean {
  const rooms = claims?.rooms;
  if (!Array.isArray(rooms)) return false;
  return rooms.some((room) => typeof room === 'string' && (room.endsWith('*') ? topic.startsWith(room.slice(0, -1)) : topic === room));
}

/** The relay with the sender's identity stamped into each message: clients cannot forge `from`. */
const stampedHandleIn: ChannelHandler['handleIn'] = (event, payload, socket) => {
  socket.broadcast(event, { ...payload, from: { id: socket.assigns.userId, name: socket.assigns.name } });
  return ok();
};

/**
 * The relay channel for a server: dev-mode rules without authentication,
 * stamped identity and authorized joins with it (see the module comment).
 * @example server.channel('chat:*', relayChannelFor({ authenticated: true, join: (topic, socket) => isMember(socket, topic) }))
 */
export function relayChannelFor(options: { authenticated: boolean; join?: RelayOptions['join'] }): ChannelHandler {
  const { authenticated, join } = options;
  if (!authenticated && !join) return relayChannel;
  const decide = join ?? ((topic: string, socket: ChannelSocket) => roomsClaimAllows(topic, socket.claims));
  const answer = (allowed: boolean) => (allowed === true ? ok() : refuse(NOT_ALLOWED));
  return {
    ...relayChannel,
    join(topic, params, socket) {
      const allowed = decide(topic, socket, params);
      return allowed instanceof Promise ? allowed.then(answer) : answer(allowed);
    },
    handleIn: authenticated ? stampedHandleIn : relayChannel.handleIn,
  };
}
