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
import { DOC_OPS, PART_HEADER } from '../../src/yjs/sync';
import { binaryAround } from '../wire/frame';
import { DocumentError, type Documents } from './documents';
import type { DocumentAccess, ResolvedDocumentOptions } from './options';

const NO_BYTES = new Uint8Array(0);

/** An update being assembled from parts, per member (channel join). */
interface Assembly {
  total: number;
  /** Copies of the parts so far (never more than was sent: a header alone reserves nothing). */
  parts: Uint8Array[];
  held: number;
}

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
  /** Each socket's unfinished updates in parts, by channel join. */
  const assemblies = new WeakMap<ExtensionSocket, Map<ChannelInstance, Assembly>>();
  return {
    event: EXTENSION_EVENTS.doc,
    scope: 'channel',
    plumeOnly: true,
    binary: true,
    handle(message, socket) {
      const instance = socket.joinedChannel(message);
      if (!instance) return;
      const bytes = message.binary;
      if (!bytes || bytes.length === 0 || !OPS.has(bytes[0]!) || (bytes[0] === DOC_OPS.part && bytes.length <= PART_HEADER)) return socket.replyError(message, REASONS.invalidPayload);
      // In the channel's frame order: a sync's answer and the updates after it keep their order.
      instance.inOrder((release) => {
        const access = accessOf(instance);
        if (bytes[0] !== DOC_OPS.part) return void answer(deps, socket, message, instance, bytes, access).finally(release);
        void access.then(async (allowed) => {
          if (allowed !== 'write') return socket.replyError(message, allowed ? 'read only' : 'not allowed to read this document');
          let mine = assemblies.get(socket);
          if (!mine) assemblies.set(socket, (mine = new Map()));
          const whole = assemble(mine, instance, bytes, deps.options.maxBytes);
          if (typeof whole === 'string') return socket.replyError(message, whole);
          // A part, not the last: held until the update is whole.
          if (whole === null) return socket.reply(message, { status: 'ok', response: {} });
          await answer(deps, socket, message, instance, whole, access);
        }, (error: unknown) => {
          deps.reportError(error, `authorizing the document of ${instance.topic}`);
          socket.replyError(message, UNAVAILABLE);
        }).finally(release);
      }, () => socket.replyError(message, REASONS.unmatchedTopic));
    },
  };
}

const OPS = new Set<number>([DOC_OPS.sync, DOC_OPS.update, DOC_OPS.part]);

/**
 * Adds a part to the member's update in parts (PROTOCOL.md §11): the whole update (`0x02` + its bytes)
 * once the last part is in, null while parts are missing, or the reason a part is refused (what was held
 * for it is dropped). `mine` is the socket's unfinished updates: together at most `maxBytes`.
 */
function assemble(mine: Map<ChannelInstance, Assembly>, instance: ChannelInstance, part: Uint8Array, maxBytes: number): Uint8Array | null | string {
  const view = new DataView(part.buffer, part.byteOffset, part.byteLength);
  const total = view.getUint32(1);
  const offset = view.getUint32(5);
  const body = part.subarray(PART_HEADER);
  if (total > maxBytes) {
    mine.delete(instance);
    return 'document too large';
  }
  // Offset 0 starts over (a sender that gave up on an unfinished update sends it again from the start).
  if (offset === 0) mine.set(instance, { total, parts: [], held: 0 });
  const assembly = mine.get(instance);
  if (!assembly || offset !== assembly.held || total !== assembly.total || offset + body.length > total) {
    mine.delete(instance);
    return 'invalid update';
  }
  let socketHeld = body.length;
  for (const [other, { held }] of mine) {
    // A channel left mid-way (its member sends the update again whole from its next sync).
    if (other.ended) mine.delete(other);
    else socketHeld += held;
  }
  if (socketHeld > maxBytes) {
    // Several large updates at once on one socket: this one is sent again later, from the start.
    mine.delete(instance);
    return REASONS.rateLimited;
  }
  assembly.parts.push(Uint8Array.from(body));
  assembly.held += body.length;
  if (assembly.held < total) return null;
  mine.delete(instance);
  const whole = new Uint8Array(1 + total);
  whole[0] = DOC_OPS.update;
  let at = 1;
  for (const piece of assembly.parts) {
    whole.set(piece, at);
    at += piece.length;
  }
  return whole;
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
