/**
 * What a channel on a Plume socket adds to a Phoenix channel: ordered,
 * exactly-once delivery with recovery (`delivery.ts` + `positions.ts`), and
 * the flushing of its topic's durable outbox (`outbox/flusher.ts`).
 *
 * Responsible for wiring those to one channel's lifecycle: what its join
 * asks for, what its join reply means, and what happens when it stops being
 * joined. Not responsible for the channel's state machine (`channel.ts`).
 */
import { Delivery, type HistoryPage, type JoinMeta, type Position, type Recovery } from './delivery';
import { Listeners, type Unsubscribe } from './listeners';
import type { Flusher } from './outbox/flusher';
import { EVENTS, EXTENSION_EVENTS, type AnyPayload, type Message, type Meta, type Payload } from './protocol';
import type { PushResult } from './push';
import type { Socket } from './socket';
import type { Clock } from './timer';

/** What the sync needs from its channel. */
export interface SyncedChannel {
  readonly topic: string;
  /** Hands a frame to the channel's listeners. */
  dispatch(message: Message): void;
  /** Pushes with Plume metadata; resolves with the outcome. */
  request(event: string, payload: AnyPayload, meta: Meta | undefined): PromiseLike<PushResult>;
  /** Joins again while joined (the topic's history changed epoch under a live channel), saying why. */
  resync(reason: string): void;
}

/** What a mesh needs from its channel (see `plume/mesh`). */
export interface MeshHost {
  readonly topic: string;
  readonly clock: Clock;
  /** A verified relayed broadcast, into ordered delivery. */
  deliver(message: Message): void;
  /** An ephemeral event, straight to listeners. */
  dispatch(message: Message): void;
  /** A push to the server on this channel. */
  request(event: string, payload: Payload, meta: Meta | undefined): PromiseLike<PushResult>;
}

/** Counters of one channel's mesh. */
export interface MeshStats {
  /** This member's id in the room. */
  member: string | null;
  /** Whether the server sends this member broadcasts directly (else peers relay them). */
  planDirect: boolean;
  receivedDirect: number;
  receivedRelayed: number;
  /** Broadcasts (and their bytes) this member passed on to peers. */
  forwarded: number;
  bytesForwarded: number;
  /** Ephemeral events (and bytes) this member sent to peers: its own, and others' it flooded on. Not in `forwarded`. */
  ephemeralSent: number;
  bytesEphemeral: number;
  /** Messages from peers that failed verification (the peer was cut and reported). */
  forgeries: number;
  /** Relayed messages that had already arrived another way. */
  duplicates: number;
  peers: Array<{ id: string; up: boolean }>;
  forwardTo: string[];
}

/** One channel's mesh, created by a `MeshFactory` (from `plume/mesh`). */
export interface ChannelMeshLike {
  joined(meta: Meta): void;
  /** Takes the mesh's own pushes (`plume:mesh`, `plume:signal`, `plume:keys`); false for anything else. */
  handle(message: Message): boolean;
  /** Sees every sequenced broadcast the server sent directly (counts it, forwards it if signed). */
  fromServer(message: Message): void;
  ephemeral(event: string, payload: Payload): void;
  /** True the first time an ephemeral event id is seen (the server and peers may both bring it). */
  firstEphemeral(eid: string): boolean;
  stats(): MeshStats;
  left(): void;
  dispose(): void;
}

/** Creates channel meshes; `null` where WebRTC is unavailable. */
export interface MeshFactory {
  attach(host: MeshHost): ChannelMeshLike | null;
}

/** Options per channel. */
export interface SyncOptions {
  /** On a first join (nothing to resume from), replay up to this many of the latest broadcasts. Default 0. */
  history?: number;
  /** Join the room's mesh when the socket has one (`plume/mesh`). Default true. */
  mesh?: boolean;
}

export class ChannelSync {
  /** Resolves once the stored position is loaded (the join waits for it); null when nothing is stored. */
  readonly ready: Promise<void> | null;
  private readonly delivery: Delivery;
  private readonly flusher: Flusher | null;
  private readonly mesh: ChannelMeshLike | null;
  private ephemerals = 0;
  private readonly recoveries = new Listeners<[Recovery]>();
  private readonly foldings = new Listeners<[string, Position]>();
  private resumed = false;
  /** The epoch a resync was asked for, so that its frames ask once. */
  private resyncedFor: string | null = null;

  constructor(private readonly channel: SyncedChannel, socket: Socket, private readonly options: SyncOptions) {
    const { clock, gapWaitMs, timeoutMs, durable } = socket.options;
    this.delivery = new Delivery({
      clock,
      gapWaitMs,
      deliver: (message) => channel.dispatch(message),
      fetch: (epoch, from, to) => this.fetch(epoch, from, to),
      recovered: (report) => this.recoveries.emit(report),
      folded: (event, position) => this.foldings.emit(event, position),
      save: (state) => durable?.positions.save(channel.topic, state),
    });
    const target = { topic: channel.topic, sendDurable: (event: string, payload: AnyPayload, id: string) => channel.request(event, payload, { id }) };
    this.flusher = durable?.flusher(target, { clock, window: 64, backoff: { baseMs: 500, maxMs: timeoutMs }, random: socket.options.random }) ?? null;
    this.ready = durable ? durable.positions.load(channel.topic).then((state) => this.delivery.restore(state)) : null;
    this.mesh = options.mesh === false ? null : socket.options.mesh?.attach({
      topic: channel.topic,
      clock,
      deliver: (message) => this.delivery.receive(message),
      dispatch: (message) => channel.dispatch(message),
      request: (event, payload, meta) => channel.request(event, payload, meta),
    }) ?? null;
  }

  /** The meta of the next join: where to resume from, or how much history to replay. */
  joinMeta(): Meta | undefined {
    const since = this.delivery.since();
    this.resumed = since !== null;
    const meta: Meta = {};
    if (since) meta.since = since;
    else if (this.options.history) meta.history = this.options.history;
    if (this.mesh) meta.mesh = true;
    return Object.keys(meta).length ? meta : undefined;
  }

  /**
   * The join succeeded; `meta` is the reply's metadata. Applied before the channel reports
   * `joined`, so a listener reacting to it already sees this member's mesh identity.
   */
  accept(meta: Meta | undefined): void {
    if (meta && typeof meta.epoch === 'string' && typeof meta.seq === 'number') {
      const from = typeof meta.from === 'number' ? meta.from : meta.seq + 1;
      this.delivery.joined({ epoch: meta.epoch, seq: meta.seq, from, recovered: meta.recovered !== false } satisfies JoinMeta, this.resumed);
    }
    if (meta) this.mesh?.joined(meta);
  }

  /** The channel now says it is joined: start flushing the outbox. */
  started(): void {
    this.flusher?.joined();
  }

  /** A frame for the topic: through ordering and deduplication to the channel's listeners. */
  receive(message: Message): void {
    const { event, meta } = message;
    // Plume's own pushes (mesh plans, signalling, heads) are controls; its sequenced broadcasts (document
    // updates, `plume:doc`) go through ordered delivery like any broadcast.
    if (event.startsWith('plume:') && event !== EVENTS.skip && typeof meta?.seq !== 'number') return this.control(message);
    if (meta?.ephemeral) {
      const eid = meta.eid;
      if (typeof eid !== 'string' || !this.mesh || this.mesh.firstEphemeral(eid)) this.channel.dispatch(message);
      return;
    }
    if (typeof meta?.seq === 'number' && typeof meta.epoch === 'string' && this.epochChanged(meta.epoch)) return;
    if (typeof meta?.seq === 'number') this.mesh?.fromServer(message);
    this.delivery.receive(message);
  }

  /**
   * True (and the channel joins again) when the server sends a broadcast of another epoch than the one
   * this channel delivers: the engine lost the topic's data while the channel stayed joined (Redis came
   * back empty). Joining again is what tells the app (`recovered: false`) and replays what the new epoch holds.
   */
  private epochChanged(epoch: string): boolean {
    const position = this.delivery.since();
    if (!position || position.epoch === epoch) return false;
    if (this.resyncedFor !== epoch) {
      this.resyncedFor = epoch;
      this.channel.resync('the topic\'s history started a new epoch');
    }
    return true;
  }

  /** Sends an unordered, unstored event to the other members: over the mesh where it works, else via the server. */
  ephemeral(event: string, payload: Payload): void {
    if (this.mesh) return this.mesh.ephemeral(event, payload);
    void this.channel.request('plume:ephemeral', { event, payload, eid: `e${++this.ephemerals}:${Math.random().toString(36).slice(2)}` }, undefined);
  }

  /** Counters: gap repairs, and the mesh's when it has one. */
  stats(): { repairs: number; mesh: MeshStats | null } {
    return { repairs: this.delivery.repairs, mesh: this.mesh?.stats() ?? null };
  }

  /** The channel is no longer joined. */
  left(): void {
    this.flusher?.left();
    this.mesh?.left();
  }

  /** The channel closed for good. */
  dispose(): void {
    this.delivery.stop();
    this.flusher?.dispose();
    this.mesh?.dispose();
  }

  private control(message: Message): void {
    if (this.mesh?.handle(message)) return;
    const { epoch, seq } = message.payload;
    if (message.event === 'plume:head' && typeof epoch === 'string' && typeof seq === 'number' && !this.epochChanged(epoch)) this.delivery.ahead(epoch, seq);
  }

  onRecover(callback: (report: Recovery) => void): Unsubscribe {
    return this.recoveries.on(callback);
  }

  onFolded(callback: (event: string, position: Position) => void): Unsubscribe {
    return this.foldings.on(callback);
  }

  private async fetch(epoch: string, from: number, to: number): Promise<HistoryPage | null> {
    const result = await this.channel.request(EXTENSION_EVENTS.history, { epoch, from, to }, undefined);
    if (result.status !== 'ok') return null;
    return result.binary ? readPageContainer(result.binary) : (result.response as unknown as HistoryPage);
  }
}

/**
 * A history page sent as a binary reply (PROTOCOL.md §7, filling gaps): a 4-byte length, the page as
 * JSON with binary entries as `bin: [offset, length]`, then the payloads. Null when malformed.
 */
function readPageContainer(bytes: Uint8Array): HistoryPage | null {
  try {
    const length = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(0);
    const page = JSON.parse(new TextDecoder().decode(bytes.subarray(4, 4 + length))) as { epoch: string; complete: boolean; entries: Array<Record<string, unknown>> };
    const blobs = bytes.subarray(4 + length);
    const entries = page.entries.map((entry) => {
      const bin = entry.bin as [number, number] | undefined;
      if (!bin) return entry;
      const { bin: _bin, ...rest } = entry;
      return { ...rest, payload: {}, binary: blobs.slice(bin[0], bin[0] + bin[1]) };
    });
    return { epoch: page.epoch, complete: page.complete, entries: entries as unknown as HistoryPage['entries'] };
  } catch {
    // Not the container the protocol describes: treated as a failed request, which is retried.
    return null;
  }
}
