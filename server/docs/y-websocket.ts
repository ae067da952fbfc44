/**
 * The y-websocket endpoint `/yjs/<room>` (PROTOCOL.md §11, y-websocket
 * clients): an unmodified y-websocket `WebsocketProvider` edits the same
 * document as Plume members of the room, with awareness both ways.
 *
 * How: a y-websocket socket is a transport (`transport/client.ts`) under an
 * ordinary Plume connection. This module translates: on open it joins the
 * room's topic; sync step 1 becomes a `plume:doc` sync, sync step 2 and
 * updates become `plume:doc` updates, awareness becomes the ephemeral event
 * `yjs:awareness`; and back, the sync answer becomes sync step 2 + step 1,
 * the topic's `plume:doc` broadcasts become updates, members' awareness
 * events become awareness messages. So authentication, the join's
 * authorization, `documents.authorize`, validation, size limits, rate
 * limits, ordered broadcast, the engine's storage, presence, connection
 * limits, metrics and shutdown are the same code as for every socket.
 *
 * Not responsible for the upgrade (`transport/http.ts`) or for documents
 * themselves (`extension.ts`, `documents.ts`).
 */
import type { WebSocket } from 'ws';
import { CLOSE, EVENTS, EXTENSION_EVENTS, MAX_NAME_LENGTH, decodeServerFrame, encode, encodePush, type Message, type Payload } from '../../src/protocol';
import { fromBase64, toBase64 } from '../../src/base64';
import type { ClientListener, ClientTransport } from '../transport/client';
import { closeReason } from '../transport/websocket';
import type { WireFrame } from '../wire/frame';
import type { EphemeralMessage } from '../delivery/fanout';
import { DOC_OPS, withOp, withPart } from '../../src/yjs/sync';
import { Y_SYNC, awarenessMessage, encodeAwareness, permissionDenied, readAwareness, readMessage, syncMessage, type AwarenessEntry, type YMessage } from './y-messages';

/** Where the endpoint is mounted: a provider's server URL is `ws(s)://host/yjs`. */
export const YJS_PATH = '/yjs';

/** The ephemeral event Plume members share awareness with (`src/yjs/awareness.ts`). */
const AWARENESS_EVENT = 'yjs:awareness';
/** The state vector of an empty document: a sync with it is answered with the whole document. */
const EMPTY_STATE_VECTOR = Uint8Array.of(0);

/** Messages held while the room is being joined; more closes the socket (4400). */
const MAX_HELD = 64;

/** How long a socket closed for flooding keeps its TCP connection, for the close frame to leave (ms). */
const FLOODER_LINGER_MS = 1000;

/**
 * The topic whose document `/yjs/<room>` serves: `room:<room>`, the relay
 * channel's room (the demo's and `bindDoc(socket.channel('room:<room>'))`'s);
 * a room that contains `:` is a whole topic (`notes:42`), for an app's own
 * channels. Null when the name is empty, badly escaped or too long.
 *
 * @example roomTopic('lobby') // 'room:lobby'
 * @example roomTopic('notes%3A42') // 'notes:42'
 */
export function roomTopic(encoded: string): string | null {
  let room: string;
  try {
    room = decodeURIComponent(encoded);
  } catch {
    // A `%` that starts no escape: not a room name.
    return null;
  }
  const topic = room.includes(':') ? room : `room:${room}`;
  return room === '' || topic.length > MAX_NAME_LENGTH ? null : topic;
}

/**
 * Close codes of Plume's that y-websocket would read as final: 4400–4499 stop its reconnecting,
 * while these ask a client to come back later. They are sent as 4500 + (code − 4400), the range
 * y-websocket reads as "try again later".
 */
const TRANSIENT: ReadonlySet<number> = new Set([CLOSE.heartbeatTimeout, CLOSE.flooding, CLOSE.slowConsumer]);

/** The metas of a presence entry (`{metas: [...]}`), each with its `phx_ref`. */
function metasOf(entry: unknown): Array<{ phx_ref?: unknown }> {
  const metas = (entry as { metas?: unknown } | null)?.metas;
  return Array.isArray(metas) ? (metas as Array<{ phx_ref?: unknown }>) : [];
}

/** `state.user.id` of an awareness state's JSON text, or undefined. */
function userIdOf(state: string): unknown {
  try {
    return (JSON.parse(state) as { user?: { id?: unknown } } | null)?.user?.id;
  } catch {
    return undefined;
  }
}

/** What a refused `plume:doc` update becomes: a close (code) or a permission-denied message. */
function refusalOf(reason: string): number | 'deny' {
  if (reason === 'invalid update') return CLOSE.badFrame;
  if (reason === 'unavailable') return CLOSE.tryAgainLater;
  if (reason === 'unmatched topic') return CLOSE.internalError;
  return 'deny';
}

/** What the endpoint needs of the server. */
export interface YWebsocketDeps {
  /** Bytes that may wait unsent before the connection is closed as a slow consumer (4429 → 4529). */
  maxBufferedBytes: number;
  /** Largest frame the connection takes (`maxPayloadBytes`): a larger update goes to it in parts (PROTOCOL.md §11). */
  maxPayloadBytes: number;
  /** How often the server pings the client (its pongs keep it alive without a heartbeat); 0 for never. */
  pingMs: number;
  /** Sends an ephemeral event to the topic's members (the client's awareness goodbye, once its connection is gone). */
  ephemeral(message: EphemeralMessage): void;
}

/**
 * @example
 * const client = new YWebsocketClient(ws, 'room:notes', socketId, { maxBufferedBytes, maxPayloadBytes, pingMs: 20_000, ephemeral });
 * // The socket registry (`socket/registry.ts`) wraps it in a Connection with `plume: '1'`, then start()s it once authenticated.
 */
export class YWebsocketClient implements ClientTransport {
  readonly kind = 'y-websocket';
  private listener: ClientListener | null = null;
  private joined = false;
  /** Messages from the client that wait for the join (each is handled in order once joined). */
  private held: YMessage[] | null = [];
  /** What each pending push of ours was, by ref. */
  private readonly pending = new Map<string, 'join' | 'sync' | 'update' | 'awareness'>();
  /** The awareness clients this socket speaks for, with their last entry: told to newcomers, removed when it goes. */
  private readonly clients = new Map<number, AwarenessEntry>();
  /**
   * Awareness clients the room told this socket about. A provider sends every change of its awareness
   * back, other members' too: those are not its own, and must not be removed when it goes.
   */
  private readonly others = new Set<number>();
  /** The members' awareness states this client holds, with their clock and presence key (`state.user.id`). */
  private readonly memberStates = new Map<number, { clock: number; key: unknown }>();
  /** The room's presence as this socket heard it: each key's metas (by `phx_ref`). */
  private readonly present = new Map<string, Set<unknown>>();
  private nextRef = 1;
  /** Ephemeral event ids: unique per sender, as a mesh member's are (`<socket id>:<n>`). */
  private eids = 0;
  private ended = false;
  private pinger: ReturnType<typeof setInterval> | undefined;

  constructor(private readonly ws: WebSocket, readonly topic: string, private readonly socketId: string, private readonly deps: YWebsocketDeps) {}

  get open(): boolean {
    return this.ws.readyState === this.ws.OPEN;
  }

  get pendingBytes(): number {
    return this.ws.bufferedAmount;
  }

  listen(listener: ClientListener): void {
    this.listener = listener;
    this.ws.on('message', (data, isBinary) => this.received(data as Buffer, isBinary));
    this.ws.on('pong', () => listener.alive());
    this.ws.on('close', () => this.end());
    this.ws.on('error', () => this.end());
    if (this.deps.pingMs > 0) {
      this.pinger = setInterval(() => this.open && this.ws.ping(), this.deps.pingMs);
      this.pinger.unref();
    }
    // Handled once the socket is authenticated (the connection holds frames until then).
    this.push('join', '1', EVENTS.join, {});
  }

  /** A frame from the connection: translated into y-websocket messages, or dropped when the client has no use for it. */
  send(frame: WireFrame): void {
    if (frame.binary) return this.binaryFrame(frame.data);
    const parsed = JSON.parse(frame.data.toString('utf8')) as [string | null, string | null, string, string, Payload];
    const [, ref, topic, event, payload] = parsed;
    if (topic !== this.topic) return;
    if (event === EVENTS.reply && ref !== null) return this.replied(ref, payload);
    if (event === AWARENESS_EVENT && typeof payload.update === 'string') return this.awarenessFromMember(payload.update);
    // A member that just joined asks for everyone's awareness: this client's goes to it.
    if (event === AWARENESS_EVENT && payload.query === true && this.clients.size > 0) return this.shareAwareness(encodeAwareness(this.clients.values()));
    // An update this client missed, read back from history without its bytes (PROTOCOL.md §7, folded entries):
    // the client's state vector is not known here, so it gets the whole document, which holds it.
    if (event === EVENTS.skip && payload.folded === EXTENSION_EVENTS.doc) return this.pushDoc('sync', DOC_OPS.sync, EMPTY_STATE_VECTOR);
    if (event === 'presence_state') {
      // Once per join (this socket joins once): it replaces what was heard before.
      this.present.clear();
      return this.presence(payload, {});
    }
    if (event === 'presence_diff') return this.presence(payload.joins as Payload | undefined ?? {}, payload.leaves as Payload | undefined ?? {});
    if (event === EVENTS.error) return this.close(CLOSE.internalError, 'the room\'s channel crashed');
    if (event === EVENTS.close) return this.close(CLOSE.normal, 'the room\'s channel closed');
  }

  flush(): void {
    // Nothing is queued here: every message is handed to `ws` as it is made.
  }

  discard(): void {
    // As for flush: nothing queued to drop.
  }

  close(code: number, reason: string): void {
    clearInterval(this.pinger);
    if (this.ws.readyState === this.ws.CLOSED || this.ws.readyState === this.ws.CLOSING) return;
    this.ws.close(TRANSIENT.has(code) ? code + 100 : code, closeReason(reason));
  }

  pause(): void {
    this.ws.pause();
  }

  resume(): void {
    this.ws.resume();
  }

  cutOff(): void {
    setTimeout(() => this.ws.terminate(), FLOODER_LINGER_MS).unref();
  }

  private received(data: Buffer, binary: boolean): void {
    // Closing (a malformed message, a refused join): what the client still sends is not read.
    if (this.ended || !this.open) return;
    this.listener?.alive();
    const message = binary ? readMessage(data) : 'malformed message: y-websocket messages are binary';
    if (typeof message === 'string') return this.close(CLOSE.badFrame, message);
    if (this.held) {
      if (this.held.push(message) > MAX_HELD) this.close(CLOSE.badFrame, 'too many messages before the room was joined');
      return;
    }
    this.handle(message);
  }

  /** One message of the client's, as a push on the room's channel. */
  private handle(message: YMessage): void {
    switch (message.type) {
      case 'step1':
        return this.pushDoc('sync', DOC_OPS.sync, message.stateVector);
      case 'update':
        // An empty update (a client that has nothing the server lacks) changes nothing: not stored.
        if (message.update.length <= 2 && message.update.every((b) => b === 0)) return;
        return this.pushDoc('update', DOC_OPS.update, message.update);
      case 'awareness': {
        for (const entry of message.clients) {
          if (this.others.has(entry.clientID)) continue;
          if (entry.state !== 'null') this.clients.set(entry.clientID, entry);
          else this.clients.delete(entry.clientID);
        }
        // Sent back too, as y-websocket's own server does: the provider counts its own awareness
        // renewals (every 15 s) as signs of a live connection.
        this.write(awarenessMessage(message.update));
        return this.shareAwareness(message.update);
      }
      case 'queryAwareness':
        // The server keeps no awareness states: the members are asked, and answer with theirs.
        return this.queryAwareness();
      default:
        // Auth messages: a client has nothing to say in them.
        return;
    }
  }

  private pushDoc(kind: 'sync' | 'update', op: number, body: Uint8Array): void {
    // Room for the frame's header (names of at most 255 bytes each) besides the part.
    const step = Math.max(256, this.deps.maxPayloadBytes - 1024);
    if (op !== DOC_OPS.update || body.length < step) return this.pushBytes(kind, withOp(op, body));
    // Too large for one frame: in parts, each answered like the update (a refused one is the update's refusal).
    for (let offset = 0; offset < body.length; offset += step) this.pushBytes('update', withPart(body.length, offset, body.subarray(offset, offset + step)));
  }

  private pushBytes(kind: 'sync' | 'update', bytes: Uint8Array): void {
    const ref = this.ref();
    this.pending.set(ref, kind);
    this.listener?.received(Buffer.from(encodePush('1', ref, this.topic, EXTENSION_EVENTS.doc, bytes)), true);
  }

  /** Asks the room's members for their awareness states (PROTOCOL.md §11). */
  private queryAwareness(): void {
    this.push('awareness', this.ref(), EXTENSION_EVENTS.ephemeral, { event: AWARENESS_EVENT, eid: `${this.socketId}:${++this.eids}`, payload: { query: true } });
  }

  /** An awareness update to the room's other members (ephemeral, as Plume members send theirs). */
  private shareAwareness(update: Uint8Array): void {
    const eid = `${this.socketId}:${++this.eids}`;
    this.push('awareness', this.ref(), EXTENSION_EVENTS.ephemeral, { event: AWARENESS_EVENT, eid, payload: { update: toBase64(update) } });
  }

  /** A text frame, as if the client sent it; its reply is read as `kind`'s. */
  private push(kind: 'join' | 'awareness', ref: string, event: string, payload: Payload): void {
    this.pending.set(ref, kind);
    this.listener?.received(Buffer.from(encode({ joinRef: '1', ref, topic: this.topic, event, payload })), false);
  }

  private replied(ref: string, payload: Payload): void {
    const kind = this.pending.get(ref);
    this.pending.delete(ref);
    const ok = payload.status === 'ok';
    const reason = String((payload.response as { reason?: unknown } | undefined)?.reason ?? 'refused');
    if (kind === 'join') {
      if (!ok) return this.close(CLOSE.forbidden, reason);
      this.joined = true;
      const held = this.held ?? [];
      this.held = null;
      for (const message of held) this.handle(message);
      // The client learns the members' awareness now rather than at their renewals (up to 15 s).
      return this.queryAwareness();
    }
    if (ok || kind === undefined) return;
    if (kind === 'sync') return this.close(reason === 'unavailable' ? CLOSE.tryAgainLater : CLOSE.forbidden, reason);
    if (kind === 'update') {
      const refusal = refusalOf(reason);
      return refusal === 'deny' ? this.write(permissionDenied(reason)) : this.close(refusal, reason);
    }
  }

  /** A binary frame: a sync answer (reply) or a document update broadcast. */
  private binaryFrame(data: Buffer): void {
    const message: Message | null = decodeServerFrame(data);
    if (!message || message.topic !== this.topic || !message.binary) return;
    const bytes = message.binary;
    if (message.event === EVENTS.reply && message.ref !== null) {
      if (this.pending.get(message.ref) !== 'sync') return;
      this.pending.delete(message.ref);
      if (bytes.length < 5 || bytes[0] !== DOC_OPS.synced) return this.close(CLOSE.internalError, 'bad sync answer');
      const length = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(1);
      // What the client lacks, then the server's state vector: the client answers with what the server lacks.
      this.write(syncMessage(Y_SYNC.step2, bytes.subarray(5 + length)));
      this.write(syncMessage(Y_SYNC.step1, bytes.subarray(5, 5 + length)));
      return;
    }
    if (message.event === EXTENSION_EVENTS.doc && bytes[0] === DOC_OPS.update) this.write(syncMessage(Y_SYNC.update, bytes.subarray(1)));
  }

  /** A member's awareness update: passed on if it decodes (a bad one would throw inside the provider). */
  private awarenessFromMember(base64: string): void {
    let update: Uint8Array;
    try {
      update = fromBase64(base64);
    } catch {
      // Not base64: a member's malformed courtesy message; awareness is not state, nothing is lost.
      return;
    }
    const entries = readAwareness(update);
    if (!entries) return;
    for (const { clientID, clock, state } of entries) {
      this.others.add(clientID);
      if (state === 'null') this.memberStates.delete(clientID);
      else this.memberStates.set(clientID, { clock, key: userIdOf(state) });
    }
    this.write(awarenessMessage(update));
  }

  /**
   * Presence as this socket hears it (PROTOCOL.md §9): a member whose key has no meta left is gone, and its
   * awareness states (`state.user.id` = its key) leave the client's at once, as they leave Plume members'
   * (`plume/yjs`), rather than at y-protocols' 30 s timeout.
   */
  private presence(joins: Payload, leaves: Payload): void {
    for (const [key, value] of Object.entries(joins)) {
      let refs = this.present.get(key);
      if (!refs) this.present.set(key, (refs = new Set()));
      for (const meta of metasOf(value)) refs.add(meta.phx_ref);
    }
    const gone: AwarenessEntry[] = [];
    for (const [key, value] of Object.entries(leaves)) {
      const refs = this.present.get(key);
      for (const meta of metasOf(value)) refs?.delete(meta.phx_ref);
      if (refs && refs.size > 0) continue;
      this.present.delete(key);
      for (const [clientID, { clock, key: holder }] of this.memberStates) {
        if (holder !== key) continue;
        gone.push({ clientID, clock: clock + 1, state: 'null' });
        this.memberStates.delete(clientID);
      }
    }
    if (gone.length > 0) this.write(awarenessMessage(encodeAwareness(gone)));
  }

  private write(bytes: Uint8Array): void {
    if (!this.open) return;
    this.ws.send(bytes);
    if (this.ws.bufferedAmount > this.deps.maxBufferedBytes) this.listener?.overflowed();
  }

  /** The client is gone: its awareness states leave with it, then the connection ends. */
  private end(): void {
    if (this.ended) return;
    this.ended = true;
    clearInterval(this.pinger);
    if (this.joined && this.clients.size > 0) {
      const gone = [...this.clients.values()].map(({ clientID, clock }) => ({ clientID, clock: clock + 1, state: 'null' }));
      const payload = { update: toBase64(encodeAwareness(gone)) };
      this.deps.ephemeral({ kind: 'plume:ephemeral', topic: this.topic, event: AWARENESS_EVENT, payload, from: this.socketId, eid: `${this.socketId}:gone` });
    }
    this.listener?.ended();
  }

  private ref(): string {
    return String(++this.nextRef);
  }
}
