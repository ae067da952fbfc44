/**
 * The server's side of peer-assisted fan-out on this node: one `MeshRoom`
 * per topic with mesh-capable members, the signer, signalling between
 * members (stamped with the sender's id by the server, never by the
 * client), link and forgery reports, and head announcements for members the
 * plan reaches through peers.
 *
 * Meshes are node-local: members on other nodes get broadcasts directly.
 */
import { isPayload, type Payload } from '../../src/protocol';
import type { Logger } from '../log';
import type { Assignment } from './plan';
import { MeshRoom, type MeshLimits, type MeshMember } from './room';
import { Signer, type PublicKeyInfo } from './signer';

/** How long head announcements for a topic are coalesced (ms). */
const HEAD_INTERVAL_MS = 200;

export class MeshRegistry {
  readonly signer = new Signer();
  private readonly rooms = new Map<string, MeshRoom>();
  private readonly members = new Map<string, Map<string, MeshMember>>();
  private readonly heads = new Map<string, { epoch: string; seq: number; timer: ReturnType<typeof setTimeout> | undefined }>();
  /** Peers cut for lying, since start. */
  reports = 0;

  constructor(private readonly limits: MeshLimits, private readonly log: Logger) {}

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
      room = new MeshRoom(this.limits, (peer, by, reason) => this.reported(topic, peer, by, reason), (id) => this.catchUp(topic, id));
      this.rooms.set(topic, room);
      this.members.set(topic, new Map());
    }
    this.members.get(topic)!.set(member.socketId, member);
    room.join(member);
  }

  /** A member left `topic`. */
  leave(topic: string, socketId: string): void {
    const room = this.rooms.get(topic);
    if (!room) return;
    room.leave(socketId);
    this.members.get(topic)?.delete(socketId);
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

  /** Forwards signalling from `from` to a member it should link to; false when refused. */
  signal(topic: string, from: string, payload: Payload): boolean {
    const to = payload.to;
    const room = this.rooms.get(topic);
    if (typeof to !== 'string' || !room?.canSignal(from, to) || !isPayload(payload.signal)) return false;
    this.members.get(topic)?.get(to)?.push('plume:signal', { from, signal: payload.signal });
    return true;
  }

  /** A link report (`{peer, up}`); false when malformed. */
  link(topic: string, from: string, payload: Payload): boolean {
    if (typeof payload.peer !== 'string' || typeof payload.up !== 'boolean') return false;
    this.rooms.get(topic)?.reportLink(from, payload.peer, payload.up);
    return true;
  }

  /** A forgery report (`{peer, reason}`); false when malformed. */
  report(topic: string, from: string, payload: Payload): boolean {
    if (typeof payload.peer !== 'string') return false;
    const reason = typeof payload.reason === 'string' ? payload.reason.slice(0, 200) : 'unspecified';
    this.rooms.get(topic)?.reportPeer(from, payload.peer, reason);
    return true;
  }

  /** True when a member is reached by working mesh links (so ephemeral events reach it by flooding). */
  meshed(topic: string, socketId: string): boolean {
    return this.rooms.get(topic)?.linked(socketId) ?? false;
  }

  /** Notes a broadcast; members the plan reaches through peers hear the head soon, to notice a lost tail. */
  announce(topic: string, epoch: string, seq: number): void {
    if (!this.rooms.has(topic)) return;
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

  private reported(topic: string, peer: string, by: string, reason: string): void {
    this.reports++;
    this.log.warn(`mesh: ${by} reported ${peer} on ${topic} (${reason}); it relays no more`);
  }
}
