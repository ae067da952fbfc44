/**
 * Shared documents on this node (PROTOCOL.md §11): each topic's Yjs
 * document, kept as a merged state plus a log of updates in the engine's
 * document store, without a Y.Doc per document: updates are validated by
 * decoding them, merged and diffed with Yjs's update functions, and folded
 * into the state (compaction, `fold.ts`) every `compactEvery` updates.
 *
 * Responsible for validating, storing and compacting documents, their size
 * limit, and the app's load/store hooks. Not responsible for who may edit
 * (the extension asks `authorize`) or for sending anything.
 */
import * as Y from 'yjs';
import type { DocumentStore } from '../engine/engine';
import { foldUpdates } from './fold';
import type { ResolvedDocumentOptions } from './options';

/** Why an update was refused (its reason on the wire). */
export class DocumentError extends Error {
  constructor(readonly reason: 'invalid update' | 'document too large') {
    super(reason);
    this.name = 'DocumentError';
  }
}

/** What this node knows of a document's size since it last read it. */
interface Known {
  /** Bytes of its state plus the updates appended since (as far as this node saw). */
  bytes: number;
  /**
   * The state vector of the last state a sync merged, and the stored version and log length it was
   * made from: the next sync of an unchanged document reuses it instead of reading the whole state again.
   */
  vector?: { version: number; length: number; stateVector: Uint8Array };
}

/** The merged state, and which stored version and log length it was made from (-1: not from the store). */
interface Current {
  state: Uint8Array;
  version: number;
  length: number;
}

/**
 * @example
 * const docs = new Documents(engine.documents, resolveDocumentOptions(), reportError);
 * await docs.apply('room:a', update);          // check() then append(): throws DocumentError for a bad or oversized one
 * const { stateVector, missing } = await docs.sync('room:a', clientStateVector);
 */
export class Documents {
  private readonly known = new Map<string, Known>();
  /** Work on one document, one after another on this node (loads and compactions must not interleave). */
  private readonly queues = new Map<string, Promise<unknown>>();

  constructor(
    private readonly store: DocumentStore,
    private readonly options: ResolvedDocumentOptions,
    private readonly reportError: (error: unknown, context: string) => void,
  ) {}

  /** The document's whole state as one update (from the store, or the app's `load` hook the first time). */
  async state(topic: string): Promise<Uint8Array> {
    return (await this.current(topic)).state;
  }

  /** What a member with `stateVector` lacks, and the server's state vector (a sync, §11). */
  async sync(topic: string, stateVector: Uint8Array): Promise<{ stateVector: Uint8Array; missing: Uint8Array }> {
    const { state, version, length } = await this.current(topic);
    const known = this.known.get(topic);
    let vector = known?.vector;
    if (!vector || vector.version !== version || vector.length !== length) {
      vector = { version, length, stateVector: Y.encodeStateVectorFromUpdate(state) };
      if (known && version >= 0) known.vector = vector;
    }
    // A member with an empty document lacks all of it: nothing to compare.
    const missing = stateVector.length === 1 && stateVector[0] === 0 ? state : Y.diffUpdate(state, stateVector);
    return { stateVector: vector.stateVector, missing };
  }

  private async current(topic: string): Promise<Current> {
    const doc = await this.store.load(topic);
    if (doc.state === null && doc.updates.length === 0 && this.options.load) {
      const loaded = await this.options.load(topic);
      if (loaded && loaded.length > 0) {
        this.validate(loaded);
        await this.store.append(topic, loaded);
        return { state: loaded, version: -1, length: -1 };
      }
    }
    const parts = doc.state ? [doc.state, ...doc.updates] : doc.updates;
    const merged = parts.length === 0 ? EMPTY_UPDATE : parts.length === 1 ? parts[0]! : Y.mergeUpdates(parts);
    this.known.set(topic, { bytes: merged.length, vector: this.known.get(topic)?.vector });
    return { state: merged, version: doc.version, length: doc.updates.length };
  }

  /** Validates and stores an update; compacts the document when its log is long enough. */
  async apply(topic: string, update: Uint8Array): Promise<void> {
    await this.check(topic, update);
    await this.append(topic, update);
  }

  /** Throws `DocumentError` unless the update decodes and fits under `maxBytes`; stores nothing. */
  async check(topic: string, update: Uint8Array): Promise<void> {
    this.validate(update);
    const known = this.known.get(topic) ?? { bytes: (await this.state(topic)).length };
    if (known.bytes + update.length > this.options.maxBytes) {
      // Perhaps compaction shrank it (deletions): measured exactly before refusing.
      if ((await this.state(topic)).length + update.length > this.options.maxBytes) throw new DocumentError('document too large');
    }
  }

  /** Stores a checked update; compacts the document when its log is long enough. */
  async append(topic: string, update: Uint8Array): Promise<void> {
    const length = await this.store.append(topic, update);
    // Not known yet: the next check reads the whole state, this update included.
    const known = this.known.get(topic);
    if (known) known.bytes += update.length;
    if (length >= this.options.compactEvery) this.serially(topic, () => this.compact(topic));
  }

  /** Folds the log into the state (skipped when another node did it first). */
  async compact(topic: string): Promise<void> {
    const doc = await this.store.load(topic);
    if (doc.updates.length === 0) return;
    const merged = foldUpdates(doc.state ? [doc.state, ...doc.updates] : doc.updates);
    if (!(await this.store.compact(topic, merged, doc.updates.length, doc.version))) return;
    this.known.set(topic, { bytes: merged.length });
    await this.options.store?.(topic, merged);
  }

  /** Throws `invalid update` unless the bytes decode as a Yjs update. */
  private validate(update: Uint8Array): void {
    try {
      Y.decodeUpdate(update);
    } catch {
      // Not a Yjs update: refused; nothing about it is kept.
      throw new DocumentError('invalid update');
    }
  }

  private serially(topic: string, task: () => Promise<void>): void {
    const previous = this.queues.get(topic) ?? Promise.resolve();
    const next = previous.then(task).catch((error: unknown) => this.reportError(error, `compacting the document of ${topic}`));
    this.queues.set(topic, next);
    void next.then(() => this.queues.get(topic) === next && this.queues.delete(topic));
  }
}

/** An update that changes nothing: the state of an empty document. */
const EMPTY_UPDATE = Y.encodeStateAsUpdate(new Y.Doc());
