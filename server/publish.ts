/**
 * The last step of a broadcast before PubSub: on topics whose mesh reaches
 * some member through peers, the broadcast is signed first (in the signer's
 * per-tick batch), so relaying members can vouch for it to their peers. A
 * topic's broadcasts are published in seq order whether or not they wait
 * for a signature.
 */
import { signedContentHead } from '../src/protocol';
import type { BroadcastMessage } from './fanout';
import type { MeshRegistry } from './mesh/registry';
import { leafHashOf, type Signature } from './mesh/signer';
import { beforeWrite } from './outbound';
import type { PubSub } from './pubsub/pubsub';

export class Publisher {
  /** Topics with broadcasts waiting for their batch signature, and how many. */
  private readonly waiting = new Map<string, number>();

  /** Removes the end-of-turn signing hook. */
  readonly close: () => void;

  constructor(private readonly pubsub: PubSub, private readonly mesh: MeshRegistry | null) {
    // The batch is signed before the turn's frames are written, so signed broadcasts leave with them.
    this.close = mesh ? beforeWrite(() => mesh.signer.flush()) : () => {};
  }

  /** Publishes a broadcast made on this node (it carries its payload's encoded bytes, which a signature covers). */
  publish(message: BroadcastMessage & { payloadBytes: Buffer }): void {
    const topic = message.topic;
    const mesh = this.mesh;
    // Only rooms where some member is reached through peers need signatures (a topic with broadcasts
    // still waiting for theirs keeps going through the signer, to stay in order).
    if (!mesh || (!mesh.relaying(topic) && !this.waiting.has(topic))) return this.pubsub.broadcast(topic, message);
    mesh.announce(topic, message.epoch, message.seq);
    this.waiting.set(topic, (this.waiting.get(topic) ?? 0) + 1);
    const head = signedContentHead(topic, message.epoch, message.seq, message.event, message.id ?? null, message.exclude);
    mesh.signer.sign(leafHashOf(head, message.payloadBytes), message, this.signed);
  }

  /** A signed broadcast goes on to PubSub (batches are signed in the order they were queued). */
  private readonly signed = (message: BroadcastMessage, sig: Signature): void => {
    const topic = message.topic;
    message.sig = sig;
    const left = this.waiting.get(topic)! - 1;
    if (left === 0) this.waiting.delete(topic);
    else this.waiting.set(topic, left);
    this.pubsub.broadcast(topic, message);
  };
}
