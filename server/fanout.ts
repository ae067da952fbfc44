/**
 * Node-local fan-out of channel broadcasts: one PubSub subscription per
 * topic per node, and one encoded frame per broadcast however many members
 * receive it (one for plain Phoenix sockets, one with Plume's order
 * metadata).
 *
 * Responsible for turning a `BroadcastMessage` into frames for this node's
 * members, honouring broadcast-from exclusion and `handleOut` interception.
 * Not responsible for order (the sequencer) or cross-node transport (PubSub).
 */
import { encodeRaw, isPayload, type Payload } from '../src/protocol';
import type { ChannelInstance } from './channel';
import type { PubSub, Subscription } from './pubsub/pubsub';

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
}

/** True for messages produced by `server.broadcast` / `socket.broadcast`. */
export function isBroadcast(message: unknown): message is BroadcastMessage {
  return isPayload(message) && message.kind === 'plume:broadcast';
}

interface Group {
  members: Set<ChannelInstance>;
  subscription: Subscription;
}

export class Fanout {
  private readonly groups = new Map<string, Group>();
  private readonly pubsub: PubSub;
  /** Payload JSON that `server.broadcast` already produced for a message, so it is not serialized twice. */
  private readonly prepared = new WeakMap<BroadcastMessage, string>();

  constructor(pubsub: PubSub) {
    this.pubsub = pubsub;
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

  /** Records the payload JSON of a message this node is about to broadcast. */
  prepare(message: BroadcastMessage, payloadJson: string): void {
    this.prepared.set(message, payloadJson);
  }

  /** Members of `topic` on this node. */
  members(topic: string): ReadonlySet<ChannelInstance> {
    return this.groups.get(topic)?.members ?? new Set();
  }

  /** Number of topics with members on this node. */
  get topicCount(): number {
    return this.groups.size;
  }

  private deliver(topic: string, message: unknown): void {
    const group = this.groups.get(topic);
    if (!group) return;
    if (!isBroadcast(message)) {
      for (const member of group.members) member.info(message);
      return;
    }
    let payloadJson: string | undefined;
    let phoenixFrame: string | undefined;
    let plumeFrame: string | undefined;
    for (const member of group.members) {
      if (member.socketId === message.exclude) continue;
      if (member.isIntercepted(message.event)) {
        this.deliverIntercepted(member, message);
        continue;
      }
      payloadJson ??= this.prepared.get(message) ?? JSON.stringify(message.payload);
      if (member.plume) {
        plumeFrame ??= encodeRaw(null, null, topic, message.event, payloadJson, JSON.stringify({ epoch: message.epoch, seq: message.seq }));
        member.sendRaw(plumeFrame);
      } else {
        phoenixFrame ??= encodeRaw(null, null, topic, message.event, payloadJson);
        member.sendRaw(phoenixFrame);
      }
    }
  }

  private deliverIntercepted(member: ChannelInstance, message: BroadcastMessage): void {
    const payloadJson = member.handleOut(message.event, message.payload);
    if (payloadJson === null) return;
    const meta = member.plume ? JSON.stringify({ epoch: message.epoch, seq: message.seq }) : undefined;
    member.sendRaw(encodeRaw(null, null, message.topic, message.event, payloadJson, meta));
  }
}
