/**
 * The default relay channel on `room:*`, so an app needs no server code to
 * chat: anyone may join, and any event a member pushes is broadcast to all
 * members, the sender included, and acknowledged with `ok`.
 *
 * Register your own handler for `room:*` (or turn `relay` off) to replace it.
 */
import { ok, type ChannelHandler } from './channel';

/** Pattern the relay channel is registered under. */
export const RELAY_PATTERN = 'room:*';

/** @example server.channel('chat:*', relayChannel) // relay on another prefix too */
export const relayChannel: ChannelHandler = {
  join: () => ok(),
  ephemeral: true,
  handleIn(event, payload, socket) {
    socket.broadcast(event, payload);
    return ok();
  },
};
