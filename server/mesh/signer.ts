/**
 * Signs relayed broadcasts with the server's Ed25519 key, in batches: the
 * broadcasts of one event-loop tick become the leaves of a Merkle tree and
 * only its root is signed, so signing costs one signature per tick rather
 * than one per message. Each broadcast gets the batch signature and the
 * proof that links it to the root.
 *
 * Responsible for keys (current and previous, for rotation) and signatures.
 * Not responsible for which broadcasts need signing (`fanout.ts` decides).
 */
import { createPrivateKey, generateKeyPairSync, hash, randomBytes, sign, type KeyObject } from 'node:crypto';
import { SIGNATURE_DOMAIN } from '../../src/protocol';
import { latin1Write, utf8Write } from '../transport/bytes';

/** A public key as clients receive it. */
export interface PublicKeyInfo {
  /** Key id, named by every signature made with it. */
  kid: string;
  alg: 'Ed25519';
  /** The raw 32-byte public key, base64url. */
  x: string;
}

/**
 * A broadcast's signature: key id and the batch signature, and the JSON text frames carry,
 * `{"k":…,"s":…,"p":[…]}` (`p`, the Merkle proof as `L`/`R` + sibling hash, left out for a batch of
 * one), in two ASCII parts made by the signer (base64url and the step prefixes): `start`, shared by
 * the batch, and `proof`, so a signed frame writes them as they are instead of joining them per
 * broadcast. The text is `start + proof + '}'` (`signatureJson`).
 */
export interface Signature {
  k: string;
  s: string;
  /** `{"k":"…","s":"…"`, the same for every broadcast of the batch. */
  start: string;
  /** `,"p":[…]`, or `''` for a batch of one. */
  proof: string;
}

/** A signature's JSON text, as frames carry it. */
export function signatureJson(sig: Signature): string {
  return `${sig.start}${sig.proof}}`;
}

interface Key {
  info: PublicKeyInfo;
  privateKey: KeyObject;
}

/** An Ed25519 public key in SPKI DER is a fixed 12-byte header, then the raw 32-byte key. */
const SPKI_ED25519_HEADER_BYTES = 12;

/**
 * A fresh key pair. The keys come out encoded by the generation itself, not
 * exported from the KeyObjects afterwards: Node 20 can deadlock when a
 * KeyObject made by `generateKeyPairSync` is exported while a collection
 * finalizes the generation job, which locks the key's mutex that the export
 * already holds (seen as a test worker hung at 0% CPU; a loop of generate +
 * `export({ format: 'jwk' })` under a small young generation hangs within
 * seconds, while this form ran 200,000 rounds).
 */
function newKey(): Key {
  const pair = generateKeyPairSync('ed25519', { publicKeyEncoding: { type: 'spki', format: 'der' }, privateKeyEncoding: { type: 'pkcs8', format: 'der' } });
  const x = pair.publicKey.subarray(SPKI_ED25519_HEADER_BYTES).toString('base64url');
  const privateKey = createPrivateKey({ key: pair.privateKey, format: 'der', type: 'pkcs8' });
  return { info: { kid: randomBytes(4).toString('base64url'), alg: 'Ed25519', x }, privateKey };
}

/**
 * A SHA-256 digest as a 32-character latin1 string, one character per byte.
 * Cheaper than a Buffer to make, keep and compare: a hash that returns a
 * Buffer spends more on the allocation than on hashing 65 bytes.
 */
export type Digest = string & { readonly digest: unique symbol };

/** The leaf hash of a signed content string: SHA-256(0x00 ‖ UTF-8(content)). */
export function leafHash(content: string): Digest {
  // One native call, no Hash object and no copies: U+0000 is the single byte 0x00 in UTF-8.
  return hash('sha256', `\u0000${content}`, 'binary') as Digest;
}

/** Scratch space for a leaf's input when its content comes as a header and payload bytes (grown on demand). */
let leafInput = Buffer.allocUnsafeSlow(16 * 1024);

/**
 * `leafHash(head + text)` where `body` is `text` already encoded as UTF-8 (a broadcast's payload
 * bytes): the bytes are copied, not the text encoded again.
 */
export function leafHashOf(head: string, body: Uint8Array): Digest {
  const size = 1 + head.length * 3 + body.length;
  if (size > leafInput.length) leafInput = Buffer.allocUnsafeSlow(Math.max(size, leafInput.length * 2));
  leafInput[0] = 0;
  const headBytes = utf8Write(leafInput, head, 1);
  leafInput.set(body, 1 + headBytes);
  return hash('sha256', leafInput.subarray(0, 1 + headBytes + body.length), 'binary') as Digest;
}

/** Scratch space for an inner node's input (0x01 ‖ left ‖ right), and for encoding one digest. */
const NODE_INPUT = Buffer.alloc(65, 1);
const ENCODE = Buffer.alloc(32);

/** An inner node's hash: SHA-256(0x01 ‖ left ‖ right). */
function nodeHash(left: Digest, right: Digest): Digest {
  latin1Write(NODE_INPUT, left, 1);
  latin1Write(NODE_INPUT, right, 33);
  return hash('sha256', NODE_INPUT, 'binary') as Digest;
}

/** A digest's bytes as base64url. */
function base64url(digest: Digest): string {
  latin1Write(ENCODE, digest, 0);
  return ENCODE.toString('base64url', 0, 32);
}

/**
 * Builds a Merkle tree over `leaves`: its root, and each leaf's proof as the
 * JSON text of its steps (`["R…","L…"]`, `L`/`R` + the sibling's hash in
 * base64url, leaf level first), with `open` in place of the `[` (the signer
 * passes `,"p":[`, the proof's place in a signature's JSON), or `''` for a
 * lone leaf. Leaves under one node share the steps above it, so each node's
 * steps upward are written once, as text the nodes below it extend: a leaf's
 * proof costs one string concatenation, not one per step.
 */
export function merkle(leaves: Digest[], open = '['): { root: Digest; proofs: string[] } {
  // levels[0] are the leaves; an odd node at the end of a level is promoted unchanged.
  const levels: Digest[][] = [leaves];
  for (let level = leaves; level.length > 1; ) {
    const next: Digest[] = [];
    for (let i = 0; i < level.length; i += 2) next.push(i + 1 < level.length ? nodeHash(level[i]!, level[i + 1]!) : level[i]!);
    levels.push((level = next));
  }
  // above[j]: the steps from node j of the current level up to the root, as comma-separated JSON strings.
  let above: string[] = [''];
  for (let l = levels.length - 2; l >= 0; l--) {
    const nodes = levels[l]!;
    const steps: string[] = new Array(nodes.length);
    for (let j = 0; j < nodes.length; j++) {
      const sibling = j ^ 1;
      const up = above[j >> 1]!;
      if (sibling >= nodes.length) steps[j] = up; // promoted: no step at this level
      else {
        const step = `"${sibling > j ? 'R' : 'L'}${base64url(nodes[sibling]!)}"`;
        steps[j] = up === '' ? step : `${step},${up}`;
      }
    }
    above = steps;
  }
  const proofs = leaves.length < 2 ? leaves.map(() => '') : above.map((steps) => `${open}${steps}]`);
  return { root: levels[levels.length - 1]![0] ?? ('\u0000'.repeat(32) as Digest), proofs };
}

/**
 * @example
 * const signer = new Signer();
 * signer.sign(leafHash(signedContent(topic, epoch, seq, event, id, json, exclude)), message, (m, signature) => send(m, signature));
 */
export class Signer {
  private current: Key = newKey();
  private previous: Key | null = null;
  private batch: Array<{ leaf: Digest; item: unknown; done: (item: any, signature: Signature) => void }> = [];
  private scheduled = false;
  /** Signatures made (one per batch), for the counters. */
  signatures = 0;

  constructor(private readonly maxBatch = 256) {}

  /** The keys clients may see signatures from: current first, then the previous one during a rotation. */
  keys(): PublicKeyInfo[] {
    return this.previous ? [this.current.info, this.previous.info] : [this.current.info];
  }

  /** Starts signing with a new key; the old one stays listed until the next rotation. */
  rotate(): PublicKeyInfo[] {
    this.flush();
    this.previous = this.current;
    this.current = newKey();
    return this.keys();
  }

  /**
   * Queues a broadcast, by the leaf hash of its signed content, for this tick's batch;
   * `done(item, signature)` is called when the batch is signed (a shared function and an item, so a
   * busy room does not make a closure per broadcast).
   */
  sign<T>(leaf: Digest, item: T, done: (item: T, signature: Signature) => void): void {
    this.batch.push({ leaf, item, done });
    if (this.batch.length >= this.maxBatch) return this.flush();
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.flush());
    }
  }

  /** Signs the pending batch now. */
  flush(): void {
    this.scheduled = false;
    const batch = this.batch;
    if (batch.length === 0) return;
    this.batch = [];
    const { root, proofs } = merkle(batch.map((b) => b.leaf), ',"p":[');
    const s = sign(null, Buffer.from(`${SIGNATURE_DOMAIN}${root}`, 'latin1'), this.current.privateKey).toString('base64url');
    this.signatures++;
    const k = this.current.info.kid;
    // Key id and signature are base64url: the JSON text needs no escaping, and its start is shared by the batch.
    const start = `{"k":"${k}","s":"${s}"`;
    for (let i = 0; i < batch.length; i++) {
      const entry = batch[i]!;
      entry.done(entry.item, { k, s, start, proof: proofs[i]! });
    }
  }
}
