/**
 * `plume:doc` (PROTOCOL.md §11): a member syncs the topic's document by
 * state vector, or sends an update, which the server validates, stores and
 * broadcasts to the topic like any broadcast (ordered, in history, relayed
 * by the mesh with the server's signature).
 *
 * Responsible for the wire side of documents: reading the request, asking
 * `authorize`, answering, and publishing accepted updates. Storage is
 * `documents.ts`.
 */
import { EXTENSION_EVENTS, REASONS, encodeReply, type Message } from '../../src/protocol';
import type { ChannelInstance } from '../channels/instance';
import { EngineUnavailable, QUOTA_EXCEEDED, QuotaExceeded, UNAVAILABLE, type Position } from '../engine/engine';
import type { Extension, ExtensionSocket } from '../socket/extensions';
import { binaryAround } from '../wire/frame';
import { DocumentError, type Documents } from './documents';
import type { DocumentAccess, ResolvedDocumentOptions } from './options';

/** The first byte of a `plume:doc` payload. */
export const DOC_OPS = { sync: 0x00, synced: 0x01, update: 0x02 } as const;

const NO_BYTES = new Uint8Array(0);

/** What the extension needs of the server. */
export interface DocDeps {
  documents: Documents;
  options: ResolvedDocumentOptions;
  /** Publishes an accepted update to the topic as a `plume:doc` broadcast (bytes: `0x02` + update). */
  publish(topic: string, payload: Uint8Array, user: string): Promise<Position>;
  reportError(error: unknown, context: string): void;
}

/** @example server.extensions.register(docExtension({ documents, options, publish, reportError })) */
export function docExtension(deps: DocDeps): Extension {
  const access = new WeakMap<ChannelInstance, Promise<DocumentAccess>>();
  const accessOf = (instance: ChannelInstance): Promise<DocumentAccess> => {
    let decided = access.get(instance);
    if (!decided) {
      decided = Promise.resolve(deps.options.authorize ? deps.options.authorize(instance.topic, instance) : 'write');
      access.set(instance, decided);
    }
    return decided;
  };
  return {
    event: EXTENSION_EVENTS.doc,
    scope: 'channel',
    plumeOnly: true,
    binary: true,
    handle(message, socket) {
      const instance = socket.joinedChannel(message);
      if (!instance) return;
      const bytes = message.binary;
      if (!bytes || bytes.length === 0 || (bytes[0] !== DOC_OPS.sync && bytes[0] !== DOC_OPS.update)) return socket.replyError(message, REASONS.invalidPayload);
      // In the channel's frame order: a sync's answer and the updates after it keep their order.
      instance.inOrder((release) => {
        answer(deps, socket, message, instance, bytes, accessOf(instance)).finally(release);
      }, () => socket.replyError(message, REASONS.unmatchedTopic));
    },
  };
}

async function answer(deps: DocDeps, socket: ExtensionSocket, message: Message, instance: ChannelInstance, bytes: Uint8Array, access: Promise<DocumentAccess>): Promise<void> {
  try {
    const allowed = await access;
    if (!allowed) return socket.replyError(message, 'not allowed to read this document');
    const body = bytes.subarray(1);
    if (bytes[0] === DOC_OPS.sync) {
      const { stateVector, missing } = await deps.documents.sync(instance.topic, body);
      const reply = new Uint8Array(5 + stateVector.length + missing.length);
      reply[0] = DOC_OPS.synced;
      new DataView(reply.buffer).setUint32(1, stateVector.length);
      reply.set(stateVector, 5);
      reply.set(missing, 5 + stateVector.length);
      return socket.send(binaryAround(encodeReply(message.joinRef, message.ref!, message.topic, 'ok', NO_BYTES), reply), true);
    }
    if (allowed !== 'write') return socket.replyError(message, 'read only');
    await deps.documents.check(instance.topic, body);
    // Published before it is stored: a publish refused (quota, engine down) leaves nothing stored that the
    // members never heard of. Should the store then fail, the sender's error reply makes it sync again,
    // and that sync sends the server what its state lacks.
    const position = await deps.publish(instance.topic, bytes, instance.assigns.userId);
    await deps.documents.append(instance.topic, body);
    socket.reply(message, { status: 'ok', response: {} }, socket.plume ? { ...position } : undefined);
  } catch (error) {
    if (error instanceof DocumentError) return socket.replyError(message, error.reason);
    if (error instanceof QuotaExceeded) return socket.replyError(message, QUOTA_EXCEEDED);
    if (!(error instanceof EngineUnavailable)) deps.reportError(error, `the document of ${instance.topic}`);
    socket.replyError(message, UNAVAILABLE);
  }
}
