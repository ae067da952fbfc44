/**
 * The `plume:doc` messages of PROTOCOL.md §11, as the client writes and
 * reads them: a sync request (state vector), its answer (the server's state
 * vector and what this client lacks), and updates.
 */
import { EXTENSION_EVENTS } from '../protocol';

/** The event of document messages and of the topic's document broadcasts. */
export const DOC_EVENT = EXTENSION_EVENTS.doc;

/** The first byte of a `plume:doc` payload. */
export const DOC_OPS = { sync: 0x00, synced: 0x01, update: 0x02 } as const;

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
