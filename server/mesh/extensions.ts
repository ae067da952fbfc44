/**
 * The mesh's extension events (PROTOCOL.md §10): `plume:signal` (WebRTC
 * signalling to a peer), `plume:link` (a link came up or went down) and
 * `plume:report` (a peer sent what did not verify), each answered `ok` or
 * with the registry's reason.
 */
import { EXTENSION_EVENTS, type Payload } from '../../src/protocol';
import type { Extension } from '../socket/extensions';
import type { MeshRegistry } from './registry';

type Act = (mesh: MeshRegistry, topic: string, from: string, payload: Payload) => string | null;

function meshEvent(event: string, mesh: MeshRegistry | null, act: Act): Extension {
  return {
    event,
    scope: 'channel',
    plumeOnly: true,
    handle(message, socket) {
      if (!socket.joinedChannel(message)) return;
      const refused = mesh ? act(mesh, message.topic, socket.socketId, message.payload) : 'invalid mesh message';
      if (refused === null) socket.reply(message, { status: 'ok', response: {} });
      else socket.replyError(message, refused);
    },
  };
}

/** @example for (const extension of meshExtensions(server.mesh)) extensions.register(extension); */
export function meshExtensions(mesh: MeshRegistry | null): Extension[] {
  return [
    meshEvent(EXTENSION_EVENTS.signal, mesh, (m, topic, from, payload) => m.signal(topic, from, payload)),
    meshEvent(EXTENSION_EVENTS.link, mesh, (m, topic, from, payload) => m.link(topic, from, payload)),
    meshEvent(EXTENSION_EVENTS.report, mesh, (m, topic, from, payload) => m.report(topic, from, payload)),
  ];
}
