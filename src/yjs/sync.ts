/**
 * The `plume:doc` messages of PROTOCOL.md §11, as the client and the server
 * (its extension and its y-websocket bridge) write and read them: a sync
 * request (state vector), its answer (the server's state vector and what
 * the client lacks), updates, and the parts of updates too large for a frame.
 */
import { EXTENSION_EVENTS } from '../protocol';

/** The event of document messages and of the topic's document broadcasts. */
export const DOC_EVENT = EXTENSION_EVENTS.doc;

/** The first byte of a `plume:doc` payload. */
export const DOC_OPS = { sync: 0x00, synced: 0x01, update: 0x02, part: 0x03 } as const;

/** Bytes of a part's header: the op, the update's total length and the part's offset (4 bytes each, big-endian). */
export const PART_HEADER = 9;

/**
 * A part of an update too large for one frame (PROTOCOL.md §11, updates in parts): `body` is the update's
 * bytes from `offset`, of `total` in all. @example withPart(update.length, 0, update.subarray(0, 32_000))
 */
export function withPart(total: number, offset: number, body: Uint8Array): Uint8Array {
  const bytes = new Uint8Array(PART_HEADER + body.length);
  const view = new DataView(bytes.buffer);
  bytes[0] = DOC_OPS.part;
  view.setUint32(1, total);
  view.setUint32(5, offset);
  bytes.set(body, PART_HEADER);
  return bytes;
}

/** A payload of `op` then `body`. @example withOp(DOC_OPS.update, update) */
export function withOp(op: number, body: Uint8Array): Uint8Array {
  const bytes = new Uint8Array(1 + body.length);
  bytes[0] = op;
  bytes.set(body, 1);
  return bytes;
}

/** Reads a sync answer: the server's state vector and the update this client lacks; null when malformed. */
export function readSynced(bytes: Uint8Array): { stateVector: Uint8Array; missing: Uint8Array } | null {
  if (bytes.length < 5 || bytes[0] !== DOC_OPS.synced) return null;
  const length = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(1);
  if (5 + length > bytes.length) return null;
  return { stateVector: bytes.subarray(5, 5 + length), missing: bytes.subarray(5 + length) };
}
