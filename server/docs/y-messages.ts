/**
 * The y-websocket wire (y-protocols' sync, awareness and auth messages) as
 * the `/yjs/<room>` endpoint reads and writes it (PROTOCOL.md §11,
 * y-websocket clients). Every message is a varint type, then its body:
 *
 * | type | body |
 * |---|---|
 * | 0 sync | a varint step (0 state vector, 1 update "step 2", 2 update), then varint-length bytes |
 * | 1 awareness | varint-length bytes: an awareness update (count, then per client: id, clock, JSON state) |
 * | 2 auth | varint 0 (permission denied), then a varint-length UTF-8 reason |
 * | 3 query awareness | nothing |
 *
 * Responsible for decoding defensively (a malformed message is reported,
 * never thrown) and encoding. Not responsible for what a message does.
 */
import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';

/** Message types of the y-websocket protocol. */
export const Y_MESSAGE = { sync: 0, awareness: 1, auth: 2, queryAwareness: 3 } as const;

/** Sync steps (y-protocols/sync). */
export const Y_SYNC = { step1: 0, step2: 1, update: 2 } as const;

/** A message a y-websocket client sent, decoded. */
export type YMessage =
  | { type: 'step1'; stateVector: Uint8Array }
  | { type: 'update'; update: Uint8Array; step2: boolean }
  | { type: 'awareness'; update: Uint8Array; clients: AwarenessEntry[] }
  | { type: 'auth' }
  | { type: 'queryAwareness' };

/** One client's entry in an awareness update. */
export interface AwarenessEntry {
  clientID: number;
  clock: number;
  /** The client's state as JSON text: `null` when the entry removes the client. */
  state: string;
}

/**
 * Decodes a message; returns a string saying what is wrong with a malformed one.
 * @example readMessage(new Uint8Array([0, 0, 1, 0])) // { type: 'step1', stateVector: Uint8Array [0] }
 */
export function readMessage(bytes: Uint8Array): YMessage | string {
  try {
    const decoder = decoding.createDecoder(bytes);
    const message = readBody(decoder);
    if (typeof message === 'string') return message;
    if (decoding.hasContent(decoder)) return 'malformed message: bytes after its end';
    return message;
  } catch {
    // lib0 throws when a varint or a length runs past the end: the message is cut or garbage.
    return 'malformed message: cut short';
  }
}

function readBody(decoder: decoding.Decoder): YMessage | string {
  const type = decoding.readVarUint(decoder);
  switch (type) {
    case Y_MESSAGE.sync: {
      const step = decoding.readVarUint(decoder);
      const body = decoding.readVarUint8Array(decoder);
      if (step === Y_SYNC.step1) return { type: 'step1', stateVector: body };
      if (step === Y_SYNC.step2 || step === Y_SYNC.update) return { type: 'update', update: body, step2: step === Y_SYNC.step2 };
      return `malformed message: unknown sync step ${step}`;
    }
    case Y_MESSAGE.awareness: {
      const update = decoding.readVarUint8Array(decoder);
      const clients = readAwareness(update);
      return clients ? { type: 'awareness', update, clients } : 'malformed message: invalid awareness update';
    }
    case Y_MESSAGE.auth:
      // A client has nothing to say in auth messages; its body is read and ignored.
      decoding.readVarUint(decoder);
      decoding.readVarString(decoder);
      return { type: 'auth' };
    case Y_MESSAGE.queryAwareness:
      return { type: 'queryAwareness' };
    default:
      return `malformed message: unknown type ${type}`;
  }
}

/**
 * The entries of an awareness update, or null when it is malformed (states must be JSON).
 * @example readAwareness(update)?.map((e) => e.clientID)
 */
export function readAwareness(update: Uint8Array): AwarenessEntry[] | null {
  try {
    const decoder = decoding.createDecoder(update);
    const count = decoding.readVarUint(decoder);
    const entries: AwarenessEntry[] = [];
    for (let i = 0; i < count; i++) {
      const clientID = decoding.readVarUint(decoder);
      const clock = decoding.readVarUint(decoder);
      const state = decoding.readVarString(decoder);
      JSON.parse(state);
      entries.push({ clientID, clock, state });
    }
    return decoding.hasContent(decoder) ? null : entries;
  } catch {
    // Cut short, or a state that is not JSON: not an awareness update.
    return null;
  }
}

/** A sync message: `step` and its bytes. @example syncMessage(Y_SYNC.update, update) */
export function syncMessage(step: number, body: Uint8Array): Uint8Array {
  const encoder = encoding.createEncoder();
  encoding.writeVarUint(encoder, Y_MESSAGE.sync);
  encoding.writeVarUint(encoder, step);
  encoding.writeVarUint8Array(encoder, body);
  return encoding.toUint8Array(encoder);
}

/** An awareness message carrying `update`. */
export function awarenessMessage(update: Uint8Array): Uint8Array {
  const encoder = encoding.createEncoder();
  encoding.writeVarUint(encoder, Y_MESSAGE.awareness);
  encoding.writeVarUint8Array(encoder, update);
  return encoding.toUint8Array(encoder);
}

/** An auth message "permission denied" with `reason` (the provider logs it). */
export function permissionDenied(reason: string): Uint8Array {
  const encoder = encoding.createEncoder();
  encoding.writeVarUint(encoder, Y_MESSAGE.auth);
  encoding.writeVarUint(encoder, 0);
  encoding.writeVarString(encoder, reason);
  return encoding.toUint8Array(encoder);
}

/**
 * An awareness update of `entries`. With each entry's clock plus one and state `null`, it removes
 * them, as a client's own goodbye would: what the endpoint says for a y-websocket client that went away.
 * @example encodeAwareness([{ clientID: 1234, clock: 8, state: 'null' }])
 */
export function encodeAwareness(entries: Iterable<AwarenessEntry>): Uint8Array {
  const list = [...entries];
  const encoder = encoding.createEncoder();
  encoding.writeVarUint(encoder, list.length);
  for (const { clientID, clock, state } of list) {
    encoding.writeVarUint(encoder, clientID);
    encoding.writeVarUint(encoder, clock);
    encoding.writeVarString(encoder, state);
  }
  return encoding.toUint8Array(encoder);
}
