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
import { SIGNATURE_DOMAIN } from '../protocol';

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

function fromBase64url(text: string): Uint8Array<ArrayBuffer> {
  const binary = atob(text.replace(/-/g, '+').replace(/_/g, '/'));
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

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
  private readonly verified = new Set<string>();
  private readonly subtle: SubtleCrypto;

  constructor(subtle: SubtleCrypto = globalThis.crypto.subtle) {
    this.subtle = subtle;
  }

  /** Replaces the trusted keys (from a join reply or a `plume:keys` push). */
  setKeys(keys: readonly PublicKeyInfo[]): void {
    this.keys.clear();
    for (const key of keys) {
      if (key.alg !== 'Ed25519' || typeof key.x !== 'string') continue;
      this.keys.set(key.kid, this.subtle.importKey('raw', fromBase64url(key.x), { name: 'Ed25519' }, false, ['verify']).catch(() => null));
    }
  }

  /** True when `signature` proves `content` came from the server. Never throws. */
  async verify(content: string, signature: Signature): Promise<boolean> {
    try {
      const key = await this.keys.get(signature.k);
      if (!key) return false;
      let hash = new Uint8Array(await this.subtle.digest('SHA-256', concat(new Uint8Array([0]), encoder.encode(content))));
      for (const step of signature.p ?? []) {
        const sibling = fromBase64url(step.slice(1));
        const pair = step[0] === 'L' ? concat(new Uint8Array([1]), sibling, hash) : concat(new Uint8Array([1]), hash, sibling);
        hash = new Uint8Array(await this.subtle.digest('SHA-256', pair));
      }
      const rootKey = `${signature.k}:${signature.s}:${String.fromCharCode(...hash)}`;
      if (this.verified.has(rootKey)) return true;
      const ok = await this.subtle.verify({ name: 'Ed25519' }, key, fromBase64url(signature.s), concat(encoder.encode(SIGNATURE_DOMAIN), hash));
      if (ok) this.remember(rootKey);
      return ok;
    } catch {
      // Malformed base64, a bad proof step, an unsupported engine: it does not verify.
      return false;
    }
  }

  private remember(rootKey: string): void {
    this.verified.add(rootKey);
    if (this.verified.size > REMEMBERED_ROOTS) this.verified.delete(this.verified.values().next().value as string);
  }
}
