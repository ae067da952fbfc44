/**
 * Binary frames: Phoenix V2's binary serializer format, so a payload of
 * bytes travels as bytes (never base64), plus two kinds of Plume's own that
 * carry a `meta` (only on `plume=1` sockets). PROTOCOL.md §2 has the layout.
 *
 * | kind | direction | layout after the kind byte |
 * |---|---|---|
 * | 0 push | client → server | `joinRefLen refLen topicLen eventLen` (1 byte each), the four strings, the payload |
 * | 0 push | server → client | `joinRefLen topicLen eventLen`, the three strings, the payload |
 * | 1 reply | server → client | `joinRefLen refLen topicLen statusLen`, the strings, the response |
 * | 2 broadcast | server → client | `topicLen eventLen`, the strings, the payload |
 * | 3 Plume broadcast | server → Plume client | `topicLen eventLen metaLen` (meta length: 2 bytes, big-endian), topic, event, meta (JSON), payload |
 * | 4 Plume push | Plume client → server | `joinRefLen refLen topicLen eventLen metaLen` (2 bytes), the strings, meta (JSON), payload |
 *
 * Strings are UTF-8, at most 255 bytes. Responsible for the bytes only; a
 * decoded frame is a `Message` whose `binary` holds the payload.
 */
import { CLOSE, type DecodeResult, type Message, type Meta } from '../protocol';

/** The kind byte that starts a binary frame. */
export const BINARY_KINDS = { push: 0, reply: 1, broadcast: 2, plumeBroadcast: 3, plumePush: 4 } as const;

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

/** Thrown by the encoders when a string does not fit its 1-byte (or meta's 2-byte) length. */
export class BinaryFrameError extends Error {
  readonly code = 'binary_frame';
  constructor(message: string) {
    super(message);
    this.name = 'BinaryFrameError';
  }
}

function field(value: string, name: string, max = 255): Uint8Array {
  const bytes = encoder.encode(value);
  if (bytes.length > max) throw new BinaryFrameError(`${name} takes ${bytes.length} bytes in a binary frame, more than ${max}: shorten it`);
  return bytes;
}

/** Joins a header (kind and lengths), strings and payload into one frame. */
function assemble(header: number[], parts: Uint8Array[], payload: Uint8Array): Uint8Array {
  let length = header.length + payload.length;
  for (const part of parts) length += part.length;
  const frame = new Uint8Array(length);
  frame.set(header, 0);
  let at = header.length;
  for (const part of parts) {
    frame.set(part, at);
    at += part.length;
  }
  frame.set(payload, at);
  return frame;
}

function metaBytes(meta: Meta | string | undefined): Uint8Array | null {
  if (meta === undefined) return null;
  return field(typeof meta === 'string' ? meta : JSON.stringify(meta), 'meta', 0xffff);
}

/**
 * A client's binary push (kind 0; kind 4 when it carries `meta`).
 * @example encodePush('1', '2', 'room:a', 'blob', new Uint8Array([1, 2]), { id: 'm1' })
 */
export function encodePush(joinRef: string | null, ref: string, topic: string, event: string, payload: Uint8Array, meta?: Meta): Uint8Array {
  const strings = [field(joinRef ?? '', 'join_ref'), field(ref, 'ref'), field(topic, 'topic'), field(event, 'event')];
  const lengths = strings.map((s) => s.length);
  const m = metaBytes(meta);
  if (!m) return assemble([BINARY_KINDS.push, ...lengths], strings, payload);
  return assemble([BINARY_KINDS.plumePush, ...lengths, m.length >> 8, m.length & 0xff], [...strings, m], payload);
}

/**
 * A broadcast (kind 2; kind 3 with `metaJson`, the JSON text of its order metadata).
 * @example encodeBroadcast('room:a', 'blob', bytes, '{"epoch":"e","seq":1}')
 */
export function encodeBroadcast(topic: string, event: string, payload: Uint8Array, metaJson?: string): Uint8Array {
  const strings = [field(topic, 'topic'), field(event, 'event')];
  const m = metaBytes(metaJson);
  if (!m) return assemble([BINARY_KINDS.broadcast, strings[0]!.length, strings[1]!.length], strings, payload);
  return assemble([BINARY_KINDS.plumeBroadcast, strings[0]!.length, strings[1]!.length, m.length >> 8, m.length & 0xff], [...strings, m], payload);
}

/** A reply whose response is bytes (kind 1). @example encodeReply('1', '2', 'room:a', 'ok', bytes) */
export function encodeReply(joinRef: string | null, ref: string, topic: string, status: 'ok' | 'error', response: Uint8Array): Uint8Array {
  const strings = [field(joinRef ?? '', 'join_ref'), field(ref, 'ref'), field(topic, 'topic'), field(status, 'status')];
  return assemble([BINARY_KINDS.reply, ...strings.map((s) => s.length)], strings, response);
}

/** A server push to one socket (kind 0, no ref). @example encodeServerPush('1', 'room:a', 'blob', bytes) */
export function encodeServerPush(joinRef: string | null, topic: string, event: string, payload: Uint8Array): Uint8Array {
  const strings = [field(joinRef ?? '', 'join_ref'), field(topic, 'topic'), field(event, 'event')];
  return assemble([BINARY_KINDS.push, ...strings.map((s) => s.length)], strings, payload);
}

const failed = (reason: string): DecodeResult => ({ ok: false, code: CLOSE.badFrame, reason: `malformed binary frame: ${reason}` });

/** Reads `count` length-prefixed strings whose lengths start at `lengthsAt`, the strings right after `stringsAt`. */
function strings(bytes: Uint8Array, lengths: number[], at: number): { values: string[]; end: number } | null {
  const values: string[] = [];
  for (const length of lengths) {
    if (at + length > bytes.length) return null;
    values.push(decoder.decode(bytes.subarray(at, at + length)));
    at += length;
  }
  return { values, end: at };
}

/**
 * Decodes a binary frame a client sent (kinds 0 and, on Plume sockets, 4). Never throws: a frame that
 * breaks the layout yields a failure with close code 4400. The payload is a view into `bytes`.
 *
 * @example const r = decodeClientFrame(frame, true); if (r.ok) r.message.binary // Uint8Array
 */
export function decodeClientFrame(bytes: Uint8Array, allowMeta: boolean): DecodeResult {
  try {
    const kind = bytes[0];
    if (kind !== BINARY_KINDS.push && !(allowMeta && kind === BINARY_KINDS.plumePush)) return failed(`kind ${kind} is not a push`);
    const head = kind === BINARY_KINDS.push ? 5 : 7;
    if (bytes.length < head) return failed('shorter than its header');
    const lengths = [bytes[1]!, bytes[2]!, bytes[3]!, bytes[4]!];
    if (kind === BINARY_KINDS.plumePush) lengths.push((bytes[5]! << 8) | bytes[6]!);
    const read = strings(bytes, lengths, head);
    if (!read) return failed('a field runs past the end');
    const [joinRef, ref, topic, event, metaText] = read.values as [string, string, string, string, string | undefined];
    if (topic === '' || event === '') return failed('topic and event must not be empty');
    let meta: Meta | undefined;
    if (metaText !== undefined) {
      const parsed = JSON.parse(metaText) as unknown;
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return failed('meta must be an object');
      meta = parsed as Meta;
    }
    const message: Message = { joinRef: joinRef === '' ? null : joinRef, ref: ref === '' ? null : ref, topic, event, payload: {}, binary: bytes.subarray(read.end) };
    if (meta) message.meta = meta;
    return { ok: true, message, payloadValid: true };
  } catch {
    // Invalid UTF-8 in a field, or meta that is not JSON: the frame is malformed; nothing else to recover.
    return failed('a field is not valid UTF-8, or meta is not JSON');
  }
}

/**
 * Decodes a binary frame the server sent (kinds 0, 1, 2, 3). A reply's payload is `{status, response: {}}`
 * with the response's bytes in `binary`. Returns null for a frame that breaks the layout.
 *
 * @example const message = decodeServerFrame(new Uint8Array(event.data));
 */
export function decodeServerFrame(bytes: Uint8Array): Message | null {
  try {
    switch (bytes[0]) {
      case BINARY_KINDS.push: {
        const read = strings(bytes, [bytes[1]!, bytes[2]!, bytes[3]!], 4);
        if (!read) return null;
        const [joinRef, topic, event] = read.values as [string, string, string];
        return { joinRef: joinRef === '' ? null : joinRef, ref: null, topic, event, payload: {}, binary: bytes.subarray(read.end) };
      }
      case BINARY_KINDS.reply: {
        const read = strings(bytes, [bytes[1]!, bytes[2]!, bytes[3]!, bytes[4]!], 5);
        if (!read) return null;
        const [joinRef, ref, topic, status] = read.values as [string, string, string, string];
        return { joinRef: joinRef === '' ? null : joinRef, ref, topic, event: 'phx_reply', payload: { status, response: {} }, binary: bytes.subarray(read.end) };
      }
      case BINARY_KINDS.broadcast:
      case BINARY_KINDS.plumeBroadcast: {
        const plume = bytes[0] === BINARY_KINDS.plumeBroadcast;
        const lengths = plume ? [bytes[1]!, bytes[2]!, (bytes[3]! << 8) | bytes[4]!] : [bytes[1]!, bytes[2]!];
        const read = strings(bytes, lengths, plume ? 5 : 3);
        if (!read) return null;
        const [topic, event, metaText] = read.values as [string, string, string | undefined];
        const message: Message = { joinRef: null, ref: null, topic, event, payload: {}, binary: bytes.subarray(read.end) };
        if (metaText !== undefined) message.meta = JSON.parse(metaText) as Meta;
        return message;
      }
      default:
        return null;
    }
  } catch {
    // Not valid UTF-8 or JSON where the layout says it is: not a frame this client can read.
    return null;
  }
}
