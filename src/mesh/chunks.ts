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

interface Pending {
  parts: Array<string | undefined>;
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
    if ((count as number) < 2 || (count as number) > this.maxParts || (index as number) < 0 || (index as number) >= (count as number)) throw new ChunkError('chunk out of range');
    this.expire();
    const entry = this.entry(key, count as number);
    if (entry.parts.length !== count) throw new ChunkError('chunk count changed');
    const before = entry.parts[index as number];
    if (before === undefined) entry.received++;
    const grows = part.length - (before?.length ?? 0);
    if (entry.chars + grows > MESH_MAX_MESSAGE) throw new ChunkError(`a message over ${MESH_MAX_MESSAGE} characters`);
    if (this.heldChars + grows > this.maxHeld) throw new ChunkError(`over ${this.maxHeld} characters waiting for their other parts`);
    entry.parts[index as number] = part;
    entry.chars += grows;
    this.heldChars += grows;
    if (entry.received < entry.parts.length) return null;
    this.drop(key, entry);
    return entry.parts.join('');
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
