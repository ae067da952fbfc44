/**
 * Presence on the server: who is in each topic, in Phoenix.Presence's
 * model and wire shapes, so the official `phoenix` client's `Presence`
 * works unmodified (PROTOCOL.md, "Presence").
 *
 * Responsible for tracking channels (key = user identity, one meta per
 * channel), the grace period that keeps a dropped socket's presence until
 * it reconnects (no leave-then-join for the others) and ends it at once when
 * the same tab is back under another key (a rename), coalescing changes into
 * one diff per topic per interval, and the API server code uses. Not
 * responsible for frames (`topic.ts`) or other nodes (`cluster.ts`).
 */
import { randomBytes } from 'node:crypto';
import type { Payload, PresenceDiff, PresenceState } from '../../src/protocol';
import { ok, refuse, type ChannelSocket, type Reply, type TerminateReason } from '../channels/channel';
import type { NodeRegistry } from '../engine/engine';
import type { PubSub } from '../pubsub/pubsub';
import { PresenceCluster, type ClusterHost, type NodeState } from './cluster';
import { emptyState } from './diff';
import { checkRoom, checkServerFields, DEFAULT_PRESENCE_LIMITS, PendingTracks, type PresenceLimits } from './limits';
import { asMember, canonical, clientFields, content, fields } from './meta';
import { Topics, applyDelta, dropNode, replaceNode } from './replica';
import type { Entry, LocalTrack, PresenceMember, TopicPresence } from './topic';

/** Timing of presence; `PlumeServer` fills it from its options. */
export interface PresenceOptions {
  /** How long the presences of a dropped socket stay, waiting for it to come back (ms). */
  graceMs: number;
  /** Changes within this interval go out as one diff per topic (ms); 0 sends each at once. */
  coalesceMs: number;
  /**
   * Heartbeat between nodes (ms): a node silent for three of them, whose beat in the engine's registry
   * lapsed too, is down and its presences leave (within about 8 s of a kill at the default). Default 2000.
   */
  heartbeatMs?: number;
  /** The engine's node registry (a node beats there; see `cluster.ts`). Default: none (heartbeats alone). */
  nodes?: NodeRegistry;
  /** Reports registry failures. */
  onError?: (error: unknown) => void;
  /** Caps on metas per key and topic and on their size (`limits.ts`). Default `DEFAULT_PRESENCE_LIMITS`. */
  limits?: PresenceLimits;
}

/** A meta, or a function from the current one to the next. */
export type MetaUpdate = Payload | ((current: Payload) => Payload);

/** What one channel asked of presence. */
interface Membership {
  /** Set by `track`: the key and server fields, used when the channel becomes active. */
  track: { key: string; serverMeta: Payload } | null;
  /** The channel's entry, once tracked and active. */
  entry: Entry | null;
  /** True once the channel is joined and receives presence frames. */
  active: boolean;
}

/** Ends after which a channel's presence leaves at once rather than after the grace period. */
const DELIBERATE: ReadonlySet<TerminateReason> = new Set(['leave', 'stopped']);

/**
 * @example
 * server.channel('doc:*', {
 *   join(topic, params, socket) {
 *     server.presence.track(socket, { name: socket.assigns.name, device: String(params.device ?? 'web') });
 *     return ok();
 *   },
 *   handleIn(event, payload, socket) {
 *     if (event === 'away') server.presence.update(socket, (meta) => ({ ...meta, away: payload.away === true }));
 *     return ok();
 *   },
 * });
 * server.presence.list('doc:42'); // { 'user-7': { metas: [{ phx_ref: '…', name: 'Ada', device: 'web' }] } }
 */
export class PresenceTracker implements ClusterHost {
  readonly node: string;
  private readonly options: Required<Pick<PresenceOptions, 'graceMs' | 'coalesceMs' | 'heartbeatMs' | 'limits'>>;
  private readonly topics = new Topics();
  private readonly pending = new PendingTracks();
  /** Weak: a channel whose join was refused after `track` is simply forgotten. */
  private readonly memberships = new WeakMap<PresenceMember, Membership>();
  private readonly tabs = new Map<string, string>();
  private readonly timers = new Map<TopicPresence, ReturnType<typeof setTimeout>>();
  private readonly cluster: PresenceCluster;
  private readonly refPrefix = randomBytes(4).toString('base64url');
  private refCount = 0;
  private closed = false;

  constructor(pubsub: PubSub, options: PresenceOptions) {
    this.options = { graceMs: options.graceMs, coalesceMs: options.coalesceMs, heartbeatMs: options.heartbeatMs ?? 2_000, limits: options.limits ?? DEFAULT_PRESENCE_LIMITS };
    this.node = pubsub.nodeName;
    this.cluster = new PresenceCluster(pubsub, this, this.options.heartbeatMs, options.nodes ?? null, options.onError);
  }

  /**
   * Tracks the channel's socket in its topic under `key` (default: the
   * user's identity, `socket.assigns.userId`) with the app's fields. Call it
   * in `join` or later; the channel then receives `presence_state` and
   * `presence_diff`. Several channels of one key (tabs, devices) are one
   * presence with several metas.
   *
   * Throws `PresenceLimitError` when the key or the topic is at its cap
   * (`presence limit`) or the fields are too large (`presence fields too
   * large`); let it escape from `join` and the join is refused with that reason.
   * @example server.presence.track(socket, { name: socket.assigns.name, status: 'online' });
   */
  track(socket: ChannelSocket, meta: Payload = {}, key: string = socket.assigns.userId): void {
    const member = asMember(socket, 'track');
    const membership = this.membership(member);
    if (membership.track) throw new Error(`presence.track: this channel of ${member.topic} is already tracked; change its meta with presence.update(socket, meta)`);
    if (typeof key !== 'string' || key === '') throw new TypeError('presence.track: the key is empty; pass one, or set socket.assigns.userId');
    const serverMeta = fields(meta, 'presence.track');
    checkServerFields(serverMeta, this.options.limits, 'presence.track');
    this.checkRoom(member, key);
    membership.track = { key, serverMeta };
    if (member.joined) this.activate(member, membership);
    else this.pending.add(member, key);
  }

  /**
   * Replaces the app's fields of a tracked channel (or maps them with a
   * function). Members see one diff: the old meta leaves, the new one joins.
   * Throws `PresenceLimitError` when the new fields are too large.
   * @example server.presence.update(socket, (meta) => ({ ...meta, status: 'away' }));
   */
  update(socket: ChannelSocket, meta: MetaUpdate): void {
    const membership = this.memberships.get(asMember(socket, 'update'));
    if (!membership?.track) throw new Error('presence.update before presence.track: track the channel first');
    const local = membership.entry?.local;
    const current = local?.serverMeta ?? membership.track.serverMeta;
    const next = fields(typeof meta === 'function' ? meta({ ...current }) : meta, 'presence.update');
    checkServerFields(next, this.options.limits, 'presence.update');
    membership.track.serverMeta = next;
    const topic = this.topics.get(socket.topic);
    if (local && membership.entry && topic) {
      local.serverMeta = next;
      this.refresh(topic, membership.entry);
    }
  }

  /** Removes the channel's presence at once; it keeps receiving presence frames. */
  untrack(socket: ChannelSocket): void {
    const member = asMember(socket, 'untrack');
    const membership = this.memberships.get(member);
    if (!membership?.track) return;
    membership.track = null;
    this.pending.delete(member);
    const entry = membership.entry;
    membership.entry = null;
    const topic = this.topics.get(socket.topic);
    if (entry && topic?.remove(entry)) this.schedule(topic);
  }

  /** Sends the channel presence frames without tracking it (an observer). */
  watch(socket: ChannelSocket): void {
    const member = asMember(socket, 'watch');
    const membership = this.membership(member);
    if (member.joined) this.activate(member, membership);
  }

  /**
   * The presences of `topic` on every node, in Phoenix's shape (an object
   * without prototype: its keys are user identities, `__proto__` included).
   * @example Object.keys(server.presence.list('room:lobby')) // ['Ada', 'Bob']
   */
  list(topic: string): PresenceState {
    return this.topics.get(topic)?.list() ?? emptyState();
  }

  /** Metas in every topic, this node's and the other nodes' (for `/metrics`). */
  entries(): number {
    let count = 0;
    for (const topic of this.topics.values()) count += topic.size;
    return count;
  }

  /** @internal Starts replication; called by the server when it starts. */
  start(): void {
    this.cluster.start();
  }

  /** @internal Stops timers and tells other nodes this node's presences are gone. */
  close(): void {
    this.closed = true;
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
    for (const topic of this.topics.values()) for (const entry of topic.entries()) clearTimeout(entry.local?.timer);
    this.topics.clear();
    this.cluster.close();
  }

  /** @internal A socket opened, with the tab id its client sent (or none). */
  socketOpened(socketId: string, tab: string | undefined): void {
    if (tab) this.tabs.set(socketId, tab.slice(0, 64));
  }

  /** @internal A socket is gone. */
  socketClosed(socketId: string): void {
    this.tabs.delete(socketId);
  }

  /** @internal A channel became joined. */
  joined(member: PresenceMember): void {
    const membership = this.memberships.get(member);
    if (membership) this.activate(member, membership);
  }

  /** @internal A joined channel ended: its presence leaves now, or lingers for the grace period. */
  ended(member: PresenceMember, reason: TerminateReason | null): void {
    const membership = this.memberships.get(member);
    this.memberships.delete(member);
    this.pending.delete(member);
    const topic = this.topics.get(member.topic);
    if (!membership || !topic) return;
    topic.unlisten(member);
    const entry = membership.entry;
    if (entry?.local && (this.options.graceMs === 0 || (reason !== null && DELIBERATE.has(reason)) || this.succeeded(topic, entry))) topic.remove(entry);
    else if (entry?.local) this.linger(topic, entry, entry.local);
    this.schedule(topic);
  }

  /** @internal `plume:presence` from a client: replaces the client's own fields. */
  clientUpdate(member: PresenceMember, payload: Payload): Reply {
    const entry = this.memberships.get(member)?.entry;
    const topic = this.topics.get(member.topic);
    if (!entry?.local || !topic) return refuse('not tracked');
    const clientMeta = clientFields(payload, this.options.limits.maxMetaBytes);
    if (!clientMeta) return refuse('presence fields too large');
    entry.local.clientMeta = clientMeta;
    this.refresh(topic, entry);
    return ok();
  }

  // ClusterHost: other nodes' presences

  applyDelta(node: string, topic: string, diff: PresenceDiff): void {
    this.schedule(applyDelta(this.topics, node, topic, diff));
  }

  replaceNode(node: string, state: NodeState): void {
    for (const topic of replaceNode(this.topics, node, state)) this.schedule(topic);
  }

  dropNode(node: string): void {
    for (const topic of dropNode(this.topics, node)) this.schedule(topic);
  }

  localState(): NodeState {
    // Publish pending changes first: a join in the state whose leave is still pending would otherwise
    // cancel out of the next delta, and stay forever on the node that asked.
    for (const topic of [...this.topics.values()]) if (topic.scheduled) this.flush(topic);
    const state: NodeState = {};
    for (const [name, topic] of this.topics) {
      const own = topic.list(this.node);
      if (Object.keys(own).length > 0) state[name] = own;
    }
    return state;
  }

  private membership(member: PresenceMember): Membership {
    let membership = this.memberships.get(member);
    if (!membership) this.memberships.set(member, (membership = { track: null, entry: null, active: false }));
    return membership;
  }

  /** The channel is joined: it listens, and its track (if any) enters the topic. */
  private activate(member: PresenceMember, membership: Membership): void {
    const topic = this.topics.ensure(member.topic);
    if (!membership.active) {
      membership.active = true;
      topic.listen(member);
    }
    if (membership.track && !membership.entry) {
      membership.entry = this.enter(topic, member, membership.track);
      this.pending.delete(member);
    }
    this.schedule(topic);
  }

  /** Throws unless a new meta of `key` fits the caps of the member's topic (taking over its own lingering meta always does). */
  private checkRoom(member: PresenceMember, key: string): void {
    const topic = this.topics.get(member.topic);
    if (topic?.lingering(key, this.tabs.get(member.socketId) ?? null)) return;
    const pending = this.pending.count(member.topic, key);
    checkRoom({ ofKey: (topic?.count(key) ?? 0) + pending.ofKey, total: (topic?.size ?? 0) + pending.total }, this.options.limits, key, member.topic);
  }

  /** Adds the channel's entry, or takes over its own lingering one (a reconnect within the grace period). */
  private enter(topic: TopicPresence, member: PresenceMember, track: { key: string; serverMeta: Payload }): Entry {
    const tab = this.tabs.get(member.socketId) ?? null;
    const lingering = topic.lingering(track.key, tab);
    if (lingering?.local) {
      clearTimeout(lingering.local.timer);
      lingering.local.member = member;
      lingering.local.serverMeta = track.serverMeta;
      this.refresh(topic, lingering);
      return lingering;
    }
    const local: LocalTrack = { member, tab, serverMeta: track.serverMeta, clientMeta: {} };
    const entry: Entry = { key: track.key, node: this.node, meta: { ...content(local), phx_ref: this.ref() }, local };
    topic.add(entry);
    // The tab came back under another key (a rename): its lingering entry is the same person, gone now.
    for (const old of topic.otherEntriesOfTab(tab, entry)) {
      if (old.local?.member !== null) continue; // still connected: it goes when its socket does (`ended`)
      clearTimeout(old.local.timer);
      topic.remove(old);
    }
    return entry;
  }

  /** True when the entry's tab already tracks this topic again on another socket: nothing to wait for. */
  private succeeded(topic: TopicPresence, entry: Entry): boolean {
    return topic.otherEntriesOfTab(entry.local?.tab ?? null, entry).some((other) => other.local?.member);
  }

  /** Recomputes an entry's meta from its fields; a change is an update (new ref, `phx_ref_prev`). */
  private refresh(topic: TopicPresence, entry: Entry): void {
    if (!entry.local) return;
    const next = content(entry.local);
    const { phx_ref: ref, phx_ref_prev: _prev, ...current } = entry.meta;
    if (canonical(current) === canonical(next)) return;
    topic.replace(entry, { ...next, phx_ref: this.ref(), phx_ref_prev: ref });
    this.schedule(topic);
  }

  private linger(topic: TopicPresence, entry: Entry, local: LocalTrack): void {
    local.member = null;
    local.timer = setTimeout(() => {
      if (local.member === null && topic.remove(entry)) this.schedule(topic);
    }, this.options.graceMs);
    local.timer.unref();
  }

  /** Flushes `topic` after the coalescing interval (or in a microtask when it is 0). */
  private schedule(topic: TopicPresence): void {
    if (topic.scheduled || this.closed) return;
    topic.scheduled = true;
    if (this.options.coalesceMs <= 0) return queueMicrotask(() => this.flush(topic));
    const timer = setTimeout(() => this.flush(topic), this.options.coalesceMs);
    timer.unref();
    this.timers.set(topic, timer);
  }

  private flush(topic: TopicPresence): void {
    clearTimeout(this.timers.get(topic));
    this.timers.delete(topic);
    if (this.closed || !topic.scheduled) return;
    const delta = topic.flush();
    if (delta) this.cluster.publish(topic.name, delta);
    if (topic.idle && this.topics.get(topic.name) === topic) this.topics.delete(topic.name);
  }

  private ref(): string {
    return `${this.refPrefix}${(++this.refCount).toString(36)}`;
  }
}
