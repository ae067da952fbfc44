/**
 * The HTTP API's rate limit: a token bucket per client address, so one
 * caller (a runaway backend, someone guessing keys) cannot starve the
 * others or the sockets. Reuses the mesh's `TokenBucket`.
 *
 * Written here because no shared limiter exists yet (`server/limits/` is
 * being written for sockets); when it lands, this can move onto it.
 */
import { TokenBucket } from '../limits/bucket';

/** Requests per second per client address, and the burst allowed above it. */
export interface RateLimit {
  perSecond: number;
  burst: number;
}

/** Buckets idle this long are forgotten (they would be full again anyway). */
const IDLE_MS = 60_000;
/** Most addresses remembered; beyond it the idle ones are swept at once. */
const MAX_CLIENTS = 10_000;

/**
 * @example
 * const limiter = new ApiRateLimiter({ perSecond: 200, burst: 400 });
 * if (!limiter.take(req.socket.remoteAddress ?? '', Date.now())) refuse429();
 */
export class ApiRateLimiter {
  private readonly buckets = new Map<string, { bucket: TokenBucket; used: number }>();
  private lastSweep = 0;
  /** Requests refused since start. */
  refused = 0;

  constructor(private readonly limit: RateLimit) {}

  /** Takes one token for `client`; false (counted) when its bucket is empty. */
  take(client: string, now: number): boolean {
    if (now - this.lastSweep > IDLE_MS || this.buckets.size > MAX_CLIENTS) this.sweep(now);
    let slot = this.buckets.get(client);
    if (!slot) this.buckets.set(client, (slot = { bucket: new TokenBucket(this.limit.burst, this.limit.perSecond, now), used: now }));
    slot.used = now;
    if (slot.bucket.take(1, now)) return true;
    this.refused++;
    return false;
  }

  /** Seconds until one more request would pass (for `retry-after`). */
  retryAfterSeconds(): number {
    return Math.max(1, Math.ceil(1 / this.limit.perSecond));
  }

  private sweep(now: number): void {
    this.lastSweep = now;
    for (const [client, slot] of this.buckets) if (now - slot.used > IDLE_MS) this.buckets.delete(client);
  }
}
