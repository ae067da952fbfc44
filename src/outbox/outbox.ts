/**
 * The durable outbox: messages the app sends with `channel.send()` are
 * stored in IndexedDB, with their id, before anything goes on the wire, and
 * stay there until the server acknowledges or rejects them.
 *
 * Responsible for the entries, their status (`queued`, `sent`, `acked`,
 * `rejected`), persistence, and sharing all of it with the other tabs of
 * the origin. Not responsible for sending (`flusher.ts` does, one tab per
 * topic at a time).
 */
import { delMany, promisifyRequest, set, values, type UseStore } from 'idb-keyval';
import type { PlumeError } from '../errors';
import { randomId } from '../ids';
import { Listeners, type Unsubscribe } from '../listeners';
import type { AnyPayload, Payload } from '../protocol';
import { strictStore, storageError, type IDBFactoryLike } from '../storage';
import { tabBus, type TabBus } from './tabs';

/** Where a message is: stored and waiting, on the wire, acknowledged, or refused for good. */
/** `discarded`: removed with `discard()` (or replaced by a `retry()`); reported once, then gone. */
export type OutboxStatus = 'queued' | 'sent' | 'acked' | 'rejected' | 'discarded';

/** A message in the outbox. */
export interface OutboxEntry {
  /** The message id; the server applies it at most once. */
  readonly id: string;
  /** Sort key: creation order across the tabs of this origin. */
  readonly key: string;
  readonly topic: string;
  readonly event: string;
  /** The JSON payload; `{}` for a message of bytes (see `binary`). */
  readonly payload: Payload;
  /** A binary message's bytes, stored as they are in IndexedDB and sent as a binary frame. */
  readonly binary?: Uint8Array;
  readonly createdAt: number;
  status: OutboxStatus;
  /** The server's response, once acknowledged or rejected. */
  response?: Payload;
  /** Why it was rejected. */
  reason?: string;
  /** Position of the broadcast it caused, once acknowledged. */
  epoch?: string;
  seq?: number;
}

/** Options for `new Outbox(options)`. */
export interface OutboxOptions {
  /** Name of the outbox; tabs using the same name share it. Default `"plume"`. */
  name?: string;
  /** The IndexedDB factory (tests inject one). Default: the global `indexedDB`. */
  indexedDB?: IDBFactoryLike | null;
}

type TabMessage = { type: 'put'; entry: OutboxEntry } | { type: 'gone'; entry: OutboxEntry };

const pad = (n: number, width: number) => n.toString(36).padStart(width, '0');

/** An entry waiting for the next write transaction, and how to answer its `add()`. */
interface Write {
  entry: OutboxEntry;
  stored: () => void;
  failed: (cause: unknown) => void;
}

/**
 * @example
 * const socket = new Socket('/socket', { durable: durable({ name: 'chat' }) });
 * socket.outbox?.onChange((entry) => render(entry.id, entry.status));
 * const entry = await room.send('new_msg', { body: 'typed on the train' }); // stored: survives a reload
 */
export class Outbox {
  readonly name: string;
  /** Resolves once the entries stored by earlier page loads are loaded. */
  readonly ready: Promise<void>;
  private readonly store: UseStore;
  /** By id; iterated in key order while `ordered` (see `list`). */
  private readonly entries = new Map<string, OutboxEntry>();
  private ordered = true;
  private lastKey = '';
  private readonly changes = new Listeners<[OutboxEntry]>();
  private readonly pendingChanges: OutboxEntry[] = [];
  private emitting = false;
  /** `settled()` callers by id: a map rather than a listener each, or every change would visit them all. */
  private readonly waiting = new Map<string, Array<(entry: OutboxEntry) => void>>();
  private readonly errors = new Listeners<[PlumeError]>();
  private readonly bus: TabBus;
  private readonly tab = randomId().slice(0, 8);
  private counter = 0;
  private acked: string[] = [];
  private deleting: Promise<void> | null = null;
  private writes: Write[] = [];
  private writing: Promise<void> | null = null;

  constructor(options: OutboxOptions = {}) {
    this.name = options.name ?? 'plume';
    this.store = strictStore(`${this.name}-outbox`, 'entries', options.indexedDB);
    this.bus = tabBus(`${this.name}-outbox`);
    this.bus.onMessage((message) => this.fromTab(message as TabMessage));
    this.ready = this.reload();
  }

  /**
   * Stores a message; resolves once it is durable (status `queued`).
   * Rejects with a `storage` PlumeError (and reports it to `onError`) when IndexedDB refuses it.
   * Messages added together (in one task, or while a write is in flight) are written in one
   * transaction; each promise resolves only once that transaction has committed.
   */
  async add(topic: string, event: string, payload: AnyPayload, id: string = randomId()): Promise<OutboxEntry> {
    const now = Date.now();
    const key = `${pad(now, 9)}-${this.tab}-${pad(++this.counter, 6)}`;
    const body = payload instanceof Uint8Array ? { payload: {}, binary: payload } : { payload };
    const entry: OutboxEntry = { id, key, topic, event, ...body, createdAt: now, status: 'queued' };
    try {
      await this.write(entry);
    } catch (cause) {
      const error = storageError(`storing a message for ${topic}`, cause);
      this.errors.emit(error);
      throw error;
    }
    this.put(entry);
    return entry;
  }

  /** Messages not yet acknowledged (queued or sent), oldest first; optionally of one topic. */
  pending(topic?: string): OutboxEntry[] {
    return this.list((e) => (e.status === 'queued' || e.status === 'sent') && (topic === undefined || e.topic === topic));
  }

  /** Messages the server refused for good, oldest first; optionally of one topic. */
  rejected(topic?: string): OutboxEntry[] {
    return this.list((e) => e.status === 'rejected' && (topic === undefined || e.topic === topic));
  }

  /** The entry with this id, if it is still in the outbox. */
  get(id: string): OutboxEntry | undefined {
    return this.entries.get(id);
  }

  /** Resolves when the message is acknowledged or rejected (at once if it already was). */
  settled(id: string): Promise<OutboxEntry> {
    const entry = this.entries.get(id);
    if (entry?.status === 'rejected') return Promise.resolve(entry);
    if (!entry) return Promise.resolve({ id, status: 'acked' } as OutboxEntry);
    return new Promise((resolve) => {
      const waiting = this.waiting.get(id);
      if (waiting) waiting.push(resolve);
      else this.waiting.set(id, [resolve]);
    });
  }

  /** Removes a message (typically a rejected one the user gave up on); reported with status `discarded`. */
  async discard(id: string): Promise<void> {
    const entry = this.entries.get(id);
    if (!entry) return;
    await delMany([id], this.store);
    this.gone({ ...entry, status: 'discarded' });
  }

  /**
   * Sends a rejected message again, as a new message: the server remembers
   * the refused id and would answer it with the same refusal, so the retry
   * gets a fresh id (and a place at the end of the queue). Resolves with the
   * new entry; the old one is reported `discarded`.
   * @example const again = await socket.outbox!.retry(entry.id); track(again.id);
   */
  async retry(id: string): Promise<OutboxEntry | undefined> {
    const entry = this.entries.get(id);
    if (!entry || entry.status !== 'rejected') return undefined;
    const again = await this.add(entry.topic, entry.event, entry.payload);
    await this.discard(id);
    return again;
  }

  /** Observes every status change, from this tab or another. */
  onChange(callback: (entry: OutboxEntry) => void): Unsubscribe {
    return this.changes.on(callback);
  }

  /** Observes storage failures (a full quota included). */
  onError(callback: (error: PlumeError) => void): Unsubscribe {
    return this.errors.on(callback);
  }

  /** Re-reads IndexedDB, picking up entries other tabs stored. */
  async reload(): Promise<void> {
    try {
      const stored = await values<OutboxEntry>(this.store);
      for (const entry of stored) if (!this.entries.has(entry.id)) this.put(entry.status === 'sent' ? { ...entry, status: 'queued' } : entry, false);
    } catch (cause) {
      this.errors.emit(storageError('reading the outbox', cause));
    }
  }

  /** @internal Marks an entry sent or queued again (in memory; the store keeps `queued`). */
  mark(id: string, status: 'queued' | 'sent'): void {
    const current = this.entries.get(id);
    if (current && current.status !== status && current.status !== 'rejected') this.put({ ...current, status });
  }

  /** @internal The server acknowledged it: forget it (deleted in the next batch). */
  acknowledge(id: string, response: Payload, epoch?: string, seq?: number): void {
    const current = this.entries.get(id);
    if (!current) return;
    this.acked.push(id);
    this.deleting ??= this.deleteAcked();
    this.gone({ ...current, status: 'acked', response, epoch, seq });
  }

  /** @internal The server refused it for good: keep it as rejected, with the reason. */
  reject(id: string, response: Payload): void {
    const current = this.entries.get(id);
    if (!current) return;
    const rejected: OutboxEntry = { ...current, status: 'rejected', response, reason: String(response.reason ?? 'rejected') };
    set(id, rejected, this.store).catch((cause: unknown) => this.errors.emit(storageError('recording a rejection', cause)));
    this.put(rejected);
  }

  /** Stops talking to other tabs. */
  close(): void {
    this.bus.close();
  }

  private list(keep: (entry: OutboxEntry) => boolean): OutboxEntry[] {
    // The flusher lists pending entries after every ack: keeping the map in key order makes that a
    // filter instead of a sort. Entries arrive in key order except from a reload or another tab.
    if (!this.ordered) {
      const sorted = [...this.entries.values()].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
      this.entries.clear();
      for (const entry of sorted) this.entries.set(entry.id, entry);
      this.ordered = true;
    }
    const kept: OutboxEntry[] = [];
    for (const entry of this.entries.values()) if (keep(entry)) kept.push(entry);
    return kept;
  }

  private put(entry: OutboxEntry, share = true): void {
    if (!this.entries.has(entry.id)) {
      if (entry.key < this.lastKey) this.ordered = false;
      else this.lastKey = entry.key;
    }
    this.entries.set(entry.id, entry);
    if (share) this.bus.post({ type: 'put', entry } satisfies TabMessage);
    this.changed(entry);
  }

  private gone(entry: OutboxEntry, share = true): void {
    this.entries.delete(entry.id);
    if (share) this.bus.post({ type: 'gone', entry } satisfies TabMessage);
    this.changed(entry);
  }

  private changed(entry: OutboxEntry): void {
    // A listener may change an entry while we emit (the flusher sends from inside `queued`): queue
    // such changes so every listener sees every entry's changes in the order they happened.
    this.pendingChanges.push(entry);
    if (this.emitting) return;
    this.emitting = true;
    try {
      for (let next = this.pendingChanges.shift(); next; next = this.pendingChanges.shift()) this.settle(next);
    } finally {
      this.emitting = false;
    }
  }

  private settle(entry: OutboxEntry): void {
    this.changes.emit(entry);
    if (entry.status !== 'acked' && entry.status !== 'rejected') return;
    const waiting = this.waiting.get(entry.id);
    if (!waiting) return;
    this.waiting.delete(entry.id);
    for (const resolve of waiting) resolve(entry);
  }

  private fromTab(message: TabMessage): void {
    if (message.type === 'put') this.put(message.entry, false);
    else if (this.entries.has(message.entry.id)) this.gone(message.entry, false);
  }

  /** Stores a new entry; resolves once the transaction holding it has committed. */
  private write(entry: OutboxEntry): Promise<void> {
    return new Promise((stored, failed) => {
      this.writes.push({ entry, stored, failed });
      this.writing ??= this.writeQueued();
    });
  }

  private async writeQueued(): Promise<void> {
    // Entries added in the same task, or while a write is in flight, share the next transaction.
    // Read-write transactions on one store run one at a time anyway, and each strict commit is a
    // disk flush: 1,000 sends in a burst cost a few commits instead of 1,000 (see bench/outbox).
    await Promise.resolve();
    while (this.writes.length > 0) {
      const batch = this.writes;
      this.writes = [];
      let stored: Write[];
      try {
        stored = await this.store('readwrite', (store) => {
          const accepted: Write[] = [];
          for (const write of batch) {
            try {
              store.put(write.entry, write.entry.id);
              accepted.push(write);
            } catch (cause) {
              // A value IndexedDB cannot store (DataCloneError) fails its own add() only; nothing is written for it.
              write.failed(cause);
            }
          }
          return promisifyRequest(store.transaction).then(() => accepted);
        });
      } catch (cause) {
        // The transaction aborted (or the database would not open): nothing in it was stored.
        for (const write of batch) write.failed(cause);
        continue;
      }
      for (const write of stored) write.stored();
    }
    this.writing = null;
  }

  private async deleteAcked(): Promise<void> {
    // Acknowledgements that arrive together are deleted in one transaction.
    await Promise.resolve();
    while (this.acked.length > 0) {
      const ids = this.acked;
      this.acked = [];
      try {
        await delMany(ids, this.store);
      } catch (cause) {
        // The entries stay on disk and are re-sent after a reload; the server answers them as duplicates.
        this.errors.emit(storageError('deleting acknowledged messages', cause));
      }
    }
    this.deleting = null;
  }
}
