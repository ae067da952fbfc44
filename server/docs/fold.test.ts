import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { foldUpdates } from './fold';

/** The updates of someone typing `text` one character at a time, then deleting its first half. */
function typing(text: string, clientID = 1): Uint8Array[] {
  const doc = new Y.Doc();
  doc.clientID = clientID;
  const updates: Uint8Array[] = [];
  doc.on('update', (update: Uint8Array) => updates.push(update));
  for (let i = 0; i < text.length; i++) doc.getText('body').insert(i, text[i]!);
  doc.getText('body').delete(0, text.length / 2);
  return updates;
}

const textOf = (update: Uint8Array) => {
  const doc = new Y.Doc();
  Y.applyUpdate(doc, update);
  return doc.getText('body').toString();
};

describe('folding a document\'s updates', () => {
  it('holds the same document as merging them, in fewer bytes', () => {
    const updates = typing('abcdefghijklmnopqrstuvwxyz'.repeat(8));
    const folded = foldUpdates(updates);
    expect(textOf(folded)).toBe(textOf(Y.mergeUpdates(updates)));
    expect(folded.length).toBeLessThan(Y.mergeUpdates(updates).length / 2);
  });

  it('keeps updates whose dependencies have not arrived, so nothing is lost when they do', () => {
    const updates = typing('hello world', 7);
    const folded = foldUpdates([updates[0]!, ...updates.slice(2)]); // the second keystroke is missing
    expect(textOf(foldUpdates([folded, updates[1]!]))).toBe(textOf(Y.mergeUpdates(updates)));
  });
});
