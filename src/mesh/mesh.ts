/**
 * A channel's part in its room's mesh: holds the WebRTC links the server
 * assigns, forwards signed broadcasts to the children the plan gives it,
 * verifies everything peers send before delivering or forwarding it, cuts
 * and reports a peer that lies, and carries ephemeral events.
 *
 * Responsible for the peer side of PROTOCOL.md's Mesh section. Not
 * responsible for order or gaps (the channel's delivery does that: a
 * relayed broadcast is just another way for a seq to arrive).
 */
import { EVENTS, encodeRaw, type Message, type Meta, type Payload } from '../protocol';
import type { ChannelMeshLike, MeshHost, MeshStats } from '../sync';
import { PeerLink, type SimplePeerConstructor } from './peer';
import { contentOf, decodePeerMessage, encodeEphemeral, encodeRelayed, type Ephemeral, type Relayed } from './relay';
import { Verifier, type PublicKeyInfo, type Signature } from './verify';

/** What a channel mesh needs besides its host. */
export interface ChannelMeshOptions {
  SimplePeer: SimplePeerConstructor;
  iceServers: RTCIceServer[];
  wrtc?: unknown;
  connectTimeoutMs: number;
}

/** Hops an ephemeral event may travel through the mesh. */
const EPHEMERAL_TTL = 4;
const REMEMBERED = 4096;

class Seen {
  private readonly set = new Set<string>();
  /** True the first time `key` is offered. */
  first(key: string): boolean {
    if (this.set.has(key)) return false;
    this.set.add(key);
    if (this.set.size > REMEMBERED) this.set.delete(this.set.values().next().value as string);
    return true;
  }
}

/** Messages sent to peers, and their bytes. */
interface Tally {
  messages: number;
  bytes: number;
}

export class ChannelMesh implements ChannelMeshLike {
  private self: string | null = null;
  private readonly verifier = new Verifier();
  private readonly links = new Map<string, PeerLink>();
  private wanted = new Set<string>();
  private forward: string[] = [];
  private direct = true;
  private readonly relayed = new Seen();
  private readonly ephemerals = new Seen();
  private eids = 0;
  private readonly counters = { direct: 0, relayed: 0, forgeries: 0, duplicates: 0 };
  /** What this member sent to peers: broadcasts it passed on, and ephemeral events (its own and those it flooded on). */
  private readonly forwarded: Tally = { messages: 0, bytes: 0 };
  private readonly ephemeralSent: Tally = { messages: 0, bytes: 0 };

  constructor(private readonly host: MeshHost, private readonly options: ChannelMeshOptions) {}

  joined(meta: Meta): void {
    if (typeof meta.member === 'string') this.self = meta.member;
    if (Array.isArray(meta.keys)) this.verifier.setKeys(meta.keys as PublicKeyInfo[]);
  }

  handle(message: Message): boolean {
    const p = message.payload;
    switch (message.event) {
      case 'plume:mesh':
        this.replan(p);
        return true;
      case 'plume:signal':
        if (typeof p.from === 'string') this.signalled(p.from, p.signal);
        return true;
      case 'plume:keys':
        if (Array.isArray(p.keys)) this.verifier.setKeys(p.keys as PublicKeyInfo[]);
        return true;
      default:
        return false;
    }
  }

  fromServer(message: Message): void {
    const { epoch, seq, sig, id, x } = message.meta ?? {};
    if (typeof epoch !== 'string' || typeof seq !== 'number') return;
    this.counters.direct++;
    this.relayed.first(`${epoch}:${seq}`);
    if (!sig || this.forward.length === 0) return;
    const relayed: Relayed = {
      topic: this.host.topic, epoch, seq, event: message.event, id: typeof id === 'string' ? id : null,
      payloadJson: message.binary ? '' : JSON.stringify(message.payload), exclude: typeof x === 'string' ? x : null, sig: sig as Signature,
    };
    // Bytes are the very bytes the server signed: nothing was re-encoded, so they go on at once.
    if (message.binary) {
      relayed.payloadBytes = message.binary;
      this.relay(this.forward, encodeRelayed(relayed));
      return;
    }
    // Re-encoding the payload must give the server's exact text before this member vouches for it to
    // its children. The server framed the very text it signed, right after topic and event: when the
    // frame starts with the re-encoded payload, it is that text (a complete JSON object cannot be a
    // proper prefix of another one), and the message goes on at once. Otherwise the signature is
    // checked first, which costs a WebCrypto verification and a task hop per batch on every relay path.
    if (message.frame?.startsWith(`${encodeRaw(null, null, relayed.topic, relayed.event, relayed.payloadJson).slice(0, -1)},`)) {
      this.relay(this.forward, encodeRelayed(relayed));
      return;
    }
    void this.verifier.verify(contentOf(relayed), relayed.sig).then((ok) => ok && this.relay(this.forward, encodeRelayed(relayed)));
  }

  ephemeral(event: string, payload: Payload): void {
    const eid = `${this.self ?? 'anon'}:${++this.eids}`;
    this.ephemerals.first(eid);
    if (this.self) this.flood([...this.links.keys()], encodeEphemeral({ topic: this.host.topic, event, payload, from: this.self, eid, ttl: EPHEMERAL_TTL }));
    void this.host.request('plume:ephemeral', { event, payload, eid }, undefined);
  }

  firstEphemeral(eid: string): boolean {
    return this.ephemerals.first(eid);
  }

  stats(): MeshStats {
    const { direct, relayed, forgeries, duplicates } = this.counters;
    const { forwarded, ephemeralSent } = this;
    return {
      member: this.self, planDirect: this.direct, receivedDirect: direct, receivedRelayed: relayed, forgeries, duplicates,
      forwarded: forwarded.messages, bytesForwarded: forwarded.bytes, ephemeralSent: ephemeralSent.messages, bytesEphemeral: ephemeralSent.bytes,
      peers: [...this.links.values()].map((l) => ({ id: l.peer, up: l.isUp })), forwardTo: [...this.forward],
    };
  }

  left(): void {
    for (const link of this.links.values()) link.destroy();
    this.links.clear();
    this.wanted.clear();
    this.forward = [];
    this.direct = true;
  }

  dispose(): void {
    this.left();
  }

  private replan(p: Payload): void {
    this.wanted = new Set(Array.isArray(p.links) ? p.links.filter((l): l is string => typeof l === 'string') : []);
    this.forward = Array.isArray(p.forward) ? p.forward.filter((f): f is string => typeof f === 'string') : [];
    this.direct = p.direct !== false;
    for (const [peer, link] of this.links) {
      if (this.wanted.has(peer)) continue;
      link.destroy();
      this.links.delete(peer);
    }
    for (const peer of this.wanted) this.link(peer, false);
  }

  /**
   * Signalling from `peer`. An offer to a link that already negotiated is the peer's new attempt
   * (its side gave up on the old one): it gets a fresh link, since the old connection cannot take it.
   */
  private signalled(peer: string, signal: unknown): void {
    const stale = this.links.get(peer);
    if (stale?.negotiated && (signal as { type?: unknown } | null)?.type === 'offer' && this.self !== null && this.self > peer) {
      this.links.delete(peer);
      stale.destroy();
    }
    this.link(peer, true)?.signal(signal);
  }

  /** The link to `peer`, created when wanted (or when the peer signals first). */
  private link(peer: string, signalled: boolean): PeerLink | undefined {
    const existing = this.links.get(peer);
    if (existing) return existing;
    if (!this.self || peer === this.self || (!signalled && !this.wanted.has(peer))) return undefined;
    const initiator = this.self < peer;
    if (signalled && initiator) return undefined; // we offer; a stray offer from the other side is ignored
    const link = new PeerLink(peer, initiator, {
      SimplePeer: this.options.SimplePeer,
      config: { iceServers: this.options.iceServers },
      wrtc: this.options.wrtc,
      clock: this.host.clock,
      connectTimeoutMs: this.options.connectTimeoutMs,
      onSignal: (signal) => void this.host.request('plume:signal', { to: peer, signal: signal as Payload }, undefined),
      onMessage: (data) => this.fromPeer(peer, data),
      onState: (up) => this.linkChanged(peer, link, up),
      onAbuse: (reason) => this.misbehaved(peer, reason),
    });
    this.links.set(peer, link);
    return link;
  }

  private linkChanged(peer: string, link: PeerLink, up: boolean): void {
    void this.host.request('plume:link', { peer, up }, undefined);
    if (up || this.links.get(peer) !== link) return;
    this.links.delete(peer);
    // Still wanted: try again (the initiator re-offers; the other side waits for the offer).
    if (this.wanted.has(peer)) this.host.clock.setTimeout(() => this.wanted.has(peer) && this.link(peer, false), 1_000);
  }

  private fromPeer(peer: string, data: string | Uint8Array): void {
    const decoded = decodePeerMessage(data);
    if (!decoded) return this.misbehaved(peer, 'malformed message');
    if (decoded.message.topic !== this.host.topic) return this.misbehaved(peer, 'message for another room');
    if (decoded.kind === 'e') return this.fromPeerEphemeral(peer, decoded.message);
    const relayed = decoded.message;
    void this.verifier.verify(contentOf(relayed), relayed.sig).then((ok) => {
      if (!ok) return this.misbehaved(peer, 'signature does not verify');
      if (!this.relayed.first(`${relayed.epoch}:${relayed.seq}`)) {
        this.counters.duplicates++;
        return;
      }
      this.counters.relayed++;
      this.relay(this.forward.filter((f) => f !== peer), encodeRelayed(relayed));
      this.host.deliver({
        joinRef: null, ref: null, topic: relayed.topic,
        event: relayed.exclude !== null && relayed.exclude === this.self ? EVENTS.skip : relayed.event,
        payload: relayed.payloadBytes ? {} : (JSON.parse(relayed.payloadJson) as Payload),
        meta: { epoch: relayed.epoch, seq: relayed.seq, ...(relayed.id === null ? {} : { id: relayed.id }) },
        ...(relayed.payloadBytes ? { binary: relayed.payloadBytes } : {}),
      });
    });
  }

  private fromPeerEphemeral(peer: string, e: Ephemeral): void {
    if (!this.ephemerals.first(e.eid)) return;
    if (e.ttl > 0) this.flood([...this.links.keys()].filter((p) => p !== peer), encodeEphemeral({ ...e, ttl: e.ttl - 1 }));
    this.host.dispatch({ joinRef: null, ref: null, topic: e.topic, event: e.event, payload: e.payload, meta: { ephemeral: true, from: e.from } });
  }

  private misbehaved(peer: string, reason: string): void {
    this.counters.forgeries++;
    this.links.get(peer)?.destroy();
    this.links.delete(peer);
    this.wanted.delete(peer);
    void this.host.request('plume:report', { peer, reason }, undefined);
  }

  /** Passes a relayed broadcast on to `peers`, counted as forwarded. */
  private relay(peers: readonly string[], message: string | Uint8Array): void {
    this.send(peers, message, this.forwarded);
  }

  /** Sends an ephemeral event (this member's, or one it floods on) to `peers`, counted apart from broadcasts. */
  private flood(peers: readonly string[], text: string): void {
    this.send(peers, text, this.ephemeralSent);
  }

  /** Sends `message` to each of `peers` with an open link, counting what went in `tally`. */
  private send(peers: readonly string[], message: string | Uint8Array, tally: Tally): void {
    for (const peer of peers) {
      const bytes = this.links.get(peer)?.send(message) ?? 0;
      if (bytes === 0) continue;
      tally.messages++;
      tally.bytes += bytes;
    }
  }
}
