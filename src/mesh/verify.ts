/**
 * Checks that a relayed broadcast is the server's: recomputes its leaf
 * hash, walks its Merkle proof to the batch root, and verifies the root's
 * Ed25519 signature with the server's public key (WebCrypto). A verified
 * root is remembered, so a batch costs one signature check however many of
 * its messages arrive.
 *
 * Responsible for cryptography only; what to do with a forgery is
 * `mesh.ts`'s business.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { SIGNATURE_DOMAIN } from '../protocol';
import { fromBase64 } from '../base64';

/** A server public key, as the join reply carries it. */
export interface PublicKeyInfo {
  kid: string;
  alg: string;
  x: string;
}

/** A relayed broadcast's signature (PROTOCOL.md, Mesh). */
export interface Signature {
  k: string;
  s: string;
  p?: string[];
}

const encoder = new TextEncoder();

function concat(...parts: Uint8Array[]): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

const REMEMBERED_ROOTS = 1024;

export class Verifier {
  private readonly keys = new Map<string, Promise<CryptoKey | null>>();
  private readonly verified = new Map<string, Promise<boolean>>();
  private readonly subtle: SubtleCrypto;

  constructor(subtle: SubtleCrypto = globalThis.crypto.subtle) {
    this.subtle = subtle;
  }

  /** Replaces the trusted keys (from a join reply or a `plume:keys` push). */
  setKeys(keys: readonly PublicKeyInfo[]): void {
    this.keys.clear();
    for (const key of keys) {
      if (key.alg !== 'Ed25519' || typeof key.x !== 'string') continue;
      this.keys.set(key.kid, this.subtle.importKey('raw', fromBase64(key.x), { name: 'Ed25519' }, false, ['verify']).catch(() => null));
    }
  }

  /** True when `signature` proves `content` (text, or bytes for a binary payload) came from the server. Never throws. */
  async verify(content: string | Uint8Array, signature: Signature): Promise<boolean> {
    try {
      const key = await this.keys.get(signature.k);
      if (!key) return false;
      // Hashing is synchronous (an async digest per proof step costs a task hop each); only the
      // signature check, once per batch, goes to WebCrypto.
      let hash = sha256(concat(new Uint8Array([0]), typeof content === 'string' ? encoder.encode(content) : content));
      for (const step of signature.p ?? []) {
        const sibling = fromBase64(step.slice(1));
        hash = sha256(step[0] === 'L' ? concat(new Uint8Array([1]), sibling, hash) : concat(new Uint8Array([1]), hash, sibling));
      }
      const rootKey = `${signature.k}:${signature.s}:${String.fromCharCode(...hash)}`;
      // The messages of one batch arrive together: they share one verification, finished or under way.
      let check = this.verified.get(rootKey);
      if (!check) {
        check = this.subtle.verify({ name: 'Ed25519' }, key, fromBase64(signature.s), concat(encoder.encode(SIGNATURE_DOMAIN), hash));
        this.remember(rootKey, check);
      }
      return await check;
    } catch {
      // Malformed base64, a bad proof step, an unsupported engine: it does not verify.
      return false;
    }
  }

  private remember(rootKey: string, check: Promise<boolean>): void {
    this.verified.set(rootKey, check);
    // A root that does not verify is forgotten, so it costs a forger a verification each time, not us a slot.
    void check.then((ok) => ok || this.verified.delete(rootKey), () => this.verified.delete(rootKey));
    if (this.verified.size > REMEMBERED_ROOTS) this.verified.delete(this.verified.keys().next().value as string);
  }
}
