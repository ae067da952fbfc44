/**
 * One topic's broadcasts as this node receives them from the engine, put
 * in seq order with nothing missing: a broadcast that arrives after a gap
 * (the engine's bus dropped some while its connection was down) waits
 * while the missing ones are read from history, so this node's members —
 * plain Phoenix clients included, which cannot repair gaps themselves —
 * get every broadcast once and in order.
 *
 * Responsible for order and gap repair per topic on this node. An epoch
 * change (the engine lost the topic's data) starts the count again: clients
 * learn of it from the epoch itself. Not responsible for frames.
 */
import { fromHistory, type BroadcastLog, type Position, type SequencedBroadcast } from '../engine/engine';

/**
 * @example
 * const feed = new TopicFeed('room:a', log, (b) => fanout(b), onError);
 * feed.receive(broadcast); // delivered now, or after the gap before it is filled
 */
export class TopicFeed {
  /** The last position passed on, or null before the first. */
  private last: Position | null = null;
  /** Broadcasts waiting for a gap before them to be filled (null: none waiting). */
  private waiting: SequencedBroadcast[] | null = null;
  private closed = false;

  constructor(
    private readonly topic: string,
    private readonly log: BroadcastLog,
    private readonly deliver: (broadcast: SequencedBroadcast) => void,
    private readonly onError: (error: unknown) => void,
  ) {}

  receive(broadcast: SequencedBroadcast): void {
    if (this.closed) return;
    if (this.waiting) {
      this.waiting.push(broadcast);
      return;
    }
    const last = this.last;
    if (last && broadcast.epoch === last.epoch) {
      if (broadcast.seq <= last.seq) return; // already passed on (a bus that delivered it twice)
      if (broadcast.seq > last.seq + 1) {
        this.waiting = [broadcast];
        this.fill(last, broadcast.seq - 1);
        return;
      }
    }
    this.pass(broadcast);
  }

  /** Stops delivering (the topic's last member here left). */
  close(): void {
    this.closed = true;
    this.waiting = null;
  }

  private pass(broadcast: SequencedBroadcast): void {
    this.last = { epoch: broadcast.epoch, seq: broadcast.seq };
    this.deliver(broadcast);
  }

  /** Reads `last.seq + 1 .. to` from history, passes it on, then what waited behind it. */
  private fill(last: Position, to: number): void {
    this.log.read(this.topic, last.seq + 1, to, to - last.seq).then(
      (read) => {
        if (this.closed) return;
        // Entries of another epoch cannot fill this gap: the epoch change says what was lost.
        if (read.epoch === last.epoch) for (const entry of read.entries) this.pass(fromHistory(this.topic, last.epoch, entry));
        this.drain();
      },
      (error: unknown) => {
        // History cannot be read now: pass on what waited; Plume clients fetch the gap themselves later.
        this.onError(error);
        this.drain();
      },
    );
  }

  private drain(): void {
    const waiting = this.waiting ?? [];
    this.waiting = null;
    for (let i = 0; i < waiting.length; i++) {
      this.receive(waiting[i]!);
      if (this.waiting) {
        // Another gap: what is left waits behind it.
        (this.waiting as SequencedBroadcast[]).push(...waiting.slice(i + 1));
        return;
      }
    }
  }
}
