/**
 * `plume:ephemeral` (PROTOCOL.md §10): an unordered, unstored event from a
 * member (typing, cursors) to the other members, through PubSub to every
 * node; fan-out sends it to members the sender's mesh does not reach.
 */
import { EXTENSION_EVENTS, isPayload, isReservedEvent } from '../../src/protocol';
import { ok, refuse } from '../channels/channel';
import type { PubSub } from '../pubsub/pubsub';
import type { Extension } from '../socket/extensions';
import type { EphemeralMessage } from './fanout';

/** @example extensions.register(ephemeralExtension(server.pubsub)) */
export function ephemeralExtension(pubsub: PubSub): Extension {
  return {
    event: EXTENSION_EVENTS.ephemeral,
    scope: 'channel',
    plumeOnly: true,
    handle(message, socket) {
      const instance = socket.joinedChannel(message);
      if (!instance) return;
      const { event, eid, payload } = message.payload;
      if (!instance.handler.ephemeral) return socket.reply(message, refuse('ephemeral events are not accepted on this topic'));
      if (typeof event !== 'string' || event === '' || isReservedEvent(event) || typeof eid !== 'string' || !isPayload(payload)) return socket.reply(message, refuse('invalid ephemeral event'));
      const ephemeral: EphemeralMessage = { kind: 'plume:ephemeral', topic: instance.topic, event, payload, from: instance.socketId, eid: eid.slice(0, 128) };
      pubsub.broadcast(instance.topic, ephemeral);
      socket.reply(message, ok());
    },
  };
}
