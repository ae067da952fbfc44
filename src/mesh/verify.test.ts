import { describe, expect, it } from 'vitest';
import { Signer, leafHash, signatureJson } from '../../server/mesh/signer';
import { signedContent } from '../protocol';
import { Verifier, type Signature } from './verify';

/** Signs `contents` in one turn; each signature as a client gets it in a frame (its JSON, parsed). */
function signAll(signer: Signer, contents: string[]): Signature[] {
  const out: Signature[] = [];
  for (const c of contents) signer.sign(leafHash(c), out, (list, s) => list.push(JSON.parse(signatureJson(s)) as Signature));
  signer.flush();
  return out;
}

const content = (seq: number, body = `m${seq}`, topic = 'room:a') => signedContent(topic, 'e1', seq, 'msg', null, JSON.stringify({ body }), null);

describe('relay signatures', () => {
  it('verifies every message of a batch, with one signature for the batch', async () => {
    const signer = new Signer();
    const contents = Array.from({ length: 7 }, (_, i) => content(i + 1));
    const sigs = signAll(signer, contents);
    expect(new Set(sigs.map((s) => s.s)).size).toBe(1);
    expect(signer.signatures).toBe(1);
    const verifier = new Verifier();
    verifier.setKeys(signer.keys());
    for (let i = 0; i < 7; i++) expect(await verifier.verify(contents[i]!, sigs[i]!)).toBe(true);
  });

  it('splits a tick of more than 256 broadcasts into batches whose proofs all verify', async () => {
    const signer = new Signer();
    const contents = Array.from({ length: 300 }, (_, i) => content(i + 1));
    const sigs = signAll(signer, contents);
    expect(signer.signatures).toBe(2);
    expect(sigs[0]!.p).toHaveLength(8);
    expect(sigs[256]!.p).toHaveLength(6);
    const verifier = new Verifier();
    verifier.setKeys(signer.keys());
    const results = await Promise.all(contents.map((c, i) => verifier.verify(c, sigs[i]!)));
    expect(results.every(Boolean)).toBe(true);
    expect(await verifier.verify(contents[0]!, sigs[1]!)).toBe(false);
  });

  it('a batch of one carries no proof', () => {
    const signer = new Signer();
    expect(signAll(signer, [content(1)])[0]!.p).toBeUndefined();
  });

  it('rejects altered payloads, other positions, other rooms, other proofs and unknown keys', async () => {
    const signer = new Signer();
    const contents = [content(1), content(2), content(3)];
    const sigs = signAll(signer, contents);
    const verifier = new Verifier();
    verifier.setKeys(signer.keys());
    expect(await verifier.verify(content(1, 'altered'), sigs[0]!)).toBe(false);
    expect(await verifier.verify(content(9), sigs[0]!)).toBe(false);
    expect(await verifier.verify(content(1, 'm1', 'room:b'), sigs[0]!)).toBe(false);
    expect(await verifier.verify(contents[0]!, sigs[1]!)).toBe(false);
    expect(await verifier.verify(contents[0]!, { ...sigs[0]!, k: 'nope' })).toBe(false);
    expect(await verifier.verify(contents[0]!, { ...sigs[0]!, s: 'garbage!!' })).toBe(false);
  });

  it('keeps verifying the previous key during a rotation, and signs with the new one', async () => {
    const signer = new Signer();
    const before = signAll(signer, [content(1)])[0]!;
    const keys = signer.rotate();
    expect(keys).toHaveLength(2);
    const after = signAll(signer, [content(2)])[0]!;
    expect(after.k).not.toBe(before.k);
    const verifier = new Verifier();
    verifier.setKeys(keys);
    expect(await verifier.verify(content(1), before)).toBe(true);
    expect(await verifier.verify(content(2), after)).toBe(true);
  });

  it('does not trust a signature by another server key', async () => {
    const ours = new Signer();
    const theirs = new Signer();
    const forged = signAll(theirs, [content(1)])[0]!;
    const verifier = new Verifier();
    verifier.setKeys(ours.keys());
    expect(await verifier.verify(content(1), { ...forged, k: ours.keys()[0]!.kid })).toBe(false);
  });
});
