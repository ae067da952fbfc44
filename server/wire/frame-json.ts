/**
 * The JSON text a client sent, reused when the server broadcasts what it
 * parsed from it: a push handler that passes the client's payload (or one
 * of its members) on to a room need not have it serialized and encoded
 * again.
 *
 * Why: a relayed chat message is parsed from the client's frame, then
 * written back to JSON and to UTF-8 for the history and the members' frames,
 * text the server already had. With 2 KB payloads, skipping that second trip
 * took `npm run bench`'s 100 rooms × 10 from 378k to 506k deliveries/s
 * (alternating runs; about 10% of the server's profile, plus the garbage).
 *
 * Invisible on the wire: the text is used only when it is exactly what
 * `JSON.stringify` would write for the value being broadcast, checked
 * member by member against the live object (same keys in the same order,
 * equal strings, numbers spelled alike, no spaces, nothing extra, no
 * `toJSON`). A handler that changed anything, or a client that wrote its
 * JSON another way (spaces, `1.50`), gets the value serialized as usual,
 * so members, the history and mesh signatures see the same bytes either
 * way. The check costs one comparison per member, strings compared at
 * memory speed; it is tried only for the frame being handled, while its
 * handler runs, and only on text without a backslash, whose strings read
 * the same raw as parsed. Not responsible for decoding frames
 * (`protocol.ts`) nor for serializing values (`json.ts`).
 */

/** What a broadcast needs of its payload: the JSON text, and that text as UTF-8. */
export interface PayloadSource {
  json: string;
  bytes: Buffer;
}

const QUOTE = 0x22;
const COMMA = 0x2c;
const COLON = 0x3a;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;

/**
 * One server's view of the frame it is handling. The connection wraps a push's handler in `during`;
 * `server.broadcast` asks `sourceOf` for the payload's text.
 *
 * @example
 * frames.during(text, data, message.payload, () => handler.handleIn(event, message.payload, socket));
 * // inside: frames.sourceOf(message.payload) → { json, bytes } cut from the frame, or undefined
 */
export class FrameJson {
  // The frame in hand while its handler runs (text null: none); fields rather than an object per push.
  private text: string | null = null;
  private data: Buffer | null = null;
  private payload: object | null = null;
  /** Where the payload's text starts, once found (-1: not looked for yet; -2: the text cannot be used). */
  private start = -1;
  /** The binary payload of the frame in hand (a view into the frame nobody writes again), or null. */
  private binary: Uint8Array | null = null;

  /**
   * Runs `fn` with a binary frame's payload in hand: a broadcast of exactly those bytes keeps the view
   * instead of copying them (`binarySourceOf`).
   */
  duringBinary(payload: Uint8Array, fn: () => void): void {
    const outer = this.binary;
    this.binary = payload;
    try {
      fn();
    } finally {
      this.binary = outer;
    }
  }

  /** `value` itself when it is the binary payload in hand (as a Buffer view), otherwise undefined. */
  binarySourceOf(value: Uint8Array): Buffer | undefined {
    if (value !== this.binary) return undefined;
    return Buffer.isBuffer(value) ? value : Buffer.from(value.buffer, value.byteOffset, value.length);
  }

  /**
   * Runs `fn` with a frame in hand: `text`, decoded from `data`, must be valid JSON (it was parsed into
   * the frame whose payload is `payload`).
   */
  during(text: string, data: Buffer, payload: object, fn: () => void): void {
    const { text: outerText, data: outerData, payload: outerPayload, start: outerStart } = this;
    this.text = text;
    this.data = data;
    this.payload = payload;
    this.start = -1;
    try {
      fn();
    } finally {
      this.text = outerText;
      this.data = outerData;
      this.payload = outerPayload;
      this.start = outerStart;
    }
  }

  /**
   * The JSON text of `value` cut from the frame in hand, with its UTF-8 bytes, when `value` is the
   * frame's payload or one of its members and still reads exactly as that text; otherwise undefined.
   */
  sourceOf(value: object): PayloadSource | undefined {
    const { text, payload } = this;
    if (text === null || payload === null) return undefined;
    if (this.start === -1) this.start = payloadStart(text);
    let start = this.start;
    if (start < 0) return undefined;
    if (value !== payload) {
      start = memberStart(text, start, payload, value);
      if (start < 0) return undefined;
    }
    let end: number;
    try {
      end = match(value, text, start);
    } catch {
      // Nesting deeper than the stack (JSON.parse took it, being iterative): JSON.stringify cannot
      // write it either, and the caller's serialization reports that in its own words.
      return undefined;
    }
    if (end < 0) return undefined;
    const json = text.slice(start, end);
    // All ASCII (as many bytes as characters, in UTF-8 that ws has validated): a character's index is its byte's.
    const data = this.data!;
    const bytes = data.length === text.length ? data.subarray(start, end) : Buffer.from(json, 'utf8');
    return { json, bytes };
  }
}

/** Where the fifth element (the payload) of a frame's array starts, or -2 when the text cannot be used. */
function payloadStart(text: string): number {
  // Without a backslash, no string has an escape: each ends at the next quote and reads raw as parsed.
  if (text.indexOf('\\') !== -1) return -2;
  let i = space(text, 0);
  if (text.charCodeAt(i) !== OPEN_BRACKET) return -2;
  i++;
  for (let element = 0; element < 4; element++) {
    i = skip(text, space(text, i));
    if (i < 0) return -2;
    i = space(text, i);
    if (text.charCodeAt(i) !== COMMA) return -2;
    i++;
  }
  return space(text, i);
}

/** Where the text of `value`, a member of `object` (whose text starts at `i`), starts, or -1. */
function memberStart(text: string, i: number, object: object, value: object): number {
  if (text.charCodeAt(i) !== OPEN_BRACE) return -1;
  i = space(text, i + 1);
  while (text.charCodeAt(i) === QUOTE) {
    const keyEnd = text.indexOf('"', i + 1);
    const key = text.slice(i + 1, keyEnd);
    i = space(text, keyEnd + 1);
    if (text.charCodeAt(i) !== COLON) return -1;
    i = space(text, i + 1);
    if ((object as Record<string, unknown>)[key] === value) return i;
    i = skip(text, i);
    if (i < 0) return -1;
    i = space(text, i);
    if (text.charCodeAt(i) !== COMMA) return -1;
    i = space(text, i + 1);
  }
  return -1;
}

/**
 * Where the JSON text starting at `i` ends, if it is exactly what `JSON.stringify(value)` writes
 * (the same members in the same order, strings equal, numbers spelled alike, no spaces); -1 otherwise.
 */
function match(value: unknown, text: string, i: number): number {
  const c = text.charCodeAt(i);
  if (c === QUOTE) {
    if (typeof value !== 'string') return -1;
    const end = text.indexOf('"', i + 1);
    // A length check first: most mismatches cost nothing; equal strings compare at memory speed.
    return end - i - 1 === value.length && text.slice(i + 1, end) === value ? end + 1 : -1;
  }
  if (c === OPEN_BRACE) return matchObject(value, text, i);
  if (c === OPEN_BRACKET) return matchArray(value, text, i);
  // JSON.stringify writes a finite number as String does, and NaN and the infinities as null.
  const written = value === null ? 'null' : typeof value === 'boolean' ? String(value) : typeof value === 'number' && Number.isFinite(value) ? String(value) : null;
  // A longer token ("12" for 1) fails in the container, which expects a comma or its end next.
  return written !== null && text.startsWith(written, i) ? i + written.length : -1;
}

function matchObject(value: unknown, text: string, i: number): number {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return -1;
  // toJSON (own or inherited, as on a Date) makes JSON.stringify write something else.
  if (typeof (value as { toJSON?: unknown }).toJSON === 'function') return -1;
  i++;
  let first = true;
  // for-in visits own keys first, in the order JSON.stringify writes them; inherited ones it leaves out.
  for (const key in value) {
    if (!Object.hasOwn(value, key)) continue;
    if (!first) {
      if (text.charCodeAt(i) !== COMMA) return -1;
      i++;
    }
    first = false;
    const colon = i + key.length + 2;
    // The key's closing quote must be the first one after its opening quote: a key holding a quote
    // would otherwise match across the text of several members.
    if (text.charCodeAt(i) !== QUOTE || text.indexOf('"', i + 1) !== colon - 1 || text.charCodeAt(colon) !== COLON || !text.startsWith(key, i + 1)) return -1;
    i = match((value as Record<string, unknown>)[key], text, colon + 1);
    if (i < 0) return -1;
  }
  // Anything but the closing brace is a member the value does not have (or text JSON.stringify would not write).
  return text.charCodeAt(i) === CLOSE_BRACE ? i + 1 : -1;
}

function matchArray(value: unknown, text: string, i: number): number {
  if (!Array.isArray(value) || typeof (value as { toJSON?: unknown }).toJSON === 'function') return -1;
  i++;
  for (let k = 0; k < value.length; k++) {
    if (k > 0) {
      if (text.charCodeAt(i) !== COMMA) return -1;
      i++;
    }
    i = match(value[k], text, i);
    if (i < 0) return -1;
  }
  return text.charCodeAt(i) === CLOSE_BRACKET ? i + 1 : -1;
}

/** Where the JSON value starting at `i` ends, without looking at what it means; -1 on text that is not one. */
function skip(text: string, i: number): number {
  const c = text.charCodeAt(i);
  if (c === QUOTE) {
    const end = text.indexOf('"', i + 1);
    return end < 0 ? -1 : end + 1;
  }
  if (c !== OPEN_BRACE && c !== OPEN_BRACKET) {
    let end = i;
    for (let d = c; d === d && d !== COMMA && d !== CLOSE_BRACE && d !== CLOSE_BRACKET && d > 0x20; d = text.charCodeAt(++end));
    return end > i ? end : -1;
  }
  let depth = 0;
  for (let j = i; j < text.length; j++) {
    const d = text.charCodeAt(j);
    if (d === QUOTE) j = text.indexOf('"', j + 1);
    else if (d === OPEN_BRACE || d === OPEN_BRACKET) depth++;
    else if ((d === CLOSE_BRACE || d === CLOSE_BRACKET) && --depth === 0) return j + 1;
    if (j < 0) return -1;
  }
  return -1;
}

/** The first index at or after `i` that is not JSON whitespace. */
function space(text: string, i: number): number {
  for (let c = text.charCodeAt(i); c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09; c = text.charCodeAt(++i));
  return i;
}
