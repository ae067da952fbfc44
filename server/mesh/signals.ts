/**
 * The caps on `plume:signal` (PROTOCOL.md §10): a signal's size, a token
 * bucket per sender and one per target (bytes, each signal costing its
 * size plus a fixed overhead, so many tiny signals are paid for too), and
 * the target's outbound backlog, so that signalling can never push a member
 * towards its slow-consumer cut (4429).
 *
 * Buckets are per socket, whatever the topic: a socket in many rooms gets
 * no more signalling than one in a single room. Not responsible for who may
 * signal whom (`room.ts`) or for forwarding (`registry.ts`).
 */
import { TokenBucket } from '../limits/bucket';

/** What each signal costs on top of its size: the frame around it and the work to pass it on. */
export const SIGNAL_OVERHEAD_BYTES = 256;

/** Signalling limits, with defaults in `options.ts` (`mesh.maxSignalBytes`, …). */
export interface SignalLimits {
  /** Largest signal (its `signal` object as JSON, in UTF-8 bytes). */
  maxSignalBytes: number;
  /** Bytes a sender's bucket, and a target's, hold when full. */
  signalBurstBytes: number;
  /** Bytes per second each bucket refills. */
  signalBytesPerSecond: number;
  /** A signal is refused while its target has more than this waiting to be written. */
  signalBacklogBytes: number;
}

/** Why a signal was refused: the `reason` of the error reply. */
export type SignalRefusal = 'signal too large' | 'rate limited' | 'peer busy';

/**
 * @example
 * const gate = new SignalGate(limits);
 * const refused = gate.admit('s1', 's2', bytes, target.pendingBytes, Date.now()); // null: forward it
 */
export class SignalGate {
  private readonly sent = new Map<string, TokenBucket>();
  private readonly received = new Map<string, TokenBucket>();

  constructor(private readonly limits: SignalLimits) {}

  /**
   * Decides on one signal of `bytes` from `from` to `to`, whose socket has `backlog` bytes waiting;
   * when admitted (null), its cost is taken from both buckets.
   */
  admit(from: string, to: string, bytes: number, backlog: number, now: number): SignalRefusal | null {
    if (bytes > this.limits.maxSignalBytes) return 'signal too large';
    const cost = bytes + SIGNAL_OVERHEAD_BYTES;
    if (backlog + cost > this.limits.signalBacklogBytes) return 'peer busy';
    const sender = this.bucket(this.sent, from, now);
    const target = this.bucket(this.received, to, now);
    // Both or neither: a refusal charges nobody.
    if (!sender.has(cost, now) || !target.has(cost, now)) return 'rate limited';
    sender.take(cost, now);
    target.take(cost, now);
    return null;
  }

  /** Forgets a socket that left every mesh on this node. */
  forget(socketId: string): void {
    this.sent.delete(socketId);
    this.received.delete(socketId);
  }

  private bucket(buckets: Map<string, TokenBucket>, id: string, now: number): TokenBucket {
    let bucket = buckets.get(id);
    if (!bucket) buckets.set(id, (bucket = new TokenBucket(this.limits.signalBurstBytes, this.limits.signalBytesPerSecond, now)));
    return bucket;
  }
}
