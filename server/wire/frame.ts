/**
 * Frames as the server sends them, before any transport: the bytes of one
 * protocol frame (a V2 JSON array as UTF-8, or a binary frame), built once
 * however many sockets get it.
 *
 * Why the headroom: a transport adds its own bytes in front of a frame (a
 * WebSocket frame header, 2 to 10 bytes). Every frame is cut with room for
 * them in front, so the WebSocket transport writes its header there once
 * (`transport/websocket-frame.ts`) and sends header and frame as one buffer,
 * without copying the frame; a long-poll transport uses `data` as it is.
 * Fan-out, history and signing never see a transport's bytes.
 *
 * Responsible for building frames' bytes cheaply: from text, around bytes
 * already encoded (a broadcast's payload), or from another frame with its
 * tail replaced. Frames are cut from shared 64 KB slabs and never written
 * again once built (but for the headroom, written once by the transport
 * that owns it), so sharing one among many sockets' queues is safe.
 */
import { latin1Write, utf8Write } from '../transport/bytes';

/** Bytes reserved before every frame for a transport's header (a WebSocket header takes at most 10). */
export const HEADROOM = 10;

/**
 * One frame's bytes. `data` is a view whose `HEADROOM` bytes before it, in the same memory, belong to
 * the transport that first sends the frame; `encoded` is that transport's bytes for it, once made.
 */
export class WireFrame {
  /** A transport's encoding of this frame (the WebSocket header and `data`), made once and shared. */
  encoded: Buffer | undefined = undefined;

  constructor(
    /** The frame: UTF-8 JSON text, or a binary frame. */
    readonly data: Buffer,
    readonly binary: boolean,
  ) {}
}

/** Size of the slabs frames are cut from, and the largest frame cut from one. */
const SLAB_BYTES = 64 * 1024;
const SLAB_MAX_FRAME = 8 * 1024;
let slab = Buffer.allocUnsafeSlow(SLAB_BYTES);
let slabUsed = 0;

/**
 * Uninitialized bytes: `HEADROOM` then `length`. Frames are cut from 64 KB
 * slabs, freed when the last of their frames has been written (a socket that
 * falls behind gets copies). `Buffer.allocUnsafe` does the same with 8 KB
 * pools, which for 1–2 KB frames means a new ArrayBuffer every few
 * broadcasts: measured, that cost more than building the frame.
 */
function allocate(length: number): Buffer {
  const size = HEADROOM + length;
  if (size > SLAB_MAX_FRAME) return Buffer.allocUnsafeSlow(size).subarray(HEADROOM);
  if (slabUsed + size > SLAB_BYTES) {
    slab = Buffer.allocUnsafeSlow(SLAB_BYTES);
    slabUsed = 0;
  }
  const data = slab.subarray(slabUsed + HEADROOM, slabUsed + size);
  slabUsed += (size + 7) & ~7; // 8-byte aligned, as Buffer's own pool does
  return data;
}

/**
 * `text` as UTF-8 bytes, cut from the same slabs and never written again: a
 * broadcast's payload is encoded once, then copied as bytes into history and
 * into each kind of frame (`frameAround`) instead of encoded for each.
 *
 * @example textBytes('{"body":"hi"}').length // 13
 */
export function textBytes(text: string): Buffer {
  // UTF-8 takes at most 3 bytes per UTF-16 unit: that bound is reserved, and only what was written kept.
  const bound = text.length * 3;
  if (bound > SLAB_MAX_FRAME) return Buffer.from(text, 'utf8');
  if (slabUsed + bound > SLAB_BYTES) {
    slab = Buffer.allocUnsafeSlow(SLAB_BYTES);
    slabUsed = 0;
  }
  const length = utf8Write(slab, text, slabUsed);
  const bytes = slab.subarray(slabUsed, slabUsed + length);
  slabUsed += (length + 7) & ~7;
  return bytes;
}

function buildText(text: string): WireFrame {
  const data = allocate(Buffer.byteLength(text));
  utf8Write(data, text, 0);
  return new WireFrame(data, false);
}

/**
 * The last two text frames built. Fan-out hands every member the same string,
 * so one socket after another asks for the same frame: it is built for the
 * first and found here for the rest (two entries because members of a topic
 * alternate between plain and Plume frames).
 */
const recent: { text: string | undefined; frame: WireFrame | undefined; olderText: string | undefined; olderFrame: WireFrame | undefined } = {
  text: undefined,
  frame: undefined,
  olderText: undefined,
  olderFrame: undefined,
};

/**
 * The frame of a JSON text, built once for consecutive requests.
 * @example textFrame('[null,null,"room:a","msg",{}]').data.toString() // the text
 */
export function textFrame(text: string): WireFrame {
  if (text === recent.text) return recent.frame!;
  if (text === recent.olderText) return recent.olderFrame!;
  const frame = buildText(text);
  recent.olderText = recent.text;
  recent.olderFrame = recent.frame;
  recent.text = text;
  recent.frame = frame;
  return frame;
}

/**
 * The text frame of `head`, then the UTF-8 bytes `body`, then `tail`: a
 * broadcast frame around its payload's bytes (`textBytes`), with only the
 * few bytes of topic, event and metadata encoded here.
 *
 * @example frameAround('[null,null,"room:a","msg",', textBytes('{}'), ']') // the frame of '[null,null,"room:a","msg",{}]'
 */
export function frameAround(head: string, body: Uint8Array, tail: string): WireFrame {
  const headBytes = Buffer.byteLength(head);
  const data = allocate(headBytes + body.length + Buffer.byteLength(tail));
  utf8Write(data, head, 0);
  data.set(body, headBytes);
  utf8Write(data, tail, headBytes + body.length);
  return new WireFrame(data, false);
}

/**
 * A binary frame: `head` (its kind, lengths and names, `src/protocol/binary.ts`) then the payload's
 * bytes, copied once into the frame.
 *
 * @example binaryAround(new Uint8Array([2, 6, 4, ...topicAndEvent]), payload)
 */
export function binaryAround(head: Uint8Array, body: Uint8Array): WireFrame {
  const data = allocate(head.length + body.length);
  data.set(head, 0);
  data.set(body, head.length);
  return new WireFrame(data, true);
}

/**
 * The text frame of `base`'s text with its last `cut` bytes replaced by the
 * `tail` strings, one after another: the rest is copied as bytes, not encoded
 * again (a broadcast frame and its signed variant differ only in their last
 * element). The tail comes in parts, so a signed frame's fixed pieces and its
 * signature's JSON text (made once, by the signer) are written as they are
 * rather than concatenated into one string per frame.
 *
 * @example reframe(textFrame('[1,{"seq":1}]'), 2, ',"sig":{}', '}]') // the frame of '[1,{"seq":1,"sig":{}}]'
 */
export function reframe(base: WireFrame, cut: number, ...tail: string[]): WireFrame {
  return rebuilt(base, cut, tail, false);
}

/**
 * `reframe` for a tail known to be ASCII (base64url, digits, JSON punctuation): its parts are
 * measured by their length and written one byte per character, with no UTF-8 encoding.
 */
export function reframeAscii(base: WireFrame, cut: number, ...tail: string[]): WireFrame {
  return rebuilt(base, cut, tail, true);
}

function rebuilt(base: WireFrame, cut: number, tail: string[], ascii: boolean): WireFrame {
  const kept = base.data.length - cut;
  let tailBytes = 0;
  for (const part of tail) tailBytes += ascii ? part.length : Buffer.byteLength(part);
  const data = allocate(kept + tailBytes);
  // A typed-array copy: Buffer#copy's argument handling cost more than its 1 KB memcpy.
  data.set(base.data.subarray(0, kept), 0);
  let at = kept;
  for (const part of tail) at += ascii ? latin1Write(data, part, at) : utf8Write(data, part, at);
  return new WireFrame(data, base.binary);
}
