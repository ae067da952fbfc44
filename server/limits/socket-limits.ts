/**
 * Every per-socket budget of PROTOCOL.md §5 (rate limits) in one object
 * that a connection asks: may this frame be handled now, this join proceed,
 * how much history may this page or replay carry.
 *
 * Responsible for the budgets and their clock, kept as plain fields (every
 * socket has one). Not responsible for the answers (a `rate limited` reply,
 * close 4420, holding a frame back): `socket/connection.ts` and
 * `fair-share.ts` do.
 */
import { refilled } from './bucket';
import { InboundRate, type Verdict } from './inbound';
import { HISTORY_REQUEST_COST, type RateLimits } from './rates';

export type { Verdict } from './inbound';

/** Milliseconds from a monotonic clock: the default for every socket (one function, not one per socket). */
const monotonic = (): number => performance.now();

/**
 * @example
 * const limits = new SocketLimits(DEFAULT_RATE_LIMITS, 256 * 1024);
 * if (limits.frame(data.length) === 'wait') holdFor(limits.holdMs(data.length));
 * if (!limits.join()) replyError('rate limited');
 * const maxBytes = limits.historyBytes(); // 0: the history budget is spent
 * limits.historyServed(bytes, true);
 */
export class SocketLimits extends InboundRate {
  /** Tokens of the join and history buckets, as of `at`. */
  private joins: number;
  private history: number;
  private budgetsAt: number;

  /**
   * `rates` null turns every budget off (`rateLimit: false`); `pageBytes` caps every history page
   * and join replay either way. `clock` gives milliseconds (monotonic by default).
   */
  constructor(private readonly rates: RateLimits | null, private readonly pageBytes: number, private readonly clock: () => number = monotonic) {
    const now = clock();
    super(rates ?? UNLIMITED, now);
    this.joins = rates?.joinBurst ?? 0;
    this.history = rates?.historyBurstBytes ?? 0;
    this.budgetsAt = now;
  }

  /** Whether an inbound frame of `size` bytes is handled now (`pass`), waits (`wait`, see `waitMs`), or closes the socket with 4420. */
  frame(size: number): Verdict {
    return this.rates ? this.admit(size, this.clock()) : 'pass';
  }

  /** How long a frame of `size` bytes that got `wait` must wait, ms. */
  holdMs(size: number): number {
    return this.rates ? this.waitMs(size, this.clock()) : 0;
  }

  /** Takes one join from the join budget; false when it is spent. */
  join(): boolean {
    if (!this.rates) return true;
    this.refillBudgets(this.rates);
    if (this.joins < 1) return false;
    this.joins -= 1;
    return true;
  }

  /** The payload bytes the next history page or join replay may carry: the page cap, or 0 while the history budget is spent. */
  historyBytes(): number {
    if (!this.rates) return this.pageBytes;
    this.refillBudgets(this.rates);
    return this.history > 0 ? this.pageBytes : 0;
  }

  /** Charges `payloadBytes` of history served (plus the cost of a request, for `plume:history`); may overdraw the budget. */
  historyServed(payloadBytes: number, request: boolean): void {
    if (!this.rates) return;
    this.refillBudgets(this.rates);
    this.history -= payloadBytes + (request ? HISTORY_REQUEST_COST : 0);
  }

  private refillBudgets(rates: RateLimits): void {
    const now = this.clock();
    this.joins = refilled(this.joins, rates.joinBurst, rates.joinsPerSecond, now - this.budgetsAt);
    this.history = refilled(this.history, rates.historyBurstBytes, rates.historyBytesPerSecond, now - this.budgetsAt);
    this.budgetsAt = Math.max(this.budgetsAt, now);
  }
}

/** What the inbound rate is given when the limits are off: it is never asked. */
const UNLIMITED: RateLimits = {
  framesPerSecond: Infinity, frameBurst: Infinity, bytesPerSecond: Infinity, byteBurst: Infinity, maxThrottleMs: Infinity,
  joinsPerSecond: Infinity, joinBurst: Infinity, historyBytesPerSecond: Infinity, historyBurstBytes: Infinity,
};
