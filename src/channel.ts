/**
 * A channel: one topic joined over the socket. Joins, rejoins after
 * reconnects and refusals (with backoff), leaves, pushes, and delivers the
 * topic's events to listeners.
 *
 * Responsible for the channel's state machine and for dropping frames that
 * belong to an outdated join. Not responsible for the connection
 * (`socket.ts`) or reply bookkeeping beyond routing by ref (`push.ts`).
 */
import type { Position, Recovery } from './delivery';
import { Listeners, type Unsubscribe } from './listeners';
import type { OutboxEntry } from './outbox/outbox';
import { EVENTS, asPayload, isReplyPayload, isReservedEvent, type AnyPayload, type Message, type Meta, type Payload } from './protocol';
import { Push, type PushResult } from './push';
import type { Socket, SocketState, StateChange } from './socket';
import { ChannelSync, type MeshStats, type SyncOptions } from './sync';
import { RetryTimer, backoff } from './timer';

/** Options for `socket.channel(topic, params, options)`. */
export type ChannelOptions = SyncOptions;

/** Where a channel is. */
export type ChannelState = 'closed' | 'joining' | 'joined' | 'leaving' | 'errored';

/** Details of a received event beyond its payload. */
export interface MessageInfo {
  event: string;
  /** `null` for broadcasts; this join's ref for pushes to this socket only. */
  joinRef: string | null;
  /** Plume order metadata (`epoch`, `seq`), when the server sent it. */
  meta: Meta | undefined;
  /** True when the payload is bytes (a `Uint8Array`, from a binary frame) rather than a JSON object. */
  binary: boolean;
}

const TRANSITIONS: Record<ChannelState, readonly ChannelState[]> = {
  closed: ['joining'],
  joining: ['joined', 'errored', 'leaving', 'closed'],
  joined: ['errored', 'leaving', 'closed'],
  errored: ['joining', 'leaving', 'closed'],
  leaving: ['closed'],
};

/**
 * @example
 * const room = socket.channel('room:lobby');
 * const off = room.on('new_msg', (msg) => render(msg));
 * const { status } = await room.join();
 * await room.push('new_msg', { body: 'hello' });
 * off(); room.leave();
 */
export class Channel {
  readonly topic: string;
  /** @internal */
  readonly socket: Socket;
  private readonly params: () => Payload;
  private current: ChannelState = 'closed';
  private joinPush: Push | null = null;
  private joinTimeoutMs: number;
  private buffer: Push[] = [];
  private readonly pending = new Map<string, Push>();
  private readonly listeners = new Map<string, Listeners<[AnyPayload, MessageInfo]>>();
  private readonly stateListeners = new Listeners<[StateChange<ChannelState>]>();
  private readonly rejoinTimer: RetryTimer;
  private readonly sync: ChannelSync | null;
  private loaded: boolean;

  constructor(socket: Socket, topic: string, params: Payload | (() => Payload), options: ChannelOptions = {}) {
    this.socket = socket;
    this.topic = topic;
    this.params = typeof params === 'function' ? params : () => params;
    this.joinTimeoutMs = socket.options.timeoutMs;
    this.rejoinTimer = new RetryTimer(socket.options.clock, () => this.rejoin('retry'), (tries) =>
      backoff(tries, socket.options.rejoin, socket.options.random),
    );
    this.sync = socket.options.plume ? new ChannelSync(this, socket, options) : null;
    this.loaded = !this.sync?.ready;
    void this.sync?.ready?.then(() => {
      this.loaded = true;
      if (this.current === 'joining') this.rejoin('position loaded');
    });
  }

  /** The channel's state. */
  get state(): ChannelState {
    return this.current;
  }

  /** The ref of the current join, or null before the first join is sent. */
  get joinRef(): string | null {
    return this.joinPush?.ref ?? null;
  }

  /**
   * Joins the topic, now or as soon as the socket is open, and keeps it
   * joined across reconnects. The returned push settles with the first
   * join's outcome; its `receive('ok')` hooks run on every successful rejoin.
   */
  join(timeoutMs: number = this.socket.options.timeoutMs): Push {
    if (this.joinPush) throw new Error(`channel ${this.topic}: join() can be called once per channel; create a new channel with socket.channel() to join again`);
    this.joinTimeoutMs = timeoutMs;
    this.joinPush = new Push(this, EVENTS.join, this.params, timeoutMs, () => this.sync?.joinMeta());
    this.joinPush.receive('ok', (_response, meta) => this.joined(meta));
    this.joinPush.receive('error', (response) => this.refused(String(response.reason ?? 'refused')));
    this.joinPush.receive('timeout', () => this.joinTimedOut());
    this.rejoin('join');
    return this.joinPush;
  }

  /** Leaves the topic. Settles `ok` when the server confirms (or at once when offline). */
  leave(timeoutMs: number = this.socket.options.timeoutMs): Push {
    this.rejoinTimer.reset();
    this.joinPush?.cancelTimeout();
    const wasActive = this.current === 'joined' || this.current === 'joining';
    const joinRef = this.joinRef;
    const push = new Push(this, EVENTS.leave, () => ({}), timeoutMs);
    if (this.current !== 'closed') this.transition('leaving', 'leave');
    const close = () => this.close('left');
    push.receive('ok', close).receive('timeout', close);
    if (wasActive && this.socket.isConnected()) push.send(joinRef);
    else push.finish({ status: 'ok', response: {} });
    return push;
  }

  /**
   * Sends an event to the server. Before the channel is joined the push
   * waits (its timeout running) and is sent once joined.
   */
  push(event: string, payload: Payload | Uint8Array | ArrayBuffer = {}, timeoutMs: number = this.socket.options.timeoutMs): Push {
    if (!this.joinPush) throw new Error(`push "${event}" to ${this.topic} before join: call channel.join() first`);
    const body = asPayload(payload);
    const push = new Push(this, event, () => body, timeoutMs);
    if (this.current === 'joined' && this.socket.isConnected()) push.send(this.joinRef);
    else {
      push.startTimeout();
      this.buffer.push(push);
    }
    return push;
  }

  /**
   * Sends a message durably: it is stored in the outbox (IndexedDB) before
   * anything else, then sent once joined and re-sent until the server
   * acknowledges or rejects it, across reconnects and reloads, and applied
   * once. Resolves with the stored entry (status `queued`); follow it with
   * `socket.outbox.onChange` or `socket.outbox.settled(entry.id)`. Rejects
   * with a `storage` PlumeError when the message cannot be stored.
   *
   * @example
   * const entry = await room.send('new_msg', { body: 'sent from a tunnel' });
   * const done = await socket.outbox!.settled(entry.id); // status 'acked' (with seq) or 'rejected' (with reason)
   */
  send(event: string, payload: Payload | Uint8Array | ArrayBuffer = {}, options: { id?: string } = {}): Promise<OutboxEntry> {
    const outbox = this.socket.outbox;
    if (!outbox) throw new Error('send() needs the durable outbox: create the socket with { durable: true } (the default where IndexedDB exists)');
    if (!this.joinPush) throw new Error(`send "${event}" to ${this.topic} before join: call channel.join() first`);
    if (isReservedEvent(event)) throw new Error(`"${event}" is a reserved event name (phx_*, presence_*, plume:*); pick another`);
    return outbox.add(this.topic, event, asPayload(payload), options.id);
  }

  /**
   * Sends an unordered event that is not stored or sequenced (typing,
   * cursors): peer to peer over the mesh where it works, through the server
   * otherwise. Not durable: a member who is away misses it.
   * @example room.ephemeral('typing', { name: 'Ada' });
   */
  ephemeral(event: string, payload: Payload = {}): void {
    if (!this.sync) throw new Error('ephemeral() needs the Plume extensions: remove plume: false');
    if (this.current === 'joined') this.sync.ephemeral(event, payload);
  }

  /** Counters: gaps repaired from history, and the mesh's (peers, relayed vs direct, forgeries) when it has one. */
  stats(): { repairs: number; mesh: MeshStats | null } {
    return this.sync?.stats() ?? { repairs: 0, mesh: null };
  }

  /** Observes recovery reports: after every rejoin that resumed, and when a gap cannot be filled (`recovered: false`). */
  onRecover(callback: (report: Recovery) => void): Unsubscribe {
    return this.sync ? this.sync.onRecover(callback) : () => {};
  }

  /**
   * Observes broadcasts this channel passed without their content because history keeps them by position
   * only (folded entries, PROTOCOL.md §7): a replay or a gap filled from history reached one. Live, such
   * broadcasts arrive whole; `plume/yjs` syncs its document by state vector when it hears of one for `plume:doc`.
   * @example room.onFolded((event) => event === 'plume:doc' && resync());
   */
  onFolded(callback: (event: string, position: Position) => void): Unsubscribe {
    return this.sync ? this.sync.onFolded(callback) : () => {};
  }

  /**
   * Listens for `event` (broadcasts and pushes to this socket). Returns an unsubscribe function.
   * @example const off = room.on('new_msg', (payload, { meta }) => console.log(meta?.seq, payload));
   */
  on<P extends AnyPayload = Payload>(event: string, callback: (payload: P, info: MessageInfo) => void): Unsubscribe {
    let set = this.listeners.get(event);
    if (!set) this.listeners.set(event, (set = new Listeners()));
    return set.on(callback as (payload: AnyPayload, info: MessageInfo) => void);
  }

  /** Observes state changes, with their reason (`"join refused: unauthorized"`, `"socket closed"`, ...). */
  onStateChange(callback: (change: StateChange<ChannelState>) => void): Unsubscribe {
    return this.stateListeners.on(callback);
  }

  /** @internal */
  track(push: Push): void {
    if (push.ref !== null) this.pending.set(push.ref, push);
  }

  /** @internal */
  untrack(ref: string): void {
    this.pending.delete(ref);
  }

  /** @internal Called by the socket on each of its state changes. */
  socketChanged(state: SocketState): void {
    if (state === 'open') {
      if (this.current === 'joining' || this.current === 'errored') {
        this.rejoinTimer.reset();
        this.rejoin('socket open');
      }
    } else if (this.current === 'joined' || this.current === 'joining') {
      this.joinPush?.cancelTimeout();
      this.rejoinTimer.reset();
      if (this.current === 'joined') this.transition('errored', 'socket closed');
    }
  }

  /** @internal A frame for this topic. Frames of an outdated join are dropped. */
  receive(message: Message): void {
    if (message.joinRef !== null && message.joinRef !== this.joinRef) return;
    switch (message.event) {
      case EVENTS.reply: {
        const push = message.ref === null ? undefined : this.pending.get(message.ref);
        if (push && isReplyPayload(message.payload)) push.finish({ status: message.payload.status, response: message.payload.response, meta: message.meta, ...(message.binary ? { binary: message.binary } : {}) });
        return;
      }
      case EVENTS.close:
        return this.close('closed by server');
      case EVENTS.error:
        return this.failed('channel crashed on the server');
      default:
        if (this.sync) this.sync.receive(message);
        else this.dispatch(message);
    }
  }

  /** @internal Hands a frame to the event's listeners. */
  dispatch(message: Message): void {
    const { binary } = message;
    this.listeners.get(message.event)?.emit(binary ?? message.payload, { event: message.event, joinRef: message.joinRef, meta: message.meta, binary: binary !== undefined });
  }

  /** @internal Joins again while joined: the server's history of the topic changed epoch under it. */
  resync(reason: string): void {
    if (this.current !== 'joined') return;
    this.transition('errored', reason);
    this.rejoinTimer.reset();
    this.rejoin(reason);
  }

  /** @internal A push with Plume metadata (message ids, history requests), sent only while joined. */
  request(event: string, payload: AnyPayload, meta: Meta | undefined): PromiseLike<PushResult> {
    const push = new Push(this, event, () => payload, this.socket.options.timeoutMs, () => meta);
    if (this.current === 'joined' && this.socket.isConnected()) push.send(this.joinRef);
    else push.finish({ status: 'error', response: { reason: 'unmatched topic' } });
    return push;
  }

  private transition(to: ChannelState, reason: string): void {
    const from = this.current;
    if (from === to) return;
    if (!TRANSITIONS[from].includes(to)) throw new Error(`channel ${this.topic}: illegal transition ${from} -> ${to} (${reason})`);
    this.current = to;
    if (from === 'joined') this.sync?.left();
    this.stateListeners.emit({ from, to, reason });
  }

  private rejoin(reason: string): void {
    if (this.current === 'leaving' || !this.joinPush) return;
    if (this.current === 'closed' && reason !== 'join') return;
    this.transition('joining', reason);
    if (!this.socket.isConnected() || !this.loaded) return;
    this.joinPush.resetTimeout(this.joinTimeoutMs);
    this.joinPush.send('self');
  }

  private joined(meta: Meta | undefined): void {
    if (this.current !== 'joining') return;
    this.rejoinTimer.reset();
    this.sync?.accept(meta);
    this.transition('joined', 'joined');
    this.sync?.started();
    const buffered = this.buffer;
    this.buffer = [];
    for (const push of buffered) if (push.result === null) push.send(this.joinRef);
  }

  private refused(reason: string): void {
    if (this.current !== 'joining') return;
    this.failed(`join refused: ${reason}`);
  }

  private joinTimedOut(): void {
    if (this.current !== 'joining') return;
    // The server may still join us later; leaving that join keeps it from lingering.
    this.socket.send({ joinRef: this.joinRef, ref: this.socket.makeRef(), topic: this.topic, event: EVENTS.leave, payload: {} });
    this.failed('join timeout');
  }

  private failed(reason: string): void {
    if (this.current === 'closed' || this.current === 'leaving') return;
    this.transition('errored', reason);
    if (this.socket.isConnected()) this.rejoinTimer.schedule();
  }

  private close(reason: string): void {
    if (this.current === 'closed') return;
    this.rejoinTimer.reset();
    this.joinPush?.cancelTimeout();
    this.transition('closed', reason);
    this.sync?.dispose();
    this.socket.remove(this);
  }
}
