/**
 * Options of shared documents (PROTOCOL.md §11), with every default in one place.
 */
import type { ChannelSocket } from '../channels/channel';

/** What a member may do with a topic's document. */
export type DocumentAccess = 'write' | 'read' | false;

/** Server option `documents`. Every field is optional. */
export interface DocumentOptions {
  /**
   * Decides what `socket` may do with the document of `topic`: `'write'` (sync and update), `'read'`
   * (sync only; updates get `read only`), or `false` (nothing). Default: `'write'` for every member of the topic.
   * @example authorize: (topic, socket) => (socket.assigns.role === 'viewer' ? 'read' : 'write')
   */
  authorize?(topic: string, socket: ChannelSocket): DocumentAccess | Promise<DocumentAccess>;
  /**
   * Loads a document from your database the first time the engine has none (after the engine lost it, or
   * before it ever had it): a Yjs update (v1) of its whole state, or null for an empty document.
   */
  load?(topic: string): Uint8Array | null | Promise<Uint8Array | null>;
  /** Stores a document's merged state in your database after each compaction. */
  store?(topic: string, state: Uint8Array): void | Promise<void>;
  /** Largest document: its state plus the updates since the last compaction, in bytes. Default 8388608 (8 MiB). */
  maxBytes?: number;
  /** Updates a document's log holds before the server folds them into its state. Default 200. */
  compactEvery?: number;
}

/** Options with defaults applied. */
export type ResolvedDocumentOptions = Required<Pick<DocumentOptions, 'maxBytes' | 'compactEvery'>> & Pick<DocumentOptions, 'authorize' | 'load' | 'store'>;

export function resolveDocumentOptions(options: DocumentOptions = {}): ResolvedDocumentOptions {
  const resolved: ResolvedDocumentOptions = { ...options, maxBytes: options.maxBytes ?? 8 * 1024 * 1024, compactEvery: options.compactEvery ?? 200 };
  if (!(resolved.maxBytes > 0)) throw new Error(`documents.maxBytes must be a positive number, got ${String(options.maxBytes)}`);
  if (!Number.isInteger(resolved.compactEvery) || resolved.compactEvery < 1) throw new Error(`documents.compactEvery must be a positive integer, got ${String(options.compactEvery)}`);
  return resolved;
}
