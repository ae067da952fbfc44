/**
 * The messages peers exchange over data channels (PROTOCOL.md, Mesh):
 * relayed broadcasts with the server's signature, and ephemeral events.
 * A broadcast of bytes travels as bytes: a JSON header, then the payload.
 * Decoding is defensive: a peer is not trusted to send well-formed data.
 */
import { isPayload, signedContent, signedContentHead, type Payload } from '../protocol';
import type { Signature } from './verify';

/** A relayed broadcast, exactly as the server signed it. */
export interface Relayed {
  topic: string;
  epoch: string;
  seq: number;
  event: string;
  id: string | null;
  /** The payload's JSON text, byte for byte what the signature covers (`''` for bytes). */
  payloadJson: string;
  /** A binary payload's bytes, which the signature covers instead of `payloadJson`. */
  payloadBytes?: Uint8Array;
  /** A member the broadcast must not be delivered to (broadcast-from), or null. */
  exclude: string | null;
  sig: Signature;
}

/** An ephemeral event: unordered, unsigned, not stored. */
export interface Ephemeral {
  topic: string;
  event: string;
  payload: Payload;
  from: string;
  eid: string;
  ttl: number;
}

const encoder = new TextEncoder();

/** A relayed broadcast as a peer message: JSON text, or for bytes a length, a JSON header and the bytes. */
export function encodeRelayed(r: Relayed): string | Uint8Array {
  if (!r.payloadBytes) return JSON.stringify(['m', r.topic, r.epoch, r.seq, r.event, r.id, r.payloadJson, r.exclude, r.sig]);
  const head = encoder.encode(JSON.stringify(['b', r.topic, r.epoch, r.seq, r.event, r.id, r.exclude, r.sig]));
  const out = new Uint8Array(4 + head.length + r.payloadBytes.length);
  new DataView(out.buffer).setUint32(0, head.length);
  out.set(head, 4);
  out.set(r.payloadBytes, 4 + head.length);
  return out;
}

export function encodeEphemeral(e: Ephemeral): string {
  return JSON.stringify(['e', e.topic, e.event, e.payload, e.from, e.eid, e.ttl]);
}

/** What a relayed broadcast's signature covers: the signed header then the payload's JSON text, or its bytes. */
export function contentOf(r: Relayed): string | Uint8Array {
  if (!r.payloadBytes) return signedContent(r.topic, r.epoch, r.seq, r.event, r.id, r.payloadJson, r.exclude);
  const head = encoder.encode(signedContentHead(r.topic, r.epoch, r.seq, r.event, r.id, r.exclude));
  const out = new Uint8Array(head.length + r.payloadBytes.length);
  out.set(head, 0);
  out.set(r.payloadBytes, head.length);
  return out;
}

const str = (v: unknown): v is string => typeof v === 'string';

function isSignature(v: unknown): v is Signature {
  return isPayload(v) && str(v.k) && str(v.s) && (v.p === undefined || (Array.isArray(v.p) && v.p.every(str)));
}

type Decoded = { kind: 'm'; message: Relayed } | { kind: 'e'; message: Ephemeral } | null;

/** A relayed broadcast of bytes: a 4-byte length, the JSON header, the payload. */
function decodeBinary(bytes: Uint8Array): Decoded {
  try {
    const length = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(0);
    if (4 + length > bytes.length) return null;
    const v = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(4, 4 + length))) as unknown;
    if (!Array.isArray(v) || v[0] !== 'b' || v.length !== 8) return null;
    const [, topic, epoch, seq, event, id, exclude, sig] = v as unknown[];
    if (!str(topic) || !str(epoch) || !Number.isSafeInteger(seq) || !str(event) || !(id === null || str(id))) return null;
    if (!(exclude === null || str(exclude)) || !isSignature(sig)) return null;
    return { kind: 'm', message: { topic, epoch, seq: seq as number, event, id, payloadJson: '', payloadBytes: bytes.slice(4 + length), exclude, sig } };
  } catch {
    // A header that is not JSON (or not UTF-8): a malformed message; the caller counts it against the peer.
    return null;
  }
}

/** Decodes a peer's message, or returns null when it is malformed. */
export function decodePeerMessage(data: string | Uint8Array): Decoded {
  if (typeof data !== 'string') return decodeBinary(data);
  const text = data;
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    // Not JSON: a malformed message; the caller counts it against the peer.
    return null;
  }
  if (!Array.isArray(v)) return null;
  if (v[0] === 'm' && v.length === 9) {
    const [, topic, epoch, seq, event, id, payloadJson, exclude, sig] = v as unknown[];
    if (!str(topic) || !str(epoch) || !Number.isSafeInteger(seq) || !str(event) || !(id === null || str(id))) return null;
    if (!str(payloadJson) || !(exclude === null || str(exclude)) || !isSignature(sig)) return null;
    return { kind: 'm', message: { topic, epoch, seq: seq as number, event, id, payloadJson, exclude, sig } };
  }
  if (v[0] === 'e' && v.length === 7) {
    const [, topic, event, payload, from, eid, ttl] = v as unknown[];
    if (!str(topic) || !str(event) || !isPayload(payload) || !str(from) || !str(eid) || !Number.isInteger(ttl)) return null;
    return { kind: 'e', message: { topic, event, payload, from, eid, ttl: ttl as number } };
  }
  return null;
}
