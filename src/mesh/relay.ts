/**
 * The messages peers exchange over data channels (PROTOCOL.md, Mesh):
 * relayed broadcasts with the server's signature, and ephemeral events.
 * Decoding is defensive: a peer is not trusted to send well-formed text.
 */
import { isPayload, signedContent, type Payload } from '../protocol';
import type { Signature } from './verify';

/** A relayed broadcast, exactly as the server signed it. */
export interface Relayed {
  topic: string;
  epoch: string;
  seq: number;
  event: string;
  id: string | null;
  /** The payload's JSON text, byte for byte what the signature covers. */
  payloadJson: string;
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

export function encodeRelayed(r: Relayed): string {
  return JSON.stringify(['m', r.topic, r.epoch, r.seq, r.event, r.id, r.payloadJson, r.exclude, r.sig]);
}

export function encodeEphemeral(e: Ephemeral): string {
  return JSON.stringify(['e', e.topic, e.event, e.payload, e.from, e.eid, e.ttl]);
}

/** The text a relayed broadcast's signature covers. */
export function contentOf(r: Relayed): string {
  return signedContent(r.topic, r.epoch, r.seq, r.event, r.id, r.payloadJson, r.exclude);
}

const str = (v: unknown): v is string => typeof v === 'string';

function isSignature(v: unknown): v is Signature {
  return isPayload(v) && str(v.k) && str(v.s) && (v.p === undefined || (Array.isArray(v.p) && v.p.every(str)));
}

/** Decodes a peer's message, or returns null when it is malformed. */
export function decodePeerMessage(text: string): { kind: 'm'; message: Relayed } | { kind: 'e'; message: Ephemeral } | null {
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
