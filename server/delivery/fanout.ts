/**
 * Node-local fan-out of channel broadcasts: one engine subscription and one
 * PubSub subscription per topic per node, and one encoded frame per
 * broadcast however many members receive it (`frames.ts`).
 *
 * Responsible for turning a sequenced broadcast (live from the engine, or
 * replayed from history) into frames for this node's members, honouring
 * broadcast-from exclusion and `handleOut` interception, sending Plume
 * members a skip for every position they do not receive, and holding a
 * joining member's broadcasts until its join reply and replay are out (so
 * it gets each position once, in order, with no gap). On topics whose mesh
 * here relays, a broadcast first waits for this node's signature
 * (`mesh/signing.ts`). Not responsible for order (the engine, then
 * `feed.ts`) or for carrying anything between nodes.
 */
import { encodeRaw, isPayload, type Payload } from '../../src/protocol';
import type { ChannelInstance } from '../channels/instance';
import { fromHistory, type BroadcastLog, type LogSubscription, type SequencedBroadcast, type StoredBroadcast } from '../engine/engine';
import type { MeshRegistry } from '../mesh/registry';
import type { Signature } from '../mesh/signer';
import { Signing } from '../mesh/signing';
import type { PubSub, Subscription } from '../pubsub/pubsub';
import type { WriteScheduler } from '../transport/outbound';
import { textBytes } from '../wire/frame';
import { TopicFeed } from './feed';
import { Frames } from './frames';

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

/** A broadcast held for a joining member, with the frames it would have been sent. */
export interface Held {
  broadcast: SequencedBroadcast;
  frames: Frames;
}

interface Group {
  members: Set<ChannelInstance>;
  /** Non-broadcast PubSub messages (`handleInfo`) and ephemeral events. */
  messages: Subscription;
  broadcasts: LogSubscription;
  feed: TopicFeed;
}

/** The payload object of a broadcast, parsed once from its text when the engine did not carry it. */
function payloadOf(broadcast: SequencedBroadcast): Payload {
  return (broadcast.payload ??= JSON.parse(broadcast.payloadJson ?? broadcast.payloadBytes.toString('utf8')) as Payload);
}

export class Fanout {
  /** Broadcast deliveries to members on this node (counted once per broadcast, for `/metrics`). */
  deliveries = 0;
  /** Of those, deliveries a peer carried instead (mesh), and their payload bytes this node did not send. */
  relayed = 0;
  relayedBytes = 0;
  private readonly groups = new Map<string, Group>();
  private readonly signing: Signing | null;

  constructor(
    private readonly pubsub: PubSub,
    private readonly log: BroadcastLog,
    private readonly mesh: MeshRegistry | null,
    writes: WriteScheduler,
    private readonly onError: (error: unknown, context: string) => void,
  ) {
    this.signing = mesh ? new Signing(mesh, writes) : null;
  }

  /** Stops signing at the end of each turn (the server is closing). */
  close(): void {
    this.signing?.close();
  }

  /**
   * Adds a joined channel to its topic's group, holding its broadcasts until {@link release}.
   * Resolves once the topic's engine subscription is live: every broadcast published after that
   * reaches the member (held, then released in order).
   */
  add(instance: ChannelInstance): Promise<void> {
    let group = this.groups.get(instance.topic);
    if (!group) {
      const topic = instance.topic;
      const feed = new TopicFeed(topic, this.log, (broadcast) => this.received(broadcast), (error) => this.onError(error, `history read to fill a gap on ${topic}`));
      const messages = this.pubsub.subscribe(topic, (message) => this.message(topic, message));
      const broadcasts = this.log.subscribe(topic, (broadcast) => feed.receive(broadcast));
      this.groups.set(topic, (group = { members: new Set(), messages, broadcasts, feed }));
    }
    instance.held = [];
    group.members.add(instance);
    return group.broadcasts.ready;
  }

  /**
   * Sends a member what was held for it since it was added: broadcasts after `(epoch, seq)` (what its
   * join reply and replay covered), in order; from then on it gets broadcasts as they come.
   */
  release(instance: ChannelInstance, epoch: string | null, seq: number): void {
    const held = instance.held;
    instance.held = null;
    if (!held) return;
    for (const { broadcast, frames } of held) {
      if (epoch === null || broadcast.epoch !== epoch || broadcast.seq > seq) this.deliverTo(instance, broadcast, frames);
    }
  }

  /** Removes a channel; drops the topic's subscriptions with its last member. */
  remove(instance: ChannelInstance): void {
    instance.held = null;
    const group = this.groups.get(instance.topic);
    if (!group || !group.members.delete(instance)) return;
    if (group.members.size === 0) {
      this.pubsub.unsubscribe(group.messages);
      this.log.unsubscribe(group.broadcasts);
      group.feed.close();
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

  /** Each topic with members on this node, with how many (`GET /api/topics`). */
  *topicSizes(): IterableIterator<[string, number]> {
    for (const [topic, group] of this.groups) yield [topic, group.members.size];
  }

  /** Sends `entries` of history to one member, in order, as its replay (PROTOCOL.md §7). */
  replay(member: ChannelInstance, epoch: string, entries: readonly StoredBroadcast[]): void {
    for (const entry of entries) {
      const broadcast = fromHistory(member.topic, epoch, entry);
      // JSON is sent as the stored text; a binary payload as its bytes.
      this.send(member, broadcast, new Frames(member.topic, broadcast, () => entry.payloadJson, entry.binary));
    }
  }

  /** A PubSub message on a topic with members here: an ephemeral event, or a message for `handleInfo`. */
  private message(topic: string, message: unknown): void {
    const group = this.groups.get(topic);
    if (!group) return;
    if (isEphemeral(message)) return this.deliverEphemeral(group, message);
    for (const member of group.members) member.info(message);
  }

  /** A broadcast from the topic's feed: in seq order, nothing missing. */
  private received(broadcast: SequencedBroadcast): void {
    const topic = broadcast.topic;
    // The signature covers the payload's bytes (a folded entry has none: it goes to members as a skip).
    if (!broadcast.folded && this.signing?.needed(topic)) {
      const bytes = broadcast.payloadBytes.length > 0 || broadcast.payloadJson === undefined ? broadcast.payloadBytes : textBytes(broadcast.payloadJson);
      return this.signing.sign(broadcast, bytes, this.deliverSigned);
    }
    this.deliverBroadcast(broadcast, broadcast.payloadBytes, undefined);
  }

  /** A broadcast this node signed, to the members the topic has now. */
  private readonly deliverSigned = (broadcast: SequencedBroadcast, bytes: Buffer, sig: Signature): void => this.deliverBroadcast(broadcast, bytes, sig);

  private deliverBroadcast(broadcast: SequencedBroadcast, payloadBytes: Buffer, sig: Signature | undefined): void {
    const group = this.groups.get(broadcast.topic);
    if (!group) return;
    let payloadJson = broadcast.payloadJson;
    const bytes = broadcast.binary || payloadBytes.length > 0 ? payloadBytes : undefined;
    const frames = new Frames(broadcast.topic, broadcast, () => (payloadJson ??= payloadBytes.toString('utf8')), bytes, sig);
    // Plume's own broadcasts (document updates, `plume:doc`) are for Plume sockets only: plain Phoenix
    // clients never see an extension.
    const plumeOnly = broadcast.event.startsWith('plume:');
    for (const member of group.members) {
      if (plumeOnly && !member.plume) continue;
      this.deliveries++;
      this.deliverTo(member, broadcast, frames);
    }
  }

  /** Delivers to one member, or holds it while the member's join is being answered. */
  private deliverTo(member: ChannelInstance, broadcast: SequencedBroadcast, frames: Frames): void {
    if (member.held) member.held.push({ broadcast, frames });
    else this.send(member, broadcast, frames);
  }

  private send(member: ChannelInstance, broadcast: SequencedBroadcast, frames: Frames): void {
    if (member.socketId === broadcast.exclude || broadcast.folded) {
      if (member.plume) member.sendRaw(frames.skip());
      return;
    }
    // Interception (handleOut) applies to JSON payloads; bytes go to every member as they are.
    if (broadcast.binary || !member.isIntercepted(broadcast.event)) {
      if (!member.plume) return member.sendRaw(frames.phoenix());
      // On a mesh, a member may get it from a peer instead, and a member that forwards needs the signature
      // (only members that asked to mesh have a place in the plan: the others are not looked up).
      const assignment = frames.sig && member.meshCapable ? this.mesh?.assignment(member.topic, member.socketId) : undefined;
      if (assignment?.direct === false) {
        this.relayed++;
        this.relayedBytes += broadcast.payloadBytes.length || (broadcast.payloadJson?.length ?? 0);
        return;
      }
      member.sendRaw(assignment && assignment.forward.length > 0 ? frames.signed() : frames.plume());
      return;
    }
    const payloadJson = member.handleOut(broadcast.event, payloadOf(broadcast));
    if (payloadJson !== null) member.sendRaw(encodeRaw(null, null, member.topic, broadcast.event, payloadJson, member.plume ? frames.meta() : undefined));
    else if (member.plume) member.sendRaw(frames.skip());
  }

  /** Ephemeral events reach members outside the sender's mesh through the server; mesh members flood them. */
  private deliverEphemeral(group: Group, message: EphemeralMessage): void {
    const viaMesh = this.mesh?.meshed(message.topic, message.from) ?? false;
    let phoenix: string | undefined;
    let plume: string | undefined;
    for (const member of group.members) {
      if (member.held || member.socketId === message.from || (viaMesh && this.mesh!.meshed(message.topic, member.socketId))) continue;
      if (!member.plume) member.sendRaw((phoenix ??= encodeRaw(null, null, message.topic, message.event, JSON.stringify(message.payload))));
      else member.sendRaw((plume ??= encodeRaw(null, null, message.topic, message.event, JSON.stringify(message.payload), JSON.stringify({ ephemeral: true, from: message.from, eid: message.eid }))));
    }
  }
}
