/**
 * The presence of one topic as this node sees it: every node's entries,
 * this node's members that listen to it, and the changes not sent yet.
 *
 * Responsible for keeping each listening member exact: a member gets the
 * full state once, then every later change exactly once, in diffs. Not
 * responsible for timing (`tracker.ts` decides when to flush) or for other
 * nodes (`cluster.ts` carries what `flush` returns).
 */
import { EVENTS, encodeRaw, type Payload, type PresenceDiff, type PresenceMeta, type PresenceState } from '../../src/protocol';
import type { Assigns } from '../channels/channel';
import { DiffBuilder, emptyState } from './diff';

/** What presence needs of a channel; the server's channel instances are ones. */
export interface PresenceMember {
  readonly topic: string;
  readonly joinRef: string;
  readonly socketId: string;
  readonly assigns: Assigns;
  /** False while joining and once ended. */
  readonly joined: boolean;
  /** True once the channel ended (or its join was refused); absent on members that cannot tell. */
  readonly ended?: boolean;
  /** Sends an encoded frame if the channel is joined. */
  sendRaw(frame: string): void;
}

/** This node's bookkeeping for an entry it tracks itself. */
export interface LocalTrack {
  /** The channel it belongs to, or null while it lingers after its socket dropped. */
  member: PresenceMember | null;
  /** The tab id of the socket that tracked it, or null (plain Phoenix clients). */
  readonly tab: string | null;
  /** Fields set by server code (`track`, `update`); they win over the client's. */
  serverMeta: Payload;
  /** Fields set by the client (`plume:presence`). */
  clientMeta: Payload;
  /** Ends a lingering entry when its grace period is over. */
  timer?: ReturnType<typeof setTimeout>;
}

/** One meta of one key, owned by one node. */
export interface Entry {
  readonly key: string;
  meta: PresenceMeta;
  /** The node that tracks it. */
  readonly node: string;
  /** Present on the node that tracks it. */
  readonly local?: LocalTrack;
}

/**
 * @example
 * const room = new TopicPresence('room:lobby');
 * room.listen(member);                       // gets the state at the next flush
 * room.add({ key: 'ada', node, meta, local }); // a join, sent in the next diff
 * const delta = room.flush();                // frames sent; delta is for other nodes
 */
export class TopicPresence {
  readonly name: string;
  /** True while a flush is scheduled. */
  scheduled = false;
  private readonly keys = new Map<string, Map<string, Entry>>();
  /** Entries held, of every key and node. */
  private held = 0;
  /** Members that have the state and get diffs. */
  private readonly synced = new Set<PresenceMember>();
  /** Members that get the state at the next flush. */
  private readonly awaiting = new Set<PresenceMember>();
  /** Every change since the last flush, for this node's members. */
  private readonly toMembers = new DiffBuilder();
  /** Changes to this node's own entries since the last flush, for the other nodes. */
  private readonly toNodes = new DiffBuilder();

  constructor(name: string) {
    this.name = name;
  }

  /** True when the topic holds nothing and owes nothing: it can be forgotten. */
  get idle(): boolean {
    return !this.scheduled && this.keys.size === 0 && this.synced.size === 0 && this.awaiting.size === 0 && this.toMembers.empty && this.toNodes.empty;
  }

  /** Entries held, of every key and node (lingering ones included). */
  get size(): number {
    return this.held;
  }

  /** Entries of `key`, of every node. */
  count(key: string): number {
    return this.keys.get(key)?.size ?? 0;
  }

  /** Starts sending presence frames to `member`: the state at the next flush, then diffs. */
  listen(member: PresenceMember): void {
    if (!this.synced.has(member)) this.awaiting.add(member);
  }

  /** Stops sending to `member`. */
  unlisten(member: PresenceMember): void {
    this.synced.delete(member);
    this.awaiting.delete(member);
  }

  add(entry: Entry): void {
    let metas = this.keys.get(entry.key);
    if (!metas) this.keys.set(entry.key, (metas = new Map()));
    if (!metas.has(entry.meta.phx_ref)) this.held++;
    metas.set(entry.meta.phx_ref, entry);
    this.record('join', entry);
  }

  /** Removes an entry; false if it was not here. */
  remove(entry: Entry): boolean {
    const metas = this.keys.get(entry.key);
    if (metas?.get(entry.meta.phx_ref) !== entry) return false;
    metas.delete(entry.meta.phx_ref);
    this.held--;
    if (metas.size === 0) this.keys.delete(entry.key);
    this.record('leave', entry);
    return true;
  }

  /** Replaces an entry's meta: a leave of the old one and a join of the new one, in one diff. The key keeps its place. */
  replace(entry: Entry, meta: PresenceMeta): void {
    const metas = this.keys.get(entry.key);
    if (metas?.get(entry.meta.phx_ref) !== entry) return;
    metas.delete(entry.meta.phx_ref);
    this.record('leave', entry);
    entry.meta = meta;
    metas.set(meta.phx_ref, entry);
    this.record('join', entry);
  }

  find(key: string, ref: string): Entry | undefined {
    return this.keys.get(key)?.get(ref);
  }

  /** A local entry of `key` whose socket dropped and that `tab` may take over. */
  lingering(key: string, tab: string | null): Entry | undefined {
    for (const entry of this.keys.get(key)?.values() ?? []) {
      if (entry.local && entry.local.member === null && entry.local.tab === tab) return entry;
    }
    return undefined;
  }

  /**
   * This node's other entries of the browser tab `tab` (in any key): a tab
   * is one presence per topic, so these are leftovers once it tracks anew
   * (a rename reconnects under a new key). Null (no tab id) has none.
   */
  otherEntriesOfTab(tab: string | null, except: Entry): Entry[] {
    if (tab === null) return [];
    return [...this.entries()].filter((entry) => entry !== except && entry.local?.tab === tab);
  }

  /** Every entry, of every key. */
  *entries(): IterableIterator<Entry> {
    for (const metas of this.keys.values()) yield* metas.values();
  }

  /** The state in Phoenix's shape; only `node`'s entries when given. */
  list(node?: string): PresenceState {
    const state = emptyState();
    for (const [key, metas] of this.keys) {
      const list = [...metas.values()].filter((e) => node === undefined || e.node === node).map((e) => e.meta);
      if (list.length > 0) state[key] = { metas: list };
    }
    return state;
  }

  /**
   * Sends what is owed: the diff of the interval to members that have the
   * state, then the state (which includes it) to members waiting for it.
   * Returns this node's own changes, for the other nodes, or null.
   */
  flush(): PresenceDiff | null {
    this.scheduled = false;
    const diff = this.toMembers.take();
    if (diff && this.synced.size > 0) {
      const frame = encodeRaw(null, null, this.name, EVENTS.presenceDiff, JSON.stringify(diff));
      for (const member of this.synced) member.sendRaw(frame);
    }
    if (this.awaiting.size > 0) this.sendState();
    return this.toNodes.take();
  }

  /** Notes a change for this node's members, and for the other nodes if the entry is this node's own. */
  private record(change: 'join' | 'leave', entry: Entry): void {
    this.toMembers[change](entry.key, entry.meta);
    if (entry.local) this.toNodes[change](entry.key, entry.meta);
  }

  private sendState(): void {
    const json = JSON.stringify(this.list());
    for (const member of this.awaiting) {
      if (!member.joined) continue;
      // A push, as Phoenix sends it: it carries the join_ref, so a client drops a state meant for an older join.
      member.sendRaw(encodeRaw(member.joinRef, null, this.name, EVENTS.presenceState, json));
      this.awaiting.delete(member);
      this.synced.add(member);
    }
  }
}
