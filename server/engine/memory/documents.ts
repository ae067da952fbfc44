/**
 * The memory engine's document store: each document's state and log in
 * this process (lost on restart, like the rest of the memory engine).
 */
import type { DocumentStore, StoredDocument } from '../engine';

/** @example const store = new MemoryDocuments(); await store.append('room:a', update); */
export class MemoryDocuments implements DocumentStore {
  private readonly documents = new Map<string, StoredDocument>();

  load(name: string): Promise<StoredDocument> {
    const doc = this.documents.get(name);
    return Promise.resolve(doc ? { state: doc.state, updates: [...doc.updates], version: doc.version } : { state: null, updates: [], version: 0 });
  }

  append(name: string, update: Uint8Array): Promise<number> {
    let doc = this.documents.get(name);
    if (!doc) this.documents.set(name, (doc = { state: null, updates: [], version: 0 }));
    // Copied: the caller's bytes may be a view into a frame.
    doc.updates.push(Uint8Array.from(update));
    return Promise.resolve(doc.updates.length);
  }

  compact(name: string, merged: Uint8Array, count: number, version: number): Promise<boolean> {
    const doc = this.documents.get(name);
    if (!doc || doc.version !== version || count > doc.updates.length) return Promise.resolve(false);
    doc.state = Uint8Array.from(merged);
    doc.updates.splice(0, count);
    doc.version++;
    return Promise.resolve(true);
  }
}
