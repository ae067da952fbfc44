/**
 * The server's side of peer-assisted fan-out on this node: one `MeshRoom`
 * per topic with mesh-capable members, the signer, signalling between
 * members (stamped with the sender's id by the server, never by the
 * client, and capped by `signals.ts`), link and forgery reports, gap
 * repairs as evidence against relays (`trust.ts`), and head announcements
 * for members the plan reaches through peers.
 *
 * Meshes are node-local: members on other nodes get broadcasts directly.
 */
import { isPayload, MESH_MAX_MESSAGE, type Payload } from '../../src/protocol';
import type { Logger } from '../log';
import type { Assignment } from './plan';
import { MeshRoom, type MeshLimits, type MeshMember } from './room';
import { SignalGate, type SignalLimits, type SignalRefusal } from './signals';

import { Signer, type PublicKeyInfo } from './signer';

/** The mesh's settings on this node: plan limits and signalling caps, with defaults in `options.ts`. */
export type MeshSettings = MeshLimits & SignalLimits;

/** Why a mesh push was refused: the `reason` of its error reply (PROTOCOL.md §10). */
export type MeshRefusal = SignalRefusal | 'invalid mesh message';

/** How long head announcements for a topic are coalesced (ms). */
const HEAD_INTERVAL_MS = 200;
/** A peer message's characters besides its payload: topic, event, ids and signature (generous). */
const RELAY_ENVELOPE = 8192;

export class MeshRegistry {
  readonly signer = new Signer();
  private readonly rooms = new Map<string, MeshRoom>();
  private readonly members = new Map<string, Map<string, MeshMember>>();
  private readonly heads = new Map<string, { epoch: string; seq: number; timer: ReturnType<typeof setTimeout> | undefined }>();
  private readonly signals: SignalGate;
  /** Mesh rooms each socket is in, so its signalling buckets are forgotten with its last. */
  private readonly roomsOf = new Map<string, number>();
  /** Peers cut out on the reports of two users, since start. */
  reports = 0;
  /** Relays demoted because their children kept filling gaps from history, since start. */
  demotions = 0;

  constructor(private readonly limits: MeshSettings, private readonly log: Logger) {
    this.signals = new SignalGate(limits);
  }

  /** The keys a joining client is given. */
  keys(): PublicKeyInfo[] {
    return this.signer.keys();
  }

  /** Rotates the signing key and tells every member. */
  rotate(): void {
    const keys = this.signer.rotate();
    for (const members of this.members.values()) for (const m of members.values()) m.push('plume:keys', { keys });
  }

  /** A Plume member that asked to mesh joined `topic`. */
  join(topic: string, member: MeshMember): void {
    let room = this.rooms.get(topic);
    if (!room) {
      room = new MeshRoom(this.limits, {
        banned: (peer, by, reason) => this.banned(topic, peer, by, reason),
        promoted: (id) => this.catchUp(topic, id),
        demoted: (id) => this.demoted(topic, id),
      });
      this.rooms.set(topic, room);
      this.members.set(topic, new Map());
    }
    this.members.get(topic)!.set(member.socketId, member);
    this.roomsOf.set(member.socketId, (this.roomsOf.get(member.socketId) ?? 0) + 1);
    room.join(member);
  }

  /** A member left `topic`. */
  leave(topic: string, socketId: string): void {
    const room = this.rooms.get(topic);
    if (!room) return;
    room.leave(socketId);
    if (this.members.get(topic)?.delete(socketId)) {
      const left = (this.roomsOf.get(socketId) ?? 1) - 1;
      if (left > 0) this.roomsOf.set(socketId, left);
      else {
        this.roomsOf.delete(socketId);
        this.signals.forget(socketId);
      }
    }
    if (room.size > 0) return;
    room.close();
    this.rooms.delete(topic);
    this.members.delete(topic);
    clearTimeout(this.heads.get(topic)?.timer);
    this.heads.delete(topic);
  }

  /** How a member of `topic` receives broadcasts; undefined when the topic has no mesh (direct). */
  assignment(topic: string, socketId: string): Assignment | undefined {
    return this.rooms.get(topic)?.assignment(socketId);
  }

  /** Topics with a mesh on this node. */
  get roomCount(): number {
    return this.rooms.size;
  }

  /** True when `topic` has a mesh on this node. */
  has(topic: string): boolean {
    return this.rooms.has(topic);
  }

  /**
   * True when some member of `topic` gets its broadcasts from peers: only then are they signed (an
   * unsigned broadcast goes to every member directly, whatever the plan says).
   */
  relaying(topic: string): boolean {
    return this.rooms.get(topic)?.relaying ?? false;
  }

  /**
   * Forwards signalling from `from` to a member it should link to; returns null when forwarded, or
   * why not (PROTOCOL.md §10): `invalid mesh message`, or a cap's reason (`signals.ts`).
   */
  signal(topic: string, from: string, payload: Payload): MeshRefusal | null {
    const to = payload.to;
    const target = typeof to === 'string' ? this.members.get(topic)?.get(to) : undefined;
    if (!target || !this.rooms.get(topic)?.canSignal(from, to as string) || !isPayload(payload.signal)) return 'invalid mesh message';
    const refused = this.signals.admit(from, target.socketId, Buffer.byteLength(JSON.stringify(payload.signal)), target.pendingBytes, Date.now());
    if (refused) return refused;
    target.push('plume:signal', { from, signal: payload.signal });
    return null;
  }

  /** A link report (`{peer, up}`); null when taken, or why not. */
  link(topic: string, from: string, payload: Payload): MeshRefusal | null {
    if (typeof payload.peer !== 'string' || typeof payload.up !== 'boolean') return 'invalid mesh message';
    this.rooms.get(topic)?.reportLink(from, payload.peer, payload.up);
    return null;
  }

  /** A forgery report (`{peer, reason}`); null when taken, or why not. */
  report(topic: string, from: string, payload: Payload): MeshRefusal | null {
    if (typeof payload.peer !== 'string') return 'invalid mesh message';
    const reason = typeof payload.reason === 'string' ? payload.reason.slice(0, 200) : 'unspecified';
    this.rooms.get(topic)?.reportPeer(from, payload.peer, reason);
    return null;
  }

  /**
   * A member asked for `from..to` of `epoch` from history (`plume:history`): when the plan made it
   * depend on a relay for some of those positions, that is evidence against the relay (`trust.ts`).
   */
  repairing(topic: string, socketId: string, epoch: string, from: number, to: number): void {
    this.rooms.get(topic)?.repairing(socketId, epoch, from, to);
  }

  /** True when a member is reached by working mesh links (so ephemeral events reach it by flooding). */
  meshed(topic: string, socketId: string): boolean {
    return this.rooms.get(topic)?.linked(socketId) ?? false;
  }

  /**
   * Notes a signed broadcast (its payload `bytes` long); members the plan reaches through peers hear
   * the head soon, to notice a lost tail.
   */
  announce(topic: string, epoch: string, seq: number, bytes = 0): void {
    const room = this.rooms.get(topic);
    if (!room) return;
    // Peers carry at most MESH_MAX_MESSAGE characters; the payload's text, escaped once more inside
    // the peer message, takes at most twice its bytes.
    room.announced(epoch, seq, 2 * bytes + RELAY_ENVELOPE <= MESH_MAX_MESSAGE);
    const head = this.heads.get(topic);
    if (head) {
      head.epoch = epoch;
      head.seq = seq;
      if (head.timer !== undefined) return;
    }
    const entry = head ?? { epoch, seq, timer: undefined };
    this.heads.set(topic, entry);
    entry.timer = setTimeout(() => {
      entry.timer = undefined;
      this.sendHead(topic, entry.epoch, entry.seq);
    }, HEAD_INTERVAL_MS);
    entry.timer.unref?.();
  }

  private sendHead(topic: string, epoch: string, seq: number): void {
    const room = this.rooms.get(topic);
    for (const [id, member] of this.members.get(topic) ?? []) {
      if (room?.assignment(id)?.direct === false) member.push('plume:head', { epoch, seq });
    }
  }

  /** A member moved from relayed to direct delivery hears the head now, and fetches what its old relay never passed on. */
  private catchUp(topic: string, id: string): void {
    const head = this.heads.get(topic);
    if (head) this.members.get(topic)?.get(id)?.push('plume:head', { epoch: head.epoch, seq: head.seq });
  }

  private banned(topic: string, peer: string, by: string, reason: string): void {
    this.reports++;
    this.log.warn(`mesh: ${by} reported ${peer} on ${topic} (${reason}), the second user to; it is cut out of the mesh`);
  }

  private demoted(topic: string, id: string): void {
    this.demotions++;
    this.log.warn(`mesh: members of ${topic} kept filling gaps ${id} should have relayed; it relays nothing for a while`);
  }
}
