/**
 * A token bucket: up to `capacity` tokens, refilled at `perSecond`, so a
 * burst may spend the capacity at once and a steady flow only the rate.
 *
 * Pure: the caller passes the time, so tests drive it without a clock. Used
 * by the per-socket rate limits (`socket-limits.ts`) and mesh signalling
 * (`mesh/signals.ts`).
 */
export class TokenBucket {
  private tokens: number;
  private at: number;

  /**
   * @example
   * const bucket = new TokenBucket(128 * 1024, 16 * 1024, Date.now());
   * if (bucket.has(cost, now)) bucket.take(cost, now);
   */
  constructor(private readonly capacity: number, private readonly perSecond: number, now: number) {
    this.tokens = capacity;
    this.at = now;
  }

  /** True when `cost` tokens could be taken at `now`. */
  has(cost: number, now: number): boolean {
    return cost <= this.level(now);
  }

  /** Takes `cost` tokens at `now`; false (and nothing taken) when there are fewer. */
  take(cost: number, now: number): boolean {
    if (!this.has(cost, now)) return false;
    this.tokens -= cost;
    return true;
  }

  /**
   * Takes `cost` tokens at `now` even if there are fewer: the bucket goes into debt, and pays it back
   * at its rate before it holds anything again. For costs known only after the work was done.
   *
   * @example bucket.spend(bytesServed, now); // then `bucket.level(now) > 0` says whether to serve more
   */
  spend(cost: number, now: number): void {
    this.level(now);
    this.tokens -= cost;
  }

  /** The tokens held at `now` (below zero while in debt). */
  level(now: number): number {
    this.tokens = refilled(this.tokens, this.capacity, this.perSecond, now - this.at);
    this.at = Math.max(this.at, now);
    return this.tokens;
  }
}

/**
 * What a bucket holding `tokens` holds `elapsedMs` later: refilled at `perSecond`, never past
 * `capacity`. A clock that steps back (`elapsedMs` below zero) refills nothing rather than draining it.
 * For classes that keep several buckets as plain fields (one object per socket, not one per bucket).
 *
 * @example refilled(0, 100, 10, 1500) // 15
 */
export function refilled(tokens: number, capacity: number, perSecond: number, elapsedMs: number): number {
  return Math.min(capacity, tokens + (Math.max(0, elapsedMs) * perSecond) / 1000);
}
