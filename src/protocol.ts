/**
 * The wire: frame encoding and decoding, event names, close codes and the
 * envelope types shared by the client and the server.
 *
 * This is the only module both sides import; `docs/PROTOCOL.md` is its
 * specification in prose. It holds no state and does no I/O: it does not
 * know about sockets, timers or channels.
 */

/** The serializer version Plume speaks (Phoenix Channels V2 JSON). */
export const VSN = '2.0.0';

/** The topic reserved for socket-level frames such as heartbeats. */
export const PHOENIX_TOPIC = 'phoenix';

/** Event names with a meaning in the protocol. */
export const EVENTS = {
  join: 'phx_join',
  leave: 'phx_leave',
  reply: 'phx_reply',
  error: 'phx_error',
  close: 'phx_close',
  heartbeat: 'heartbeat',
  presenceState: 'presence_state',
  presenceDiff: 'presence_diff',
  /** Client → server: a Plume client sets its own presence fields (PROTOCOL.md, Presence). */
  presenceUpdate: 'plume:presence',
} as const;

/** Close codes the server uses; see `docs/PROTOCOL.md` §6. */
export const CLOSE = {
  normal: 1000,
  goingAway: 1001,
  unsupportedData: 1003,
  invalidData: 1007,
  tooBig: 1009,
  internalError: 1011,
  badFrame: 4400,
  unauthorized: 4401,
  forbidden: 4403,
  heartbeatTimeout: 4408,
  /** The socket's unsent data passed the server's `maxBufferedBytes`: it was not reading fast enough. */
  slowConsumer: 4429,
} as const;

/** Reasons carried in `{status: "error", response: {reason}}` replies. */
export const REASONS = {
  unmatchedTopic: 'unmatched topic',
  invalidPayload: 'invalid payload',
  payloadTooLarge: 'payload too large',
  unknownEvent: 'unknown event',
  tooManyChannels: 'too many channels',
  joinCrashed: 'join crashed',
} as const;

/** Longest topic or event name the server accepts. */
export const MAX_NAME_LENGTH = 255;

/** A JSON object: the only payload shape the protocol carries. */
export type Payload = Record<string, unknown>;

/** Plume's optional sixth frame element (only on `plume=1` sockets). */
export interface Meta {
  /** Identity of the topic's current history. */
  epoch?: string;
  /** Position of a broadcast in its topic's order. */
  seq?: number;
  [key: string]: unknown;
}

/**
 * One tracked channel (a tab, a device) in a presence: Phoenix's meta, the
 * server-assigned `phx_ref` plus the application's fields. `phx_ref_prev`
 * names the meta this one replaced, when it is an update.
 */
export interface PresenceMeta {
  phx_ref: string;
  phx_ref_prev?: string;
  [field: string]: unknown;
}

/** Presences by key: the payload of `presence_state`, exactly Phoenix's shape. */
export type PresenceState = Record<string, { metas: PresenceMeta[] }>;

/** The payload of `presence_diff`, exactly Phoenix's shape. */
export interface PresenceDiff {
  joins: PresenceState;
  leaves: PresenceState;
}

/** Connect param carrying a Plume client's per-tab id, so a reconnect takes over its own presence. */
export const TAB_PARAM = 'plume_tab';

/** A decoded frame. */
export interface Message {
  joinRef: string | null;
  ref: string | null;
  topic: string;
  event: string;
  payload: Payload;
  meta?: Meta;
  /** The frame's text as received, on signed broadcasts from the server (a forwarding member compares with it). */
  frame?: string;
}

/** The payload of a `phx_reply`. */
export interface ReplyPayload {
  status: 'ok' | 'error';
  response: Payload;
}

/** Why a frame could not be decoded, and the close code that answers it. */
export interface DecodeFailure {
  ok: false;
  code: number;
  reason: string;
}

/** A decoded frame, with `payloadValid` false when the payload is not an object. */
export interface DecodeSuccess {
  ok: true;
  message: Message;
  /** False when the frame is well formed but its payload is not a JSON object. */
  payloadValid: boolean;
}

export type DecodeResult = DecodeSuccess | DecodeFailure;

/** True for a plain JSON object (not null, not an array). */
export function isPayload(value: unknown): value is Payload {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Encodes a message as a V2 JSON frame. `meta` is appended only when given.
 *
 * @example
 * encode({ joinRef: '1', ref: '2', topic: 'room:a', event: 'hi', payload: {} })
 * // => '["1","2","room:a","hi",{}]'
 */
export function encode(message: Message): string {
  const { joinRef, ref, topic, event, payload, meta } = message;
  const frame: unknown[] = [joinRef, ref, topic, event, payload];
  if (meta !== undefined) frame.push(meta);
  return JSON.stringify(frame);
}

/**
 * Builds a frame around a payload that is already JSON text, so a broadcast
 * is serialized once however many sockets receive it.
 *
 * @example
 * const body = JSON.stringify({ body: 'hi' });
 * encodeRaw(null, null, 'room:a', 'new_msg', body) // same bytes as encode()
 */
export function encodeRaw(
  joinRef: string | null,
  ref: string | null,
  topic: string,
  event: string,
  payloadJson: string,
  metaJson?: string,
): string {
  const head = `[${joinRef === null ? 'null' : JSON.stringify(joinRef)},${ref === null ? 'null' : JSON.stringify(ref)},${JSON.stringify(topic)},${JSON.stringify(event)},${payloadJson}`;
  return metaJson === undefined ? `${head}]` : `${head},${metaJson}]`;
}

const fail = (code: number, reason: string): DecodeFailure => ({ ok: false, code, reason });

function isRef(value: unknown): value is string | null {
  return value === null || typeof value === 'string';
}

function isName(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0 && value.length <= MAX_NAME_LENGTH;
}

/**
 * Decodes and validates one text frame. Never throws: a frame that breaks
 * the protocol yields a failure carrying the close code to answer it with.
 *
 * @param allowMeta whether a sixth `meta` element is allowed (Plume sockets).
 * @example
 * const r = decode('["1","1","room:a","phx_join",{}]', false);
 * if (r.ok) console.log(r.message.topic); // "room:a"
 */
export function decode(text: string, allowMeta: boolean): DecodeResult {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    // Not JSON: answered with a close code, nothing to recover.
    return fail(CLOSE.badFrame, 'malformed frame: not JSON');
  }
  if (!Array.isArray(value)) return fail(CLOSE.badFrame, 'malformed frame: not an array');
  if (value.length !== 5 && !(allowMeta && value.length === 6)) {
    return fail(CLOSE.badFrame, `malformed frame: expected ${allowMeta ? '5 or 6' : '5'} elements, got ${value.length}`);
  }
  const [joinRef, ref, topic, event, payload, meta] = value as unknown[];
  if (!isRef(joinRef)) return fail(CLOSE.badFrame, 'malformed frame: join_ref must be a string or null');
  if (!isRef(ref)) return fail(CLOSE.badFrame, 'malformed frame: ref must be a string or null');
  if (!isName(topic)) return fail(CLOSE.badFrame, 'malformed frame: topic must be a non-empty string');
  if (!isName(event)) return fail(CLOSE.badFrame, 'malformed frame: event must be a non-empty string');
  if (value.length === 6 && !isPayload(meta)) return fail(CLOSE.badFrame, 'malformed frame: meta must be an object');
  const valid = isPayload(payload);
  const message: Message = { joinRef, ref, topic, event, payload: valid ? payload : {} };
  if (value.length === 6) message.meta = meta as Meta;
  return { ok: true, message, payloadValid: valid };
}

/** True for reply payloads of the shape `{status, response}`. */
export function isReplyPayload(payload: Payload): payload is Payload & ReplyPayload {
  return (payload.status === 'ok' || payload.status === 'error') && isPayload(payload.response);
}

/** Event names applications may not use for their own pushes. */
export function isReservedEvent(event: string): boolean {
  return event.startsWith('phx_') || event.startsWith('presence_') || event.startsWith('plume:');
}

/** The subprotocol prefix under which a token travels (Phoenix's `authToken`). */
export const TOKEN_PROTOCOL_PREFIX = 'base64url.bearer.phx.';

/**
 * The exact text a relayed broadcast's signature covers (PROTOCOL.md §10):
 * a JSON header of topic, epoch, seq, event, message id and excluded member,
 * a newline, then the payload's JSON text as is. The header is JSON, so it
 * holds no raw newline: the first newline ends it, and no two messages share
 * a content. The payload is not escaped again, which keeps signing cheap.
 */
export function signedContent(topic: string, epoch: string, seq: number, event: string, id: string | null, payloadJson: string, exclude: string | null): string {
  return `${signedContentHead(topic, epoch, seq, event, id, exclude)}${payloadJson}`;
}

/**
 * The part of `signedContent` before the payload: the JSON header
 * `["plume/2",topic,epoch,seq,event,id,exclude]` and its newline. Written
 * piece by piece (byte for byte what `JSON.stringify` gives for the array,
 * `seq` being an integer): the server makes one per signed broadcast.
 */
export function signedContentHead(topic: string, epoch: string, seq: number, event: string, id: string | null, exclude: string | null): string {
  const q = JSON.stringify;
  return `["plume/2",${q(topic)},${q(epoch)},${seq},${q(event)},${id === null ? 'null' : q(id)},${exclude === null ? 'null' : q(exclude)}]\n`;
}

/** Bytes prefixed to a batch's Merkle root before it is signed (domain separation). */
export const SIGNATURE_DOMAIN = 'plume-mesh-root/1:';
