/**
 * The socket's heartbeat (PROTOCOL.md §1): a `heartbeat` on the `phoenix`
 * topic every `heartbeatIntervalMs` while the connection is open, and the
 * connection counted as lost when one is not answered in time. One is
 * outstanding at most.
 *
 * Responsible for the timers and for matching the reply. Not responsible
 * for what a lost connection does (`socket.ts`).
 */
import { EVENTS, PHOENIX_TOPIC, type Message } from './protocol';
import type { Clock, TimerHandle } from './timer';

/** What the heartbeat needs of its socket. */
export interface HeartbeatHost {
  readonly clock: Clock;
  readonly intervalMs: number;
  /** Whether the connection is open (a heartbeat is only sent then). */
  isOpen(): boolean;
  makeRef(): string;
  send(message: Message): void;
  /** A heartbeat went unanswered for its timeout. */
  timedOut(): void;
}

/**
 * @example
 * const heartbeat = new Heartbeat({ clock, intervalMs: 30_000, isOpen, makeRef, send, timedOut: () => reconnect() });
 * heartbeat.start(); // on open; `answered(message)` on every reply of the phoenix topic; `stop()` when closed
 */
export class Heartbeat {
  private timer: TimerHandle | null = null;
  private timeout: TimerHandle | null = null;
  private ref: string | null = null;

  constructor(private readonly host: HeartbeatHost) {}

  /** Whether a heartbeat is waiting for its reply. */
  get waiting(): boolean {
    return this.ref !== null;
  }

  /** The next heartbeat in `intervalMs`. */
  start(): void {
    const { clock, intervalMs } = this.host;
    if (this.timer !== null) clock.clearTimeout(this.timer);
    this.timer = clock.setTimeout(() => {
      this.timer = null;
      this.beat(intervalMs);
    }, intervalMs);
  }

  /** Sends a heartbeat now, to be answered within `timeoutMs` (none while one is outstanding). */
  beat(timeoutMs: number): void {
    if (!this.host.isOpen() || this.ref !== null) return;
    const ref = this.host.makeRef();
    this.ref = ref;
    this.host.send({ joinRef: null, ref, topic: PHOENIX_TOPIC, event: EVENTS.heartbeat, payload: {} });
    this.timeout = this.host.clock.setTimeout(() => {
      this.timeout = null;
      this.host.timedOut();
    }, timeoutMs);
  }

  /** Takes a frame of the phoenix topic; true when it answered the heartbeat (the next is scheduled). */
  answered(message: Message): boolean {
    if (message.event !== EVENTS.reply || message.ref === null || message.ref !== this.ref) return false;
    if (this.timeout !== null) this.host.clock.clearTimeout(this.timeout);
    this.timeout = this.ref = null;
    this.start();
    return true;
  }

  stop(): void {
    const { clock } = this.host;
    if (this.timer !== null) clock.clearTimeout(this.timer);
    if (this.timeout !== null) clock.clearTimeout(this.timeout);
    this.timer = this.timeout = this.ref = null;
  }
}
