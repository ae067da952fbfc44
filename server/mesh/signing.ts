/**
 * The step between the engine's feed and fan-out on topics whose mesh, on this node,
 * reaches some member through peers: the broadcast is signed first (in the
 * signer's per-turn batch), so the members that forward it can vouch for it
 * to their peers, and only then delivered. Each node signs for its own
 * mesh, so a broadcast made on any node of a cluster is relayed wherever a
 * mesh relays its topic. A topic's broadcasts are delivered in seq order
 * whether or not they wait for a signature.
 *
 * Responsible for which broadcasts wait, their leaf hashes and their order.
 * Not responsible for keys and batches (`signer.ts`) or frames (`fanout.ts`).
 */
import { signedContentHead } from '../../src/protocol';
import type { SequencedBroadcast } from '../engine/engine';
import type { WriteScheduler } from '../transport/outbound';
import type { MeshRegistry } from './registry';
import { leafHashOf, type Signature } from './signer';

/** A broadcast waiting for its signature, with what its delivery needs. */
interface Waiting {
  message: SequencedBroadcast;
  bytes: Buffer;
  deliver: (message: SequencedBroadcast, bytes: Buffer, sig: Signature) => void;
}

export class Signing {
  /** Topics with broadcasts waiting for their batch signature, and how many. */
  private readonly waiting = new Map<string, number>();

  /** Removes the end-of-turn signing hook. */
  readonly close: () => void;

  constructor(private readonly mesh: MeshRegistry, writes: WriteScheduler) {
    // The batch is signed before the turn's frames are written, so signed broadcasts leave with them.
    this.close = writes.beforeWrite(() => mesh.signer.flush());
  }

  /**
   * True when a broadcast of `topic` must be signed before this node delivers it: some member here
   * gets broadcasts from peers, or earlier broadcasts of the topic still wait (order).
   */
  needed(topic: string): boolean {
    return this.mesh.relaying(topic) || this.waiting.has(topic);
  }

  /**
   * Queues `message` (its payload encoded as `bytes`, which the signature covers) for this turn's
   * batch; `deliver` gets it with its signature once the batch is signed, in the order queued.
   */
  sign(message: SequencedBroadcast, bytes: Buffer, deliver: Waiting['deliver']): void {
    const topic = message.topic;
    this.mesh.announce(topic, message.epoch, message.seq, bytes.length);
    this.waiting.set(topic, (this.waiting.get(topic) ?? 0) + 1);
    const head = signedContentHead(topic, message.epoch, message.seq, message.event, message.id ?? null, message.exclude);
    this.mesh.signer.sign(leafHashOf(head, bytes), { message, bytes, deliver }, this.signed);
  }

  private readonly signed = (waiting: Waiting, sig: Signature): void => {
    const topic = waiting.message.topic;
    const left = this.waiting.get(topic)! - 1;
    if (left === 0) this.waiting.delete(topic);
    else this.waiting.set(topic, left);
    waiting.deliver(waiting.message, waiting.bytes, sig);
  };
}
