/**
 * A Yjs document bound to a channel (PROTOCOL.md §11): on every join the
 * client and server exchange state vectors and send each other only what
 * the other lacks; every local update is pushed, broadcast in order and
 * applied by every member; a member that missed updates syncs again: history
 * keeps them folded (their positions only), so a replay or a gap filled
 * from history names them, and `recovered: false` says it could not. Offline, edits stay
 * in IndexedDB (y-indexeddb), survive a reload, and go out with the next
 * sync: keystrokes are never queued one by one.
 *
 * Responsible for the document's side of the channel. Not responsible for
 * awareness (`awareness.ts`) or for storing anything on the server.
 */
import { IndexeddbPersistence } from 'y-indexeddb';
import * as Y from 'yjs';
import type { Channel } from '../channel';
import { Listeners, type Unsubscribe } from '../listeners';
import type { Presence } from '../presence';
import { REASONS } from '../protocol';
import { Awareness, shareAwareness } from './awareness';
import type { PushResult } from '../push';
import { DOC_EVENT, DOC_OPS, PART_HEADER, readSynced, withOp, withPart } from './sync';

/** Options for {@link bindDoc}. */
export interface DocOptions {
  /**
   * Keep the document in IndexedDB (y-indexeddb) under this name, so edits made offline survive a
   * reload. Default: `plume-doc:<topic>` where IndexedDB exists; `false` keeps it in memory only.
   */
  persist?: string | false;
  /** Share awareness (cursors, who is editing) over the channel. Default true. */
  awareness?: boolean;
  /** The channel's presence: a member's awareness states (`state.user.id` = its key) leave with it. */
  presence?: Presence;
}

/** Where a bound document stands. */
export type DocStatus = 'offline' | 'syncing' | 'synced';

/** Refusals that sending the same edits again soon would not change: waited out until the next join. */
const TRANSIENT = new Set<string>([REASONS.unavailable, REASONS.rateLimited, REASONS.unmatchedTopic]);

/** The first size of the parts an update too large for one frame is cut into (PROTOCOL.md §11). */
const PART_BYTES = 32 * 1024;
/** The smallest: halving stops here. */
const MIN_PART_BYTES = 1024;

/** Updates applied from the server or a peer: not sent back. */
const REMOTE = Symbol('plume-remote');

/**
 * @example
 * import * as Y from 'yjs';
 * import { bindDoc } from 'plume/yjs';
 * const room = socket.channel('room:notes');
 * const notes = bindDoc(room, new Y.Doc(), { presence });
 * room.join();
 * await notes.synced;
 * notes.doc.getText('body').insert(0, 'Hello');
 * notes.awareness?.setLocalStateField('user', { id: 'ada', name: 'Ada', color: '#e91e63' });
 */
export class DocBinding {
  readonly doc: Y.Doc;
  /** The document's awareness, shared with the room (null when `awareness: false`). */
  readonly awareness: Awareness | null;
  /** Resolves after the first sync with the server (edits made before it are not lost: they go with it). */
  readonly synced: Promise<void>;
  private state: DocStatus = 'offline';
  private readonly changes = new Listeners<[DocStatus]>();
  private readonly refusals = new Listeners<[string]>();
  private refusedFor: string | null = null;
  private readonly persistence: IndexeddbPersistence | null;
  private readonly unwire: Unsubscribe[] = [];
  private markSynced!: () => void;
  /** Bumped per sync: an answer to an older one is ignored. */
  private generation = 0;
  /** An update was missed while a sync was under way (that sync may have been answered before it was stored). */
  private missedDuringSync = false;
  /** A sync for missed updates is queued for the end of this task (a page of them asks once). */
  private missedQueued = false;
  /** Frame bytes an update is sent in: larger ones go in parts, halved while the server says `payload too large`. */
  private partBytes = PART_BYTES;
  private destroyed = false;

  constructor(private readonly channel: Channel, doc: Y.Doc, options: DocOptions) {
    this.doc = doc;
    this.synced = new Promise((resolve) => (this.markSynced = resolve));
    const persist = options.persist ?? (typeof indexedDB === 'undefined' ? false : `plume-doc:${channel.topic}`);
    this.persistence = persist === false ? null : new IndexeddbPersistence(persist, doc);
    this.awareness = options.awareness === false ? null : new Awareness(doc);
    if (this.awareness) this.unwire.push(shareAwareness(channel, this.awareness, options.presence));
    const onUpdate = (update: Uint8Array, origin: unknown) => {
      if (origin !== REMOTE && this.state === 'synced') void this.send(update);
    };
    doc.on('update', onUpdate);
    this.unwire.push(() => doc.off('update', onUpdate));
    this.unwire.push(channel.on<Uint8Array>(DOC_EVENT, (bytes, { binary }) => {
      if (binary && bytes[0] === DOC_OPS.update) this.apply(bytes.subarray(1));
    }));
    this.unwire.push(channel.onStateChange(({ to }) => {
      // A new join may come with new rights (or the quota may have freed): edits are offered again.
      if (to === 'joined') this.refusedFor = null;
      if (to === 'joined') void this.sync();
      else this.setStatus('offline');
    }));
    // History could not cover what was missed: a state-vector sync brings the document level again.
    this.unwire.push(channel.onRecover((report) => {
      if (!report.recovered && channel.state === 'joined') void this.sync();
    }));
    // History keeps updates folded (PROTOCOL.md §7): one this member missed comes back as a skip, and the
    // document, which holds it, is synced instead.
    this.unwire.push(channel.onFolded((event) => {
      if (event === DOC_EVENT) this.missed();
    }));
    if (channel.state === 'joined') void this.sync();
  }

  /** `offline` (not joined), `syncing`, or `synced` (live: local edits go out as they are made). */
  get status(): DocStatus {
    return this.state;
  }

  /** Observes status changes. */
  onStatus(callback: (status: DocStatus) => void): Unsubscribe {
    return this.changes.on(callback);
  }

  /**
   * Why the server refused this member's edits in the current join (`read only`, `document too large`,
   * `history quota exceeded`, `invalid update`; `payload too large` only when even 1 KiB parts are over the
   * server's frame limit), or null. Updates larger than a frame go in parts (PROTOCOL.md §11). While refused, local edits
   * stay in the document (and IndexedDB) without being sent; the next join offers them again.
   */
  get refused(): string | null {
    return this.refusedFor;
  }

  /**
   * Observes refusals of this member's edits (see {@link refused}).
   * @example notes.onRefused((reason) => banner.textContent = reason === 'read only' ? 'You can only read these notes' : reason);
   */
  onRefused(callback: (reason: string) => void): Unsubscribe {
    return this.refusals.on(callback);
  }

  /** Unbinds (the document and its IndexedDB copy stay) and says goodbye to awareness. */
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    for (const off of this.unwire.splice(0)) off();
    if (this.persistence) void closeCopy(this.persistence);
    this.awareness?.destroy();
  }

  /** Exchanges state vectors: applies what the server has and this client lacks, then sends the reverse. */
  private async sync(): Promise<void> {
    const generation = ++this.generation;
    this.setStatus('syncing');
    // Offline edits kept in IndexedDB are in the document before it is compared with the server's.
    await this.persistence?.whenSynced;
    if (generation !== this.generation || this.destroyed) return;
    const result = await this.channel.push(DOC_EVENT, withOp(DOC_OPS.sync, Y.encodeStateVector(this.doc)));
    if (generation !== this.generation || this.destroyed) return;
    const answer = result.status === 'ok' && result.binary ? readSynced(result.binary) : null;
    if (!answer) {
      // Refused or timed out: tried again on the next join or recovery report.
      if (result.status !== 'timeout') this.channel.socket.options.clock.setTimeout(() => generation === this.generation && void this.sync(), 1000);
      return;
    }
    this.apply(answer.missing);
    const ours = Y.encodeStateAsUpdate(this.doc, answer.stateVector);
    this.setStatus('synced');
    if (hasContent(ours) && this.refusedFor === null) await this.send(ours);
    this.markSynced();
    if (this.missedDuringSync && generation === this.generation) this.missed();
  }

  /** The server's document holds an update this member missed: a sync brings it (once per task). */
  private missed(): void {
    if (this.destroyed || this.channel.state !== 'joined') return;
    if (this.state === 'syncing') {
      this.missedDuringSync = true;
      return;
    }
    if (this.missedQueued) return;
    this.missedQueued = true;
    queueMicrotask(() => {
      this.missedQueued = false;
      this.missedDuringSync = false;
      if (!this.destroyed && this.channel.state === 'joined') void this.sync();
    });
  }

  /**
   * Pushes a local update. One that failed for a passing reason is made up for by a sync a second later;
   * one refused for good is kept here (not sent again in this join) and reported to `onRefused`.
   */
  private async send(update: Uint8Array): Promise<void> {
    if (this.refusedFor !== null) return;
    const generation = this.generation;
    const result = await this.pushUpdate(update);
    if (result.status === 'ok' || generation !== this.generation || this.channel.state !== 'joined' || this.destroyed) return;
    const reason = result.status === 'error' ? String((result.response as { reason?: unknown }).reason ?? '') : '';
    // The server takes smaller frames than this client cut: smaller parts, from the next sync.
    const smaller = reason === REASONS.payloadTooLarge && this.partBytes > MIN_PART_BYTES;
    if (smaller) this.partBytes = Math.max(MIN_PART_BYTES, this.partBytes >> 1);
    if (result.status === 'error' && !TRANSIENT.has(reason) && !smaller) {
      if (this.refusedFor === null) {
        this.refusedFor = reason;
        this.refusals.emit(reason);
      }
      return;
    }
    this.channel.socket.options.clock.setTimeout(() => generation === this.generation && this.channel.state === 'joined' && void this.sync(), 1000);
  }

  /**
   * Pushes an update: in one frame when it fits in `partBytes`, else in parts, in order (PROTOCOL.md §11);
   * resolves with the reply to the whole (the first refusal, or the last part's answer).
   */
  private async pushUpdate(update: Uint8Array): Promise<PushResult> {
    if (1 + update.length <= this.partBytes) return this.channel.push(DOC_EVENT, withOp(DOC_OPS.update, update));
    const step = this.partBytes - PART_HEADER;
    const parts: Array<PromiseLike<PushResult>> = [];
    for (let offset = 0; offset < update.length; offset += step) parts.push(this.channel.push(DOC_EVENT, withPart(update.length, offset, update.subarray(offset, offset + step))));
    const results = await Promise.all(parts);
    return results.find((result) => result.status !== 'ok') ?? results[results.length - 1]!;
  }

  private apply(update: Uint8Array): void {
    try {
      Y.applyUpdate(this.doc, update, REMOTE);
    } catch {
      // The server validates every update; one that fails here came corrupted: a full sync repairs it.
      void this.sync();
    }
  }

  private setStatus(status: DocStatus): void {
    if (this.state === status) return;
    this.state = status;
    this.changes.emit(status);
  }
}

/**
 * Closes the document's IndexedDB copy. y-indexeddb stores the edits made before its database opened
 * only once it has loaded, and never if it is destroyed first: those are added here before it closes
 * (added, not folded: y-indexeddb's own `storeState` would delete what other copies stored meanwhile).
 */
async function closeCopy(persistence: IndexeddbPersistence): Promise<void> {
  if (!persistence.synced) {
    try {
      const db = await persistence._db;
      // In the same task as the open resolves, before `destroy()` below (or a `doc.destroy()`) closes it.
      const stored = db.transaction('updates', 'readwrite');
      stored.objectStore('updates').add(Y.encodeStateAsUpdate(persistence.doc));
      await new Promise((resolve, reject) => {
        stored.oncomplete = resolve;
        stored.onabort = stored.onerror = () => reject(stored.error);
      });
    } catch {
      // IndexedDB failed to open or to write: nothing more can be kept on this device; the server has what was sent.
    }
  }
  await persistence.destroy();
}

/** An update that holds something (an empty one is two zero bytes). */
function hasContent(update: Uint8Array): boolean {
  return update.length > 2;
}

/**
 * Binds a Yjs document to a channel: join the channel (before or after) and the document syncs with
 * the room, in both directions, online and offline. Returns the binding; `binding.doc` is the document.
 *
 * @example const notes = bindDoc(socket.channel('room:notes'), new Y.Doc());
 */
export function bindDoc(channel: Channel, doc: Y.Doc = new Y.Doc(), options: DocOptions = {}): DocBinding {
  return new DocBinding(channel, doc, options);
}
