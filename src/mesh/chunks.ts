/**
 * Splitting relayed messages into data-channel-sized chunks and putting
 * them back together. A data channel message is kept at or under 16 KiB,
 * the size every WebRTC stack delivers whole.
 *
 * Responsible for framing only; what the text means is `relay.ts`'s job.
 */

/** Largest data channel message Plume sends, in bytes. */
export const MAX_CHUNK = 16 * 1024;

/**
 * Chunk frames are `["c", key, index, count, part]`. Parts are cut on
 * characters, and a character takes at most 3 UTF-8 bytes, so a part of
 * MAX_CHUNK / 3 characters fits once framed.
 */
const PART_CHARS = Math.floor((MAX_CHUNK - 128) / 3);

/** Splits `text` into data channel messages: itself when small enough, else chunk frames. */
export function split(text: string, key: string): string[] {
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
  startedAt: number;
}

/**
 * Reassembles chunked messages from one peer. Incomplete messages are
 * dropped after `timeoutMs` or when more than `maxPending` are open, so a
 * peer cannot make us hold memory forever.
 */
export class Reassembler {
  private readonly pending = new Map<string, Pending>();

  constructor(
    private readonly now: () => number,
    private readonly timeoutMs = 10_000,
    private readonly maxPending = 64,
    private readonly maxParts = 256,
  ) {}

  /**
   * Takes one data channel message; returns the whole message when complete
   * (or when it was not a chunk), null while waiting, and throws on a
   * malformed chunk (the caller treats the peer as misbehaving).
   */
  accept(text: string): string | null {
    if (!text.startsWith('["c",')) return text;
    const frame: unknown = JSON.parse(text);
    if (!Array.isArray(frame) || frame.length !== 5) throw new Error('malformed chunk');
    const [, key, index, count, part] = frame as [string, unknown, unknown, unknown, unknown];
    if (typeof key !== 'string' || typeof part !== 'string' || !Number.isInteger(index) || !Number.isInteger(count)) throw new Error('malformed chunk');
    if ((count as number) < 2 || (count as number) > this.maxParts || (index as number) < 0 || (index as number) >= (count as number)) throw new Error('chunk out of range');
    this.expire();
    let entry = this.pending.get(key);
    if (!entry) {
      if (this.pending.size >= this.maxPending) this.pending.delete(this.pending.keys().next().value as string);
      entry = { parts: new Array(count as number), received: 0, startedAt: this.now() };
      this.pending.set(key, entry);
    }
    if (entry.parts.length !== count) throw new Error('chunk count changed');
    if (entry.parts[index as number] === undefined) entry.received++;
    entry.parts[index as number] = part;
    if (entry.received < entry.parts.length) return null;
    this.pending.delete(key);
    return entry.parts.join('');
  }

  private expire(): void {
    const cutoff = this.now() - this.timeoutMs;
    for (const [key, entry] of this.pending) {
      if (entry.startedAt >= cutoff) break;
      this.pending.delete(key);
    }
  }
}
