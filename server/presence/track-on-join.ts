/**
 * Wraps a channel handler so that every channel it accepts is tracked in
 * presence: this is how the default relay channel tracks its members.
 */
import type { Payload } from '../../src/protocol';
import type { Assigns, ChannelHandler, ChannelSocket, Reply } from '../channels/channel';
import type { PresenceTracker } from './tracker';

/** The relay's meta: the member's display name. */
export const nameMeta = (socket: ChannelSocket): Payload => ({ name: socket.assigns.name });

/**
 * @example
 * // Track every member of chat:* with its name, on top of the relay's behaviour:
 * server.channel('chat:*', trackOnJoin(relayChannel, server.presence));
 */
export function trackOnJoin<A extends Assigns = Assigns>(
  handler: ChannelHandler<A>,
  presence: PresenceTracker,
  meta: (socket: ChannelSocket<A>) => Payload = nameMeta,
): ChannelHandler<A> {
  return {
    ...handler,
    join(topic, params, socket) {
      const result = handler.join ? handler.join(topic, params, socket) : undefined;
      const track = (reply: Reply | void): Reply | void => {
        if (!reply || reply.status === 'ok') presence.track(socket, meta(socket));
        return reply;
      };
      return result instanceof Promise ? result.then(track) : track(result);
    },
  };
}
