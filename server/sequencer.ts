/**
 * Per-topic order: gives every authoritative broadcast its topic's next
 * `(epoch, seq)` position.
 *
 * The memory sequencer vouches only for this process's lifetime, so its
 * epoch is fresh on every start. Not responsible for storing history.
 */
import { randomBytes } from 'node:crypto';

/** A broadcast's place in its topic's order. */
export interface Position {
  epoch: string;
  seq: number;
}

/** Assigns positions; implementations must be atomic per topic. */
export interface Sequencer {
  /** Assigns and returns the topic's next position. */
  next(topic: string): Position;
  /** The last assigned position, or `{epoch, seq: 0}` when none yet. */
  head(topic: string): Position;
}

/** A new random epoch identifier. */
export function newEpoch(): string {
  return randomBytes(6).toString('base64url');
}

/**
 * @example
 * const seq = new MemorySequencer();
 * seq.next('room:a'); // { epoch: 'x1Y2z3', seq: 1 }
 */
export class MemorySequencer implements Sequencer {
  readonly epoch: string;
  private readonly counters = new Map<string, number>();

  constructor(epoch: string = newEpoch()) {
    this.epoch = epoch;
  }

  next(topic: string): Position {
    const seq = (this.counters.get(topic) ?? 0) + 1;
    this.counters.set(topic, seq);
    return { epoch: this.epoch, seq };
  }

  head(topic: string): Position {
    return { epoch: this.epoch, seq: this.counters.get(topic) ?? 0 };
  }
}
