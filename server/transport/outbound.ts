/**
 * Outgoing frames of one socket: queued as ready-made WebSocket frames and
 * written once per event-loop turn, with a bound on what may wait.
 *
 * Why: a broadcast to N members used to cost N `ws.send` calls, each one a
 * UTF-8 copy, a frame header, and a write system call. Here the frame for a
 * given text is built once however many sockets get it (`frameOf`), each
 * socket's frames of one turn leave in one write (`flushAll`, run from
 * `setImmediate`, so everything the I/O phase produced is coalesced), and a
 * socket whose peer stops reading has its owner closed with 4429 once its
 * unsent bytes pass `limit`, instead of growing without bound.
 *
 * Responsible for framing server text frames (FIN, unmasked), ordering (one
 * queue per socket, written in order) and the byte bound. Not responsible
 * for how a socket closes (its owner, the connection, does that), for
 * control frames (`ws` still writes pongs and the close frame itself), or
 * for anything a frame means. Kept small: one lives as long as its socket.
 */
import type { Duplex } from 'node:stream';
import type { WebSocket } from 'ws';
import { CLOSE } from '../../src/protocol';
import { latin1Write, utf8Write } from './bytes';

/** Queued bytes that make a socket write at once instead of at the end of the turn. */
const FLUSH_BYTES = 64 * 1024;

/**
 * Average frame size below which a turn's frames are copied into one buffer
 * before the write; larger frames go to the kernel as they are, in one
 * vectored write (copying them cost more than the write itself, measured
 * with 2 KB payloads; for 200-byte ones the copy is the cheaper of the two).
 */
const COPY_BELOW = 1024;

/** Who is closed when the socket goes over its limit: its connection. */
export interface OutboundOwner {
  close(code: number, reason: string): void;
}

/** Bits of `Outbound.flags`. */
const SCHEDULED = 1;
/** Over the limit: frames are dropped from then on. */
const OVERFLOWED = 2;
/** The owner was closed for it. */
const REPORTED = 4;
/** A reply is queued: the socket is written after those without one (see `flushAll`). */
const REPLIES = 8;

/** Builds an unmasked, final text frame around `text`. */
function buildFrame(text: string): Buffer {
  const length = Buffer.byteLength(text);
  const frame = frameWithHeader(length);
  utf8Write(frame, text, frame.length - length);
  return frame;
}

/** Size of the slabs frames are cut from, and the largest frame cut from one. */
const SLAB_BYTES = 64 * 1024;
const SLAB_MAX_FRAME = 8 * 1024;
let slab = Buffer.allocUnsafeSlow(SLAB_BYTES);
let slabUsed = 0;

/**
 * Uninitialized bytes for one frame. Frames are cut from 64 KB slabs and
 * never written again once built, so a slab is freed when the last of its
 * frames has been written (a socket that falls behind gets copies, see
 * `write`). `Buffer.allocUnsafe` does the same with 8 KB pools, which for
 * 1–2 KB frames means a new ArrayBuffer every few broadcasts: measured, that
 * cost more than building the frame.
 */
function allocFrame(size: number): Buffer {
  if (size > SLAB_MAX_FRAME) return Buffer.allocUnsafeSlow(size);
  if (slabUsed + size > SLAB_BYTES) {
    slab = Buffer.allocUnsafeSlow(SLAB_BYTES);
    slabUsed = 0;
  }
  const frame = slab.subarray(slabUsed, slabUsed + size);
  slabUsed += (size + 7) & ~7; // 8-byte aligned, as Buffer's own pool does
  return frame;
}

/**
 * `text` as UTF-8 bytes, cut from the same slabs as frames and never written
 * again: a broadcast's payload is encoded once, then copied as bytes into
 * history and into each kind of frame (`frameAround`) instead of encoded
 * for each of them.
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

/**
 * The text frame of `head`, then the UTF-8 bytes `body`, then `tail`: a
 * broadcast frame around its payload's bytes (`textBytes`), with only the
 * few bytes of topic, event and metadata encoded here.
 *
 * @example frameAround('[null,null,"room:a","msg",', textBytes('{}'), ']') // the frame of '[null,null,"room:a","msg",{}]'
 */
export function frameAround(head: string, body: Uint8Array, tail: string): Buffer {
  const headBytes = Buffer.byteLength(head);
  const tailBytes = Buffer.byteLength(tail);
  const frame = frameWithHeader(headBytes + body.length + tailBytes);
  const start = frame.length - headBytes - body.length - tailBytes;
  utf8Write(frame, head, start);
  frame.set(body, start + headBytes);
  utf8Write(frame, tail, start + headBytes + body.length);
  return frame;
}

/** An unfilled text frame for `length` bytes of text, its header written. */
function frameWithHeader(length: number): Buffer {
  const head = length < 126 ? 2 : length < 65536 ? 4 : 10;
  const frame = allocFrame(head + length);
  frame[0] = 0x81;
  if (head === 2) {
    frame[1] = length;
  } else if (head === 4) {
    frame[1] = 126;
    frame.writeUInt16BE(length, 2);
  } else {
    frame[1] = 127;
    frame.writeUInt32BE(Math.floor(length / 2 ** 32), 2);
    frame.writeUInt32BE(length >>> 0, 6);
  }
  return frame;
}

/**
 * The frame of `base`'s text with its last `cut` bytes replaced by the
 * `tail` strings, one after another: the rest of the text is copied as
 * bytes, not encoded again (a broadcast frame and its signed variant differ
 * only in their last element). The tail comes in parts, so a signed frame's
 * fixed pieces and its signature's JSON text (made once, by the signer) are
 * written as they are rather than concatenated into one string per frame.
 *
 * @example reframe(frameOf('[1,{"seq":1}]'), 2, ',"sig":{}', '}]') // the frame of '[1,{"seq":1,"sig":{}}]'
 */
export function reframe(base: Buffer, cut: number, ...tail: string[]): Buffer {
  return rebuilt(base, cut, tail, false);
}

/**
 * `reframe` for a tail known to be ASCII (base64url, digits, JSON punctuation): its parts are
 * measured by their length and written one byte per character, with no UTF-8 encoding.
 */
export function reframeAscii(base: Buffer, cut: number, ...tail: string[]): Buffer {
  return rebuilt(base, cut, tail, true);
}

function rebuilt(base: Buffer, cut: number, tail: string[], ascii: boolean): Buffer {
  const head = base[1]! < 126 ? 2 : base[1] === 126 ? 4 : 10;
  const kept = base.length - head - cut;
  let tailBytes = 0;
  for (const part of tail) tailBytes += ascii ? part.length : Buffer.byteLength(part);
  const frame = frameWithHeader(kept + tailBytes);
  let at = frame.length - kept - tailBytes;
  // A typed-array copy: Buffer#copy's argument handling cost more than its 1 KB memcpy.
  frame.set(base.subarray(head, head + kept), at);
  at += kept;
  for (const part of tail) at += ascii ? latin1Write(frame, part, at) : utf8Write(frame, part, at);
  return frame;
}

/**
 * The last two frames built, by text. Fan-out hands every member the same
 * string, so one socket after another asks for the same frame: it is built
 * for the first and found here for the rest (two entries because members of
 * a topic alternate between plain and Plume frames). Frames are never
 * modified after they are built, so sharing one buffer among queues is safe.
 */
const recent: { text: string | undefined; frame: Buffer; olderText: string | undefined; olderFrame: Buffer } = {
  text: undefined,
  frame: Buffer.alloc(0),
  olderText: undefined,
  olderFrame: Buffer.alloc(0),
};

/** The WebSocket frame for `text`, built once for consecutive requests. */
export function frameOf(text: string): Buffer {
  if (text === recent.text) return recent.frame;
  if (text === recent.olderText) return recent.olderFrame;
  const frame = buildFrame(text);
  recent.olderText = recent.text;
  recent.olderFrame = recent.frame;
  recent.text = text;
  recent.frame = frame;
  return frame;
}

/** Outbounds with frames waiting, flushed together at the end of the turn. */
let dirty: Outbound[] = [];
let flushScheduled = false;
/** Work that completes frames of this turn (batch signing), run before the turn's writes. */
const beforeWrites = new Set<() => void>();

/**
 * Runs `task` at the end of every turn, before that turn's frames are
 * written, so frames it releases (broadcasts waiting for their batch
 * signature) leave in the same write as the rest instead of one turn later.
 * Returns the function that removes it.
 *
 * @example const remove = beforeWrite(() => signer.flush());
 */
export function beforeWrite(task: () => void): () => void {
  beforeWrites.add(task);
  return () => beforeWrites.delete(task);
}

/** Flushes one socket; every other socket still gets its frames if it throws (the first failure is kept). */
function flushOne(outbound: Outbound, failure: unknown): unknown {
  try {
    outbound.flush();
  } catch (error) {
    return failure ?? error;
  }
  return failure;
}

function flushAll(): void {
  let failure: unknown;
  // Still marked scheduled while the tasks run: what they send joins this flush. A task that throws
  // must not keep the turn's frames from being written.
  for (const task of beforeWrites) {
    try {
      task();
    } catch (error) {
      failure ??= error;
    }
  }
  flushScheduled = false;
  const batch = dirty;
  dirty = [];
  // Overflowed sockets are closed only here, never from inside a send: closing runs application
  // callbacks (terminate) that may broadcast, and a broadcast nested in another one's fan-out
  // would reach the remaining members before the one being delivered.
  // Sockets carrying a reply go last: an acknowledgement leaves only after the broadcast it
  // acknowledges was handed to the OS for every other member here. A crash between the two writes
  // then leaves the message unacknowledged (its sender sends it again, deduplicated by id) rather
  // than acknowledged and undelivered, with no history left to recover it from. (A socket that
  // queues 64 KiB in one turn still writes at once, reply or not: holding a large join replay back
  // could push it over its limit.)
  const replying: Outbound[] = [];
  for (const outbound of batch) {
    if (outbound.replying) replying.push(outbound);
    else failure = flushOne(outbound, failure);
  }
  for (const outbound of replying) failure = flushOne(outbound, failure);
  if (failure !== undefined) throw failure;
}

/**
 * @example
 * const out = new Outbound(ws, request.socket, 4 * 1024 * 1024, connection);
 * out.send('[null,null,"room:a","msg",{}]'); // written with everything else at the end of this turn
 */
export class Outbound {
  private queue: Buffer[] | null = null;
  private queued = 0;
  private flags = 0;
  private readonly ws: WebSocket;
  private readonly socket: Duplex;
  private readonly limit: number;
  private readonly owner: OutboundOwner;

  /**
   * @param socket the upgraded socket under `ws` (`request.socket`): frames are written to it directly.
   * @param owner closed with 4429 at the end of the turn in which the socket went over `limit`.
   */
  constructor(ws: WebSocket, socket: Duplex, limit: number, owner: OutboundOwner) {
    this.ws = ws;
    this.socket = socket;
    this.limit = limit;
    this.owner = owner;
  }

  /** True when a reply is queued this turn. */
  get replying(): boolean {
    return (this.flags & REPLIES) !== 0;
  }

  /** Bytes waiting: queued this turn plus what the socket could not hand to the OS yet. */
  get pendingBytes(): number {
    return this.queued + this.socket.writableLength;
  }

  /**
   * Queues one text frame (its text, or the whole frame already built); after an overflow, frames
   * are dropped (the socket is about to close). A frame larger than the limit still goes out when
   * nothing else waits: the bound is on backlog.
   */
  send(text: string | Buffer, reply = false): void {
    if (this.flags & OVERFLOWED) return;
    if (reply) this.flags |= REPLIES;
    const frame = typeof text === 'string' ? frameOf(text) : text;
    const pending = this.queued + this.socket.writableLength;
    if (pending > 0 && pending + frame.length > this.limit) return this.overflow();
    if (this.queue === null) this.queue = [frame];
    else this.queue.push(frame);
    this.queued += frame.length;
    if (this.queued >= FLUSH_BYTES) this.write();
    this.schedule();
  }

  /** Writes what is queued now, in one write. */
  flush(): void {
    this.flags &= ~(SCHEDULED | REPLIES);
    if (!(this.flags & OVERFLOWED)) return this.write();
    if (this.flags & REPORTED) return;
    this.flags |= REPORTED;
    this.owner.close(CLOSE.slowConsumer, 'slow consumer');
  }

  /** Drops what is queued (the socket closed under us). */
  discard(): void {
    this.queue = null;
    this.queued = 0;
  }

  private write(): void {
    const queue = this.queue;
    if (queue === null) return;
    this.queue = null;
    const bytes = this.queued;
    this.queued = 0;
    // Once the close handshake began, no data frame may follow the close frame.
    if (this.ws.readyState !== this.ws.OPEN || this.socket.destroyed) return;
    if (this.socket.writableLength > 0) {
      // The socket is behind: what it is given now waits in memory until its peer reads. Copied out
      // of the shared slabs, so a stalled reader holds its own bytes (bounded by the limit), not a
      // 64 KB slab for every small frame it has not read.
      this.socket.write(Buffer.concat(queue, bytes));
    } else if (queue.length === 1) {
      this.socket.write(queue[0] as Buffer);
    } else if (bytes < queue.length * COPY_BELOW) {
      this.socket.write(Buffer.concat(queue, bytes));
    } else {
      this.socket.cork();
      for (const frame of queue) this.socket.write(frame);
      this.socket.uncork();
    }
  }

  private overflow(): void {
    this.flags |= OVERFLOWED;
    this.discard();
    this.schedule();
  }

  private schedule(): void {
    if (this.flags & SCHEDULED) return;
    this.flags |= SCHEDULED;
    dirty.push(this);
    if (flushScheduled) return;
    flushScheduled = true;
    setImmediate(flushAll);
  }
}
