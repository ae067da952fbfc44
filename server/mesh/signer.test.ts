import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { leafHash, leafHashOf, merkle, Signer, signatureJson, type Digest, type Signature } from './signer';

const sha256 = (...parts: Buffer[]) => createHash('sha256').update(Buffer.concat(parts)).digest();
const bytes = (digest: Digest) => Buffer.from(digest, 'latin1');

describe('Merkle hashing (PROTOCOL.md §10)', () => {
  it('hashes a leaf as SHA-256(0x00 ‖ UTF-8(content)), non-ASCII included', () => {
    for (const content of ['["plume/1","room:a","e",1,"msg",null,"{}",null]', 'héllo — 日本語 🎉', '']) {
      expect(bytes(leafHash(content)).equals(sha256(Buffer.from([0]), Buffer.from(content, 'utf8')))).toBe(true);
    }
  });

  it('hashes a header and payload bytes exactly as the whole content, growing its scratch space for large ones', () => {
    for (const payload of ['{}', JSON.stringify({ s: 'héllo — 日本語 🎉' }), JSON.stringify({ big: 'ü'.repeat(40_000) }), '{"after":"big"}']) {
      const head = '["plume/2","room:ü","e",1,"msg",null,null]\n';
      expect(leafHashOf(head, Buffer.from(payload))).toBe(leafHash(head + payload));
    }
  });

  it('builds the root from SHA-256(0x01 ‖ left ‖ right), promoting an odd node, with a proof per leaf', () => {
    const digests = ['a', 'b', 'c'].map(leafHash);
    const leaves = digests.map(bytes);
    const ab = sha256(Buffer.from([1]), leaves[0]!, leaves[1]!);
    const { root, proofs } = merkle(digests);
    expect(bytes(root).equals(sha256(Buffer.from([1]), ab, leaves[2]!))).toBe(true);
    expect(proofs.map((p) => JSON.parse(p))).toEqual([
      [`R${leaves[1]!.toString('base64url')}`, `R${leaves[2]!.toString('base64url')}`],
      [`L${leaves[0]!.toString('base64url')}`, `R${leaves[2]!.toString('base64url')}`],
      [`L${ab.toString('base64url')}`],
    ]);
    expect(merkle([digests[0]!]).proofs).toEqual(['']);
  });

  it('gives every leaf of larger trees, odd sizes included, a proof that leads to the root', () => {
    const fold = (leaf: Buffer, proof: string[]) =>
      proof.reduce((node, step) => {
        const sibling = Buffer.from(step.slice(1), 'base64url');
        return step[0] === 'L' ? sha256(Buffer.from([1]), sibling, node) : sha256(Buffer.from([1]), node, sibling);
      }, leaf);
    for (const size of [2, 5, 8, 13, 256]) {
      const digests = Array.from({ length: size }, (_, i) => leafHash(`leaf ${i}`));
      const { root, proofs } = merkle(digests);
      expect(proofs).toHaveLength(size);
      proofs.forEach((proof, i) => {
        const steps = JSON.parse(proof) as string[];
        expect(steps.length).toBeLessThanOrEqual(Math.ceil(Math.log2(size)));
        expect(fold(bytes(digests[i]!), steps).equals(bytes(root))).toBe(true);
      });
    }
  });

  it("gives each signature its JSON text, as frames carry it, for a lone broadcast and for a batch", () => {
    for (const size of [1, 5]) {
      const signer = new Signer();
      const signatures: Signature[] = [];
      for (let i = 0; i < size; i++) signer.sign(leafHash(`content ${i}`), i, (_, signature) => signatures.push(signature));
      signer.flush();
      expect(signatures).toHaveLength(size);
      for (const signature of signatures) {
        const { k, s } = signature;
        const json = signatureJson(signature);
        expect(json).toMatch(/^[\x20-\x7e]*$/); // ASCII: frames write it one byte per character
        const parsed = JSON.parse(json) as { k: string; s: string; p?: string[] };
        if (size === 1) expect(Object.keys(parsed)).toEqual(['k', 's']);
        else expect(parsed.p!.length).toBeGreaterThan(0);
        expect(json).toBe(JSON.stringify({ k, s, ...(parsed.p ? { p: parsed.p } : {}) }));
      }
    }
  });
});
