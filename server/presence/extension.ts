/**
 * `plume:presence` (PROTOCOL.md §9): a member sets its own fields of its
 * presence meta. Any socket may send it, Phoenix ones included.
 */
import { EXTENSION_EVENTS } from '../../src/protocol';
import type { Extension } from '../socket/extensions';
import type { PresenceTracker } from './tracker';

/** @example extensions.register(presenceExtension(server.presence)) */
export function presenceExtension(presence: PresenceTracker): Extension {
  return {
    event: EXTENSION_EVENTS.presence,
    scope: 'channel',
    plumeOnly: false,
    handle(message, socket) {
      const instance = socket.joinedChannel(message);
      if (instance) socket.reply(message, presence.clientUpdate(instance, message.payload));
    },
  };
}
