/**
 * Node-local fan-out of channel broadcasts: one PubSub subscription per
 * topic per node, and one encoded frame per broadcast however many members
 * receive it (one for plain Phoenix sockets, one with Plume's order
 * metadata).
 *
 * Responsible for turning a `BroadcastMessage` (live, or replayed from
 * history) into frames for this node's members, honouring broadcast-from
 * exclusion and `handleOut` interception, and sending Plume members a skip
 * for every position they do not receive. On topics whose mesh here relays,
 * a broadcast first waits for this node's signature (`mesh/signing.ts`).
 * Not responsible for order (the history) or cross-node transport (PubSub).
 */
import { encodeRaw, isPayload, type Payload } from '../../src/protocol';
import { frameAround, frameOf, reframe, reframeAscii, textBytes } from '../transport/outbound';
import type { ChannelInstance } from '../channels/instance';
import type { StoredBroadcast } from '../engine/memory/history';
import type { MeshRegistry } from '../mesh/registry';
import type { Signature } from '../mesh/signer';
import { Signing } from '../mesh/signing';
import type { PubSub, Subscription } from '../pubsub/pubsub';

/** A channel broadcast as it travels through PubSub. */
export interface BroadcastMessage {
  kind: 'plume:broadcast';
  topic: string;
  event: string;
  payload: Payload;
  epoch: string;
  seq: number;
  /** Socket id that must not receive it (broadcast-from), or null. */
  exclude: string | null;
  /** The client message id it was made for (PROTOCOL.md §7), if any. */
  id?: string;
  /** The payload's JSON text when the sender already has it (saves serializing it again on this node). */
  payloadJson?: string;
  /**
   * That text as UTF-8, when the sender already encoded it (possibly a view into the buffer the client's
   * frame arrived in, `frame-json.ts`): frames are built around these bytes.
   * Meant for this node: an adapter carrying messages between nodes should leave it out (and
   * `payloadJson`, which the payload duplicates); if it serializes it anyway, the copy that arrives
   * is not a Buffer and is ignored.
   */
  payloadBytes?: Buffer;
}

/** The event of the frame that tells a Plume member it does not receive a position. */
export const SKIP_EVENT = 'plume:skip';

const ASCII = /^[\x00-\x7f]*$/;

/** Builds each kind of frame for one broadcast at most once, however many members get it. */
class Frames {
  private phoenixFrame: Buffer | undefined;
  private plumeFrame: Buffer | undefined;
  private signedFrame: Buffer | undefined;
  private skipFrame: string | undefined;
  private metaJson: string | undefined;

  constructor(
    private readonly topic: string,
    private readonly message: Pick<BroadcastMessage, 'event' | 'epoch' | 'seq' | 'id' | 'exclude'>,
    private readonly payloadJson: () => string,
    private readonly payloadBytes?: Buffer,
    /** This node's signature of the broadcast, when its mesh relays the topic (PROTOCOL.md §10). */
    readonly sig?: Signature,
  ) {}

  meta(): string {
    const { epoch, seq, id } = this.message;
    // What JSON.stringify({ epoch, seq, id }) writes (seq is an integer), without building the object.
    return (this.metaJson ??= `{"epoch":${JSON.stringify(epoch)},"seq":${seq}${id === undefined ? '' : `,"id":${JSON.stringify(id)}`}}`);
  }

  phoenix(): Buffer {
    return (this.phoenixFrame ??= this.frame(undefined));
  }

  plume(): Buffer {
    return (this.plumeFrame ??= this.frame(this.meta()));
  }

  /** The broadcast's frame, with `metaJson` as its last element if given: around the payload's bytes when there are some. */
  private frame(metaJson: string | undefined): Buffer {
    const bytes = this.payloadBytes;
    if (!bytes) return frameOf(encodeRaw(null, null, this.topic, this.message.event, this.payloadJson(), metaJson));
    return frameAround(`[null,null,${JSON.stringify(this.topic)},${JSON.stringify(this.message.event)},`, bytes, metaJson === undefined ? ']' : `,${metaJson}]`);
  }

  /**
   * With the signature (and the excluded member): for members that forward to peers. Built from the
   * bytes of the Plume frame (which the other members get), whose text ends with the meta's closing
   * brace and the array's: the signature goes in before them, and the payload is not encoded twice.
   */
  signed(): Buffer {
    if (this.signedFrame) return this.signedFrame;
    const { start, proof } = this.sig!;
    const exclude = this.message.exclude;
    if (exclude === null) return (this.signedFrame = reframeAscii(this.plume(), 2, ',"sig":', start, proof, '}}]'));
    // Socket ids are base64url, but a broadcast may name any string as the one to leave out.
    const x = `,"x":${JSON.stringify(exclude)}`;
    return (this.signedFrame = (ASCII.test(x) ? reframeAscii : reframe)(this.plume(), 2, ',"sig":', start, proof, '}', x, '}]'));
  }

  skip(): string {
    const { epoch, seq } = this.message;
    return (this.skipFrame ??= encodeRaw(null, null, this.topic, SKIP_EVENT, '{}', JSON.stringify({ epoch, seq })));
  }
}

/** True for messages produced by `server.broadcast` / `socket.broadcast`. */
export function isBroadcast(message: unknown): message is BroadcastMessage {
  return isPayload(message) && message.kind === 'plume:broadcast';
}

interface Group {
  members: Set<ChannelInstance>;
  subscription: Subscription;
}

/** An ephemeral event as it travels through PubSub (PROTOCOL.md §10): unordered, not stored. */
export interface EphemeralMessage {
  kind: 'plume:ephemeral';
  topic: string;
  event: string;
  payload: Payload;
  /** The sender's socket id. */
  from: string;
  eid: string;
}

function isEphemeral(message: unknown): message is EphemeralMessage {
  return isPayload(message) && message.kind === 'plume:ephemeral';
}

export class Fanout {
  private readonly groups = new Map<string, Group>();
  private readonly pubsub: PubSub;
  private readonly mesh: MeshRegistry | null;
  private readonly signing: Signing | null;

  constructor(pubsub: PubSub, mesh: MeshRegistry | null = null) {
    this.pubsub = pubsub;
    this.mesh = mesh;
    this.signing = mesh ? new Signing(mesh) : null;
  }

  /** Stops signing at the end of each turn (the server is closing). */
  close(): void {
    this.signing?.close();
  }

  /** Adds a joined channel to its topic's group. */
  add(instance: ChannelInstance): void {
    let group = this.groups.get(instance.topic);
    if (!group) {
      const topic = instance.topic;
      const subscription = this.pubsub.subscribe(topic, (message) => this.deliver(topic, message));
      this.groups.set(topic, (group = { members: new Set(), subscription }));
    }
    group.members.add(instance);
  }

  /** Removes a channel; drops the topic's subscription with its last member. */
  remove(instance: ChannelInstance): void {
    const group = this.groups.get(instance.topic);
    if (!group || !group.members.delete(instance)) return;
    if (group.members.size === 0) {
      this.pubsub.unsubscribe(group.subscription);
      this.groups.delete(instance.topic);
    }
  }

  /** Members of `topic` on this node. */
  members(topic: string): ReadonlySet<ChannelInstance> {
    return this.groups.get(topic)?.members ?? new Set();
  }

  /** Number of topics with members on this node. */
  get topicCount(): number {
    return this.groups.size;
  }

  /** Sends `entries` of history to one member, in order, as its replay (PROTOCOL.md §7). */
  replay(member: ChannelInstance, epoch: string, entries: readonly StoredBroadcast[]): void {
    for (const entry of entries) {
      // Only handleOut needs the payload as an object; everyone else gets the stored text as is.
      const payload = member.isIntercepted(entry.event) ? (JSON.parse(entry.payloadJson) as Payload) : {};
      const message = { event: entry.event, payload, epoch, seq: entry.seq, id: entry.id, exclude: null };
      this.deliverTo(member, message, new Frames(member.topic, message, () => entry.payloadJson));
    }
  }

  private deliver(topic: string, message: unknown): void {
    const group = this.groups.get(topic);
    if (!group) return;
    if (isEphemeral(message)) return this.deliverEphemeral(group, message);
    if (!isBroadcast(message)) {
      for (const member of group.members) member.info(message);
      return;
    }
    // An adapter that serializes messages turns the bytes into `{type, data}`: only real bytes count.
    const bytes = Buffer.isBuffer(message.payloadBytes) ? message.payloadBytes : undefined;
    // The signature covers the payload's bytes: a broadcast made on another node arrives without them.
    if (this.signing?.needed(topic)) return this.signing.sign(message, bytes ?? textBytes(message.payloadJson ?? JSON.stringify(message.payload)), this.deliverSigned);
    this.deliverBroadcast(message, bytes, undefined);
  }

  /** A broadcast this node signed, to the members the topic has now. */
  private readonly deliverSigned = (message: BroadcastMessage, bytes: Buffer, sig: Signature): void => this.deliverBroadcast(message, bytes, sig);

  private deliverBroadcast(message: BroadcastMessage, bytes: Buffer | undefined, sig: Signature | undefined): void {
    const group = this.groups.get(message.topic);
    if (!group) return;
    let payloadJson: string | undefined;
    const frames = new Frames(message.topic, message, () => (payloadJson ??= message.payloadJson ?? JSON.stringify(message.payload)), bytes, sig);
    for (const member of group.members) this.deliverTo(member, message, frames);
  }

  private deliverTo(member: ChannelInstance, message: Omit<BroadcastMessage, 'kind' | 'topic'>, frames: Frames): void {
    if (member.socketId === message.exclude) {
      if (member.plume) member.sendRaw(frames.skip());
      return;
    }
    if (!member.isIntercepted(message.event)) {
      if (!member.plume) return member.sendRaw(frames.phoenix());
      // On a mesh, a member may get it from a peer instead, and a member that forwards needs the signature
      // (only members that asked to mesh have a place in the plan: the others are not looked up).
      const assignment = frames.sig && member.meshCapable ? this.mesh?.assignment(member.topic, member.socketId) : undefined;
      if (assignment?.direct === false) return;
      member.sendRaw(assignment && assignment.forward.length > 0 ? frames.signed() : frames.plume());
      return;
    }
    const payloadJson = member.handleOut(message.event, message.payload);
    if (payloadJson !== null) member.sendRaw(encodeRaw(null, null, member.topic, message.event, payloadJson, member.plume ? frames.meta() : undefined));
    else if (member.plume) member.sendRaw(frames.skip());
  }

  /** Ephemeral events reach members outside the sender's mesh through the server; mesh members flood them. */
  private deliverEphemeral(group: Group, message: EphemeralMessage): void {
    const viaMesh = this.mesh?.meshed(message.topic, message.from) ?? false;
    let phoenix: string | undefined;
    let plume: string | undefined;
    for (const member of group.members) {
      if (member.socketId === message.from || (viaMesh && this.mesh!.meshed(message.topic, member.socketId))) continue;
      if (!member.plume) member.sendRaw((phoenix ??= encodeRaw(null, null, message.topic, message.event, JSON.stringify(message.payload))));
      else member.sendRaw((plume ??= encodeRaw(null, null, message.topic, message.event, JSON.stringify(message.payload), JSON.stringify({ ephemeral: true, from: message.from, eid: message.eid }))));
    }
  }
}
