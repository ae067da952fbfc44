/**
 * Who is in a channel's topic, in the shape of the `phoenix` client's
 * `Presence` (`onJoin`, `onLeave`, `onSync`, `list`), plus `update()` to set
 * this client's own fields (a typing flag, a status) and `live` to tell a
 * current list from the last one seen before the connection dropped.
 *
 * Responsible for merging `presence_state` and `presence_diff` into one
 * view, holding diffs that arrive before the state of the current join, and
 * sending this client's fields (throttled) after every join. Not responsible
 * for the channel: it listens to it and pushes on it, nothing more.
 */
import type { Channel } from './channel';
import { Listeners, type Unsubscribe } from './listeners';
import { EVENTS, REASONS, type Payload, type PresenceDiff, type PresenceMeta, type PresenceState } from './protocol';
import type { TimerHandle } from './timer';

/** One key's presence: a meta per tab or device. */
export interface PresenceEntry {
  metas: PresenceMeta[];
}

/** Presences by key, in arrival order. */
export type Presences = Map<string, PresenceEntry>;

/** `current` is the key's presence before the join (undefined if it is new). */
export type JoinCallback = (key: string, current: PresenceEntry | undefined, joined: PresenceEntry) => void;
/** `current` is what is left of the key after the leave (no metas: the key is gone). */
export type LeaveCallback = (key: string, current: PresenceEntry, left: PresenceEntry) => void;

/** Options for `new Presence(channel, options)`. */
export interface PresenceOptions {
  /** Least time between two `plume:presence` pushes; later updates are merged into one (ms). Default 250. */
  throttleMs?: number;
}

const refs = (entry: PresenceEntry): Set<string> => new Set(entry.metas.map((meta) => meta.phx_ref));

/**
 * Applies a diff to `state` (in place) as Phoenix does: joins first, then
 * leaves by `phx_ref`; a key without metas is removed.
 * @example syncDiff(state, { joins: { ada: { metas: [{ phx_ref: 'r2' }] } }, leaves: {} })
 */
export function syncDiff(state: Presences, diff: PresenceDiff, onJoin?: JoinCallback, onLeave?: LeaveCallback): Presences {
  for (const [key, joined] of Object.entries(diff.joins)) {
    const current = state.get(key);
    const fresh = refs(joined);
    state.set(key, { metas: [...(current?.metas.filter((meta) => !fresh.has(meta.phx_ref)) ?? []), ...joined.metas] });
    onJoin?.(key, current, joined);
  }
  for (const [key, left] of Object.entries(diff.leaves)) {
    const current = state.get(key);
    if (!current) continue;
    const gone = refs(left);
    const rest = { metas: current.metas.filter((meta) => !gone.has(meta.phx_ref)) };
    if (rest.metas.length > 0) state.set(key, rest);
    else state.delete(key);
    onLeave?.(key, rest, left);
  }
  return state;
}

/**
 * Replaces `state` (in place) by a full state, calling back for what
 * differs: keys and metas that appeared joined, those that vanished left.
 * @example syncState(new Map(), { ada: { metas: [{ phx_ref: 'r1' }] } }, (key) => console.log(key, 'joined'))
 */
export function syncState(state: Presences, next: PresenceState, onJoin?: JoinCallback, onLeave?: LeaveCallback): Presences {
  // Keys are user identities: objects without a prototype take any key, `__proto__` included.
  const diff: PresenceDiff = { joins: Object.create(null) as PresenceState, leaves: Object.create(null) as PresenceState };
  for (const [key, current] of state) {
    const now = Object.hasOwn(next, key) ? refs(next[key] as PresenceEntry) : new Set<string>();
    const left = current.metas.filter((meta) => !now.has(meta.phx_ref));
    if (left.length > 0) diff.leaves[key] = { metas: left };
  }
  for (const [key, entry] of Object.entries(next)) {
    const had = state.has(key) ? refs(state.get(key) as PresenceEntry) : new Set<string>();
    const joined = entry.metas.filter((meta) => !had.has(meta.phx_ref));
    if (joined.length > 0) diff.joins[key] = { metas: joined };
  }
  return syncDiff(state, diff, onJoin, onLeave);
}

/**
 * @example
 * const presence = new Presence(room);
 * presence.onSync(() => render(presence.list((key, { metas }) => ({ key, name: metas[0]?.name, tabs: metas.length }))));
 * presence.onJoin((key, current) => { if (!current) toast(`${key} is here`); });
 * presence.update({ typing: true }); // this client's fields, sent now and after every rejoin
 */
export class Presence {
  private readonly state: Presences = new Map();
  private readonly joins = new Listeners<Parameters<JoinCallback>>();
  private readonly leaves = new Listeners<Parameters<LeaveCallback>>();
  private readonly syncs = new Listeners<[]>();
  private readonly lives = new Listeners<[boolean]>();
  private isLive = false;
  /** Diffs that arrived before the state of the current join. */
  private pending: PresenceDiff[] = [];
  /** The join the state was received for. */
  private syncedRef: string | null = null;
  private readonly fields: Payload = {};
  /** JSON of the fields the server has, or null when it must be sent again. */
  private sent: string | null = null;
  private sentAt = -Infinity;
  private timer: TimerHandle | null = null;
  private readonly throttleMs: number;
  private readonly offs: Unsubscribe[];

  constructor(private readonly channel: Channel, options: PresenceOptions = {}) {
    this.throttleMs = options.throttleMs ?? 250;
    this.offs = [
      channel.on(EVENTS.presenceState, (payload) => this.received(payload as PresenceState)),
      channel.on(EVENTS.presenceDiff, (payload) => this.diffed(payload as unknown as PresenceDiff)),
      channel.onStateChange(({ to }) => {
        if (to !== 'joined') return this.setLive(false);
        // A new join is tracked afresh: the server must hear this client's fields again.
        this.sent = null;
        if (Object.keys(this.fields).length > 0) this.schedule();
      }),
    ];
  }

  /** Calls back when a key gets a meta (a person arrives, or opens another tab). */
  onJoin(callback: JoinCallback): Unsubscribe {
    return this.joins.on(callback);
  }

  /** Calls back when a key loses a meta; `current.metas` is empty when the key is gone. */
  onLeave(callback: LeaveCallback): Unsubscribe {
    return this.leaves.on(callback);
  }

  /** Calls back after every state or diff has been applied: the time to render. */
  onSync(callback: () => void): Unsubscribe {
    return this.syncs.on(callback);
  }

  /**
   * True while the list is current: the channel is joined and the server's
   * state for this join has arrived, so every change reaches it. False
   * before that and from the moment the channel stops being joined (the
   * socket dropped or went offline, the channel left or errored): the list
   * then still holds the last presences seen, which may be out of date, and
   * is replaced by the server's state once the channel is joined again.
   * @example peopleView.classList.toggle('stale', !presence.live);
   */
  get live(): boolean {
    return this.isLive;
  }

  /**
   * Calls back when `live` changes: after the `onSync` of the state that
   * made the list live, and when the channel stops being joined.
   * @example const off = presence.onLiveChange((live) => (badge.textContent = live ? 'online' : 'last seen'));
   */
  onLiveChange(callback: (live: boolean) => void): Unsubscribe {
    return this.lives.on(callback);
  }

  /**
   * The presences, in arrival order, each mapped by `by` if given.
   * @example presence.list((key, { metas }) => metas[0]?.name ?? key)
   */
  list<T = PresenceEntry>(by?: (key: string, entry: PresenceEntry) => T): T[] {
    return [...this.state].map(([key, entry]) => (by ? by(key, entry) : (entry as T)));
  }

  /** One key's presence, or undefined. */
  get(key: string): PresenceEntry | undefined {
    return this.state.get(key);
  }

  /**
   * Sets this client's own fields of its meta (merged; `undefined` removes
   * one) and sends them as `plume:presence`, at most once per `throttleMs`.
   * Fields the server set (such as `name`) win over these.
   * @example presence.update({ typing: true });
   */
  update(fields: Payload): void {
    for (const [key, value] of Object.entries(fields)) {
      if (value === undefined) delete this.fields[key];
      else this.fields[key] = value;
    }
    this.schedule();
  }

  /** Stops listening and sending. */
  dispose(): void {
    for (const off of this.offs) off();
    if (this.timer !== null) this.channel.socket.options.clock.clearTimeout(this.timer);
    this.timer = null;
  }

  private received(state: PresenceState): void {
    this.syncedRef = this.channel.joinRef;
    syncState(this.state, state, this.emitJoin, this.emitLeave);
    for (const diff of this.pending.splice(0)) syncDiff(this.state, diff, this.emitJoin, this.emitLeave);
    const wasLive = this.isLive;
    this.isLive = this.channel.state === 'joined';
    this.syncs.emit();
    if (this.isLive !== wasLive) this.lives.emit(this.isLive);
  }

  private setLive(live: boolean): void {
    if (live === this.isLive) return;
    this.isLive = live;
    this.lives.emit(live);
  }

  private diffed(diff: PresenceDiff): void {
    if (this.syncedRef === null || this.syncedRef !== this.channel.joinRef) {
      this.pending.push(diff);
      return;
    }
    syncDiff(this.state, diff, this.emitJoin, this.emitLeave);
    this.syncs.emit();
  }

  private readonly emitJoin: JoinCallback = (...args) => this.joins.emit(...args);
  private readonly emitLeave: LeaveCallback = (...args) => this.leaves.emit(...args);

  private schedule(): void {
    if (this.timer !== null || this.channel.state !== 'joined') return;
    const { clock } = this.channel.socket.options;
    const wait = this.sentAt + this.throttleMs - clock.now();
    if (wait <= 0) return this.send();
    this.timer = clock.setTimeout(() => {
      this.timer = null;
      this.send();
    }, wait);
  }

  private send(): void {
    const json = JSON.stringify(this.fields);
    if (json === this.sent || this.channel.state !== 'joined') return;
    this.sent = json;
    this.sentAt = this.channel.socket.options.clock.now();
    this.channel.push(EVENTS.presenceUpdate, { ...this.fields }).receive('error', (response) => {
      // Past the server's rate limits: send these fields again after the throttle interval.
      if (response.reason !== REASONS.rateLimited || this.sent !== json) return;
      this.sent = null;
      this.schedule();
    });
  }
}
