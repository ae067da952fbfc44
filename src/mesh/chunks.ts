/**
 * Splitting relayed messages into data-channel-sized chunks and putting
 * them back together. A data channel message is kept at or under 16 KiB,
 * the size every WebRTC stack delivers whole.
 *
 * Responsible for framing, and for bounding what a peer can make us hold
 * (PROTOCOL.md §10, peer messages): a data channel message over 16 KiB
 * (which bounds each part), a message longer than MESH_MAX_MESSAGE, or more
 * than `maxHeld` characters waiting for their other parts is the peer
 * misbehaving, and `accept` throws so that the peer is cut. What the
 * text means is `relay.ts`'s job.
 */
import { MESH_MAX_MESSAGE } from '../protocol';

/** Largest data channel message Plume sends, in bytes. */
export const MAX_CHUNK = 16 * 1024;

/** Characters of all incomplete messages from one peer held at once: two of the largest. */
export const MAX_HELD = 2 * MESH_MAX_MESSAGE;

/**
 * Chunk frames are `["c", key, index, count, part]`. Parts are cut on
 * characters, and a character takes at most 3 UTF-8 bytes, so a part of
 * MAX_CHUNK / 3 characters fits once framed.
 */
const PART_CHARS = Math.floor((MAX_CHUNK - 128) / 3);

/**
 * Splits `text` into data channel messages: itself when small enough, else
 * chunk frames; null when it is longer than MESH_MAX_MESSAGE characters
 * (peers would cut us for it: such a broadcast is left to history).
 */
export function split(text: string, key: string): string[] | null {
  if (text.length > MESH_MAX_MESSAGE) return null;
  if (utf8Length(text) <= MAX_CHUNK) return [text];
  const count = Math.ceil(text.length / PART_CHARS);
  const parts: string[] = [];
  for (let i = 0; i < count; i++) parts.push(JSON.stringify(['c', key, i, count, text.slice(i * PART_CHARS, (i + 1) * PART_CHARS)]));
  return parts;
}

function utf8Length(text: string): number {
  // Cheap bound first: every UTF-16 unit is at most 3 UTF-8 bytes.
  if (text.length * 3 <= MAX_CHUNK) return text.length;
  return new TextEncoder().encode(text).length;
}

/**
 * Binary data channel messages are chunks: `0x01`, the key's length (1 byte), the key (ASCII), the
 * index and the count (2 bytes each, big-endian), then the part. A small message is one chunk of one.
 */
const BINARY_CHUNK = 0x01;

/**
 * Splits bytes into binary chunks of at most MAX_CHUNK bytes each (one for a small message); null when
 * longer than MESH_MAX_MESSAGE bytes (left to history, as for text).
 *
 * @example splitBytes(new Uint8Array(40_000), '7').length // 3
 */
export function splitBytes(bytes: Uint8Array, key: string): Uint8Array[] | null {
  if (bytes.length > MESH_MAX_MESSAGE) return null;
  const keyBytes = new TextEncoder().encode(key).subarray(0, 32);
  const head = 6 + keyBytes.length;
  const partBytes = MAX_CHUNK - head;
  const count = Math.max(1, Math.ceil(bytes.length / partBytes));
  const parts: Uint8Array[] = [];
  for (let i = 0; i < count; i++) {
    const part = bytes.subarray(i * partBytes, (i + 1) * partBytes);
    const chunk = new Uint8Array(head + part.length);
    chunk[0] = BINARY_CHUNK;
    chunk[1] = keyBytes.length;
    chunk.set(keyBytes, 2);
    const view = new DataView(chunk.buffer);
    view.setUint16(2 + keyBytes.length, i);
    view.setUint16(4 + keyBytes.length, count);
    chunk.set(part, head);
    parts.push(chunk);
  }
  return parts;
}

interface Pending {
  parts: Array<string | Uint8Array | undefined>;
  received: number;
  /** Characters of the parts received. */
  chars: number;
  startedAt: number;
}

/** A peer sent a data channel message no honest sender sends; the caller cuts the peer. */
export class ChunkError extends Error {
  readonly code = 'bad_chunk';

  constructor(message: string) {
    super(message);
    this.name = 'ChunkError';
  }
}

/**
 * Reassembles chunked messages from one peer. Incomplete messages are
 * dropped after `timeoutMs` or when more than `maxPending` are open, so a
 * peer cannot make us hold memory forever; and what they hold is capped
 * (per part, per message, and `maxHeld` in all).
 */
export class Reassembler {
  private readonly pending = new Map<string, Pending>();
  /** Characters held in incomplete messages. */
  private heldChars = 0;

  constructor(
    private readonly now: () => number,
    private readonly timeoutMs = 10_000,
    private readonly maxPending = 64,
    private readonly maxParts = 256,
    private readonly maxHeld = MAX_HELD,
  ) {}

  /** Characters held in incomplete messages now. */
  get held(): number {
    return this.heldChars;
  }

  /**
   * Takes one data channel message; returns the whole message when complete
   * (or when it was not a chunk), null while waiting, and throws a
   * `ChunkError` on a malformed or oversized one (the caller cuts the peer).
   */
  accept(text: string): string | null {
    // A character takes at least one byte: more characters than MAX_CHUNK bytes is more bytes too.
    if (text.length > MAX_CHUNK) throw new ChunkError(`a data channel message of ${text.length} characters, over ${MAX_CHUNK} bytes`);
    if (!text.startsWith('["c",')) return text;
    const frame: unknown = JSON.parse(text);
    if (!Array.isArray(frame) || frame.length !== 5) throw new ChunkError('malformed chunk');
    const [, key, index, count, part] = frame as [string, unknown, unknown, unknown, unknown];
    if (typeof key !== 'string' || typeof part !== 'string' || !Number.isInteger(index) || !Number.isInteger(count)) throw new ChunkError('malformed chunk');
    if ((count as number) < 2) throw new ChunkError('chunk out of range');
    const parts = this.add(`t${key}`, index as number, count as number, part);
    return parts && (parts as string[]).join('');
  }

  /**
   * Takes one binary data channel message (a binary chunk, `splitBytes`); returns the whole message
   * when complete, null while waiting, and throws a `ChunkError` on a malformed or oversized one.
   * Bytes count against the same caps as characters.
   */
  acceptBytes(bytes: Uint8Array): Uint8Array | null {
    if (bytes.length > MAX_CHUNK) throw new ChunkError(`a data channel message of ${bytes.length} bytes, over ${MAX_CHUNK}`);
    if (bytes.length < 6 || bytes[0] !== BINARY_CHUNK || bytes.length < 6 + bytes[1]!) throw new ChunkError('malformed chunk');
    const keyLength = bytes[1]!;
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const index = view.getUint16(2 + keyLength);
    const count = view.getUint16(4 + keyLength);
    const part = bytes.subarray(6 + keyLength);
    if (count === 1 && index === 0) {
      if (part.length > MESH_MAX_MESSAGE) throw new ChunkError(`a message over ${MESH_MAX_MESSAGE} bytes`);
      return part;
    }
    const key = `b${String.fromCharCode(...bytes.subarray(2, 2 + keyLength))}`;
    const parts = this.add(key, index, count, part.slice());
    if (!parts) return null;
    const whole = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of parts as Uint8Array[]) {
      whole.set(p, at);
      at += p.length;
    }
    return whole;
  }

  /** Files one part of message `key`; returns every part once the message is complete, else null. */
  private add(key: string, index: number, count: number, part: string | Uint8Array): Array<string | Uint8Array> | null {
    if (count < 1 || count > this.maxParts || index < 0 || index >= count) throw new ChunkError('chunk out of range');
    this.expire();
    const entry = this.entry(key, count);
    if (entry.parts.length !== count) throw new ChunkError('chunk count changed');
    const before = entry.parts[index];
    if (before === undefined) entry.received++;
    const grows = part.length - (before?.length ?? 0);
    if (entry.chars + grows > MESH_MAX_MESSAGE) throw new ChunkError(`a message over ${MESH_MAX_MESSAGE} characters`);
    if (this.heldChars + grows > this.maxHeld) throw new ChunkError(`over ${this.maxHeld} characters waiting for their other parts`);
    entry.parts[index] = part;
    entry.chars += grows;
    this.heldChars += grows;
    if (entry.received < entry.parts.length) return null;
    this.drop(key, entry);
    return entry.parts as Array<string | Uint8Array>;
  }

  /** The incomplete message `key`, opened (evicting the oldest beyond `maxPending`) if new. */
  private entry(key: string, count: number): Pending {
    let entry = this.pending.get(key);
    if (entry) return entry;
    if (this.pending.size >= this.maxPending) {
      const [oldKey, oldest] = this.pending.entries().next().value as [string, Pending];
      this.drop(oldKey, oldest);
    }
    entry = { parts: new Array(count), received: 0, chars: 0, startedAt: this.now() };
    this.pending.set(key, entry);
    return entry;
  }

  private drop(key: string, entry: Pending): void {
    this.pending.delete(key);
    this.heldChars -= entry.chars;
  }

  private expire(): void {
    const cutoff = this.now() - this.timeoutMs;
    for (const [key, entry] of this.pending) {
      if (entry.startedAt >= cutoff) break;
      this.drop(key, entry);
    }
  }
}
