/**
 * A token bucket: up to `capacity` tokens, refilled at `perSecond`, so a
 * burst may spend the capacity at once and a steady flow only the rate.
 *
 * Pure: the caller passes the time, so tests drive it without a clock.
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
    this.refill(now);
    return cost <= this.tokens;
  }

  /** Takes `cost` tokens at `now`; false (and nothing taken) when there are fewer. */
  take(cost: number, now: number): boolean {
    if (!this.has(cost, now)) return false;
    this.tokens -= cost;
    return true;
  }

  private refill(now: number): void {
    // A clock that steps back refills nothing rather than draining the bucket.
    const elapsed = Math.max(0, now - this.at);
    this.at = Math.max(this.at, now);
    this.tokens = Math.min(this.capacity, this.tokens + (elapsed * this.perSecond) / 1000);
  }
}
