/**
 * Topic-based publish/subscribe for server code, in the shape of
 * Phoenix.PubSub: subscribe, unsubscribe, broadcast, broadcast-from and
 * node-local broadcast. Channels are built on it, but any server code may use
 * it directly.
 *
 * Responsible for the subscriber registry on this node and for dispatching
 * to it. Not responsible for carrying messages between nodes (the adapter)
 * nor for channel framing (see `fanout.ts`).
 */
import type { Envelope, PubSubAdapter } from './adapter';
import { MemoryAdapter } from './memory';

/** Receives messages broadcast to a topic. */
export type PubSubHandler = (message: unknown, topic: string) => void;

/** A live subscription; pass it (or its id) to `unsubscribe`. */
export interface Subscription {
  readonly id: string;
  readonly topic: string;
}

interface Entry extends Subscription {
  handler: PubSubHandler;
}

/**
 * @example
 * const pubsub = new PubSub();
 * const sub = pubsub.subscribe('user:42', (msg) => console.log(msg));
 * pubsub.broadcast('user:42', { kind: 'logout' });
 * pubsub.unsubscribe(sub);
 */
export class PubSub {
  readonly adapter: PubSubAdapter;
  private readonly topics = new Map<string, Map<string, Entry>>();
  private nextId = 0;
  private readonly onHandlerError: (error: unknown, topic: string) => void;

  constructor(adapter: PubSubAdapter = new MemoryAdapter(), onHandlerError?: (error: unknown, topic: string) => void) {
    this.adapter = adapter;
    this.onHandlerError = onHandlerError ?? ((error, topic) => console.error(`[plume] pubsub handler for ${topic} threw`, error));
  }

  /** Starts receiving from other nodes. Called by the server on listen. */
  async start(): Promise<void> {
    await this.adapter.start((envelope) => this.dispatch(envelope));
  }

  /** Stops the adapter. */
  async close(): Promise<void> {
    await this.adapter.close();
  }

  /** The node this PubSub runs on. */
  get nodeName(): string {
    return this.adapter.nodeName;
  }

  /**
   * Subscribes `handler` to `topic`; optionally under a chosen id (for broadcast-from).
   * A chosen id must be unique in the cluster, since broadcast-from skips it on every node.
   */
  subscribe(topic: string, handler: PubSubHandler, id?: string): Subscription {
    // Generated ids carry the node name: broadcast-from skips by id on every node, so `s1` on
    // node A must not also silence `s1` on node B.
    const entry: Entry = { id: id ?? `${this.adapter.nodeName}/s${++this.nextId}`, topic, handler };
    let subs = this.topics.get(topic);
    if (!subs) this.topics.set(topic, (subs = new Map()));
    subs.set(entry.id, entry);
    return { id: entry.id, topic };
  }

  /** Removes a subscription. Unknown subscriptions are ignored. */
  unsubscribe(subscription: Subscription): void {
    const subs = this.topics.get(subscription.topic);
    if (!subs) return;
    subs.delete(subscription.id);
    if (subs.size === 0) this.topics.delete(subscription.topic);
  }

  /** Number of subscribers to `topic` on this node. */
  subscriberCount(topic: string): number {
    return this.topics.get(topic)?.size ?? 0;
  }

  /** Delivers to every subscriber of `topic` on every node. */
  broadcast(topic: string, message: unknown): void {
    this.send(topic, message, null, true);
  }

  /** Delivers to every subscriber of `topic` on every node except the subscription `fromId`. */
  broadcastFrom(fromId: string, topic: string, message: unknown): void {
    this.send(topic, message, fromId, true);
  }

  /** Delivers to subscribers of `topic` on this node only. */
  localBroadcast(topic: string, message: unknown): void {
    this.send(topic, message, null, false);
  }

  /** Delivers to subscribers on this node only, except the subscription `fromId`. */
  localBroadcastFrom(fromId: string, topic: string, message: unknown): void {
    this.send(topic, message, fromId, false);
  }

  private send(topic: string, message: unknown, from: string | null, everywhere: boolean): void {
    const envelope: Envelope = { topic, message, from, node: this.adapter.nodeName };
    this.dispatch(envelope);
    if (everywhere) this.adapter.publish(envelope);
  }

  private dispatch(envelope: Envelope): void {
    const subs = this.topics.get(envelope.topic);
    if (!subs) return;
    for (const entry of subs.values()) {
      if (entry.id === envelope.from) continue;
      try {
        entry.handler(envelope.message, envelope.topic);
      } catch (error) {
        // One failing subscriber must not starve the others; reported, not swallowed.
        this.onHandlerError(error, envelope.topic);
      }
    }
  }
}
