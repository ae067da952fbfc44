import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { MemoryDocuments } from '../engine/memory/documents';
import { Documents } from './documents';
import { resolveDocumentOptions } from './options';

/** An editor whose every keystroke is an update. */
function editor(clientID: number) {
  const doc = new Y.Doc();
  doc.clientID = clientID;
  const updates: Uint8Array[] = [];
  doc.on('update', (update: Uint8Array) => updates.push(update));
  return { doc, updates, type: (text: string) => [...text].forEach((c) => doc.getText('body').insert(doc.getText('body').length, c)) };
}

const textOf = (update: Uint8Array) => {
  const doc = new Y.Doc();
  Y.applyUpdate(doc, update);
  return doc.getText('body').toString();
};

describe('syncing a document', () => {
  it('answers every sync with the state of the moment, across appends and compactions', async () => {
    const docs = new Documents(new MemoryDocuments(), resolveDocumentOptions({ compactEvery: 3 }), (e) => { throw e; });
    const ada = editor(1);
    const empty = Y.encodeStateVector(new Y.Doc());
    let seen = 0;
    for (const word of ['ab', 'c', 'defg', 'h']) {
      ada.type(word);
      for (const update of ada.updates.slice(seen)) await docs.apply('room:a', update);
      seen = ada.updates.length;
      // Twice: the second sync of an unchanged document is answered from what the first computed.
      for (let i = 0; i < 2; i++) {
        const { stateVector, missing } = await docs.sync('room:a', empty);
        expect(textOf(missing)).toBe(ada.doc.getText('body').toString());
        expect(Y.decodeStateVector(stateVector).get(1)).toBe(ada.doc.getText('body').length);
        expect((await docs.sync('room:a', Y.encodeStateVector(ada.doc))).missing.length).toBeLessThanOrEqual(2);
      }
    }
  });
});
