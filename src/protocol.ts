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
  /** Client → server: a Plume client sets its own presence fields (PROTOCOL.md, Presence). Same as `EXTENSION_EVENTS.presence`. */
  presenceUpdate: 'plume:presence',
  /** Client → server on `phoenix`: a Plume client replaces its socket's token (PROTOCOL.md §8). Same as `EXTENSION_EVENTS.token`. */
  token: 'plume:token',
  /** Server → client: a position passed without its content (dropped by `handleOut`, sent to another member only, or kept folded; PROTOCOL.md §7, Skips). */
  skip: 'plume:skip',
} as const;

/**
 * Plume's extension events (`plume:*`, client → server), each handled on the server by one registered
 * extension (`server/socket/extensions.ts`). Plain Phoenix sockets that send one get `unknown event`
 * (but `plume:presence`, which any member may use).
 */
export const EXTENSION_EVENTS = {
  /** On a joined channel: a range of history (PROTOCOL.md §7). */
  history: 'plume:history',
  /** On a joined channel: the client's own presence fields (§9). */
  presence: 'plume:presence',
  /** On a joined channel: WebRTC signalling to a peer (§10). */
  signal: 'plume:signal',
  /** On a joined channel: a link to a peer came up or went down (§10). */
  link: 'plume:link',
  /** On a joined channel: a peer sent what did not verify (§10). */
  report: 'plume:report',
  /** On a joined channel: an unordered, unstored event for the other members (§10). */
  ephemeral: 'plume:ephemeral',
  /** On `phoenix`: a fresh token for the open socket (§8). */
  token: 'plume:token',
  /** On a joined channel: the topic's shared document, in binary frames (§11); also the event of its broadcast updates. */
  doc: 'plume:doc',
} as const;

/** Close codes the server uses; see `docs/PROTOCOL.md` §6. */
export const CLOSE = {
  normal: 1000,
  goingAway: 1001,
  unsupportedData: 1003,
  invalidData: 1007,
  tooBig: 1009,
  internalError: 1011,
  /** Never sent: what a WebSocket (or long-poll session) reports when it ended without a close frame, or never opened. */
  abnormal: 1006,
  /** Long-poll only: the server is at its connection limits (as an upgrade refused with 503 or 429); try again later. */
  tryAgainLater: 1013,
  badFrame: 4400,
  unauthorized: 4401,
  forbidden: 4403,
  heartbeatTimeout: 4408,
  /** The socket stayed past its frame or byte rate for the server's `rateLimit.maxThrottleMs`. */
  flooding: 4420,
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
  /** The frame nests arrays and objects deeper than the server's `maxPayloadDepth`. */
  payloadTooDeep: 'payload too deep',
  /** The server's engine (its store, such as Redis) cannot be reached: nothing was applied; try again later. */
  unavailable: 'unavailable',
  /** The sender holds more history than its share: the broadcast was not applied. */
  historyQuotaExceeded: 'history quota exceeded',
  /** The socket is past one of its budgets (joins, history served): not handled; try again later. */
  rateLimited: 'rate limited',
} as const;

/** Deepest nesting of arrays and objects a frame's payload may have by default (`{}` is 1). */
export const MAX_PAYLOAD_DEPTH = 32;

/** Longest topic or event name the server accepts. */
export const MAX_NAME_LENGTH = 255;

/** A JSON object: the payload of a text frame. */
export type Payload = Record<string, unknown>;

/** What an application pushes or receives: a JSON object, or bytes (a binary frame, §2). */
export type AnyPayload = Payload | Uint8Array;

/**
 * Bytes as a `Uint8Array` (a view of an `ArrayBuffer`, no copy), or the object itself.
 * @example asPayload(new ArrayBuffer(4)) // Uint8Array(4)
 */
export function asPayload(value: Payload | Uint8Array | ArrayBuffer): AnyPayload {
  return value instanceof ArrayBuffer ? new Uint8Array(value) : value;
}

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
  /**
   * The payload's bytes, for a binary frame (`payload` is then `{}`, or `{status, response: {}}` for a
   * reply): see `protocol/binary.ts`.
   */
  binary?: Uint8Array;
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
  /** False when the frame is well formed but its payload is not a JSON object, or nests too deep. */
  payloadValid: boolean;
  /** Why the payload cannot be handled (the error reply's reason), when `payloadValid` is false. */
  problem?: typeof REASONS.invalidPayload | typeof REASONS.payloadTooDeep;
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
 * A well-formed frame whose payload (or meta) nests deeper than `maxDepth`
 * is decoded with `problem: "payload too deep"` and an empty payload, so the
 * caller can answer its ref without any handler seeing it: JSON text nested
 * some thousands deep parses, but serializing it again overflows the stack.
 *
 * @param allowMeta whether a sixth `meta` element is allowed (Plume sockets).
 * @example
 * const r = decode('["1","1","room:a","phx_join",{}]', false);
 * if (r.ok) console.log(r.message.topic); // "room:a"
 */
export function decode(text: string, allowMeta: boolean, maxDepth: number = MAX_PAYLOAD_DEPTH): DecodeResult {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    // Not JSON (or nested beyond the parser's own stack): answered with a close code, nothing to recover.
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
  const tooDeep = !withinDepth(payload, maxDepth) || (value.length === 6 && !withinDepth(meta, maxDepth));
  const valid = !tooDeep && isPayload(payload);
  const message: Message = { joinRef, ref, topic, event, payload: valid ? payload : {} };
  if (value.length === 6 && !tooDeep) message.meta = meta as Meta;
  if (valid) return { ok: true, message, payloadValid: true };
  return { ok: true, message, payloadValid: false, problem: tooDeep ? REASONS.payloadTooDeep : REASONS.invalidPayload };
}

/**
 * True when `value` nests arrays and objects at most `maxDepth` deep (a scalar is 0, `{}` is 1).
 * Iterative, so the check itself cannot overflow the stack.
 *
 * @example withinDepth({ a: [1] }, 2) // true
 */
export function withinDepth(value: unknown, maxDepth: number): boolean {
  if (typeof value !== 'object' || value === null) return true;
  const stack: unknown[] = [value];
  const depths: number[] = [1];
  while (stack.length > 0) {
    const node = stack.pop() as object;
    const depth = depths.pop()!;
    if (depth > maxDepth) return false;
    const children = Array.isArray(node) ? node : Object.values(node);
    for (const child of children) {
      if (typeof child === 'object' && child !== null) {
        stack.push(child);
        depths.push(depth + 1);
      }
    }
  }
  return true;
}

/** A frame's first four elements, read without parsing the rest. */
export interface FrameHeader {
  joinRef: string | null;
  ref: string | null;
  topic: string;
  event: string;
}

/**
 * Reads `[join_ref, ref, topic, event,` from the start of a frame's text
 * without parsing its payload, or returns null when the start is not that.
 * The server answers a frame too large to parse from this header alone.
 *
 * @example peekHeader('["1","2","room:a","msg",{"huge":"…"}]') // { joinRef: '1', ref: '2', topic: 'room:a', event: 'msg' }
 */
export function peekHeader(text: string): FrameHeader | null {
  let at = skipSpace(text, 0);
  if (text[at] !== '[') return null;
  const parts: Array<string | null> = [];
  at++;
  for (let i = 0; i < 4; i++) {
    at = skipSpace(text, at);
    let part: string | null;
    if (text.startsWith('null', at)) {
      part = null;
      at += 4;
    } else if (text[at] === '"') {
      const end = stringEnd(text, at);
      if (end === -1) return null;
      try {
        part = JSON.parse(text.slice(at, end + 1)) as string;
      } catch {
        // An invalid escape: not a frame header.
        return null;
      }
      at = end + 1;
    } else return null;
    at = skipSpace(text, at);
    if (text[at] !== ',') return null;
    at++;
    parts.push(part);
  }
  const [joinRef, ref, topic, event] = parts;
  if (!isName(topic) || !isName(event)) return null;
  return { joinRef: joinRef ?? null, ref: ref ?? null, topic, event };
}

function skipSpace(text: string, at: number): number {
  while (at < text.length && (text[at] === ' ' || text[at] === '\n' || text[at] === '\r' || text[at] === '\t')) at++;
  return at;
}

/** Index of the quote closing the JSON string opened at `start`, or -1 (looks at most 2,048 characters). */
function stringEnd(text: string, start: number): number {
  const limit = Math.min(text.length, start + 2048);
  for (let at = start + 1; at < limit; at++) {
    const c = text.charCodeAt(at);
    if (c === 0x5c) at++;
    else if (c === 0x22) return at;
  }
  return -1;
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

/**
 * Largest peer message (PROTOCOL.md §10), in characters (UTF-16 code units)
 * once reassembled: a relay never sends a longer one (its children fetch
 * such a broadcast from history), and a receiver cuts a peer that does.
 */
export const MESH_MAX_MESSAGE = 1024 * 1024;

export * from './protocol/binary';
