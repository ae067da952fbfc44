/**
 * The frame and byte rates of one socket's inbound frames (PROTOCOL.md §5,
 * rate limits). Each frame pays 1 frame and its size in bytes. A frame that
 * cannot pay waits — the socket is not read meanwhile — until both buckets
 * hold a tenth of their burst again, so frames past the rate are delayed,
 * never refused: they keep their order, and a sender that does not slow
 * down meets TCP's backpressure. A socket that stays throttled (it never
 * lets its buckets refill to half) for `maxThrottleMs` is closed.
 *
 * Pure (the caller passes the time), and plain fields rather than bucket
 * objects: every socket has one, so it is kept small. Not responsible for
 * pausing the socket (`fair-share.ts`) or closing it (`socket/connection.ts`).
 */
import { refilled } from './bucket';
import type { RateLimits } from './rates';

/** What becomes of one inbound frame: handled now, held until `waitMs`, or the socket closed. */
export type Verdict = 'pass' | 'wait' | 'close';

/** Share of each burst the buckets must hold again before a throttled socket is read again. */
const RESUME_SHARE = 0.1;
/** Share of each burst the buckets must hold for a socket to count as no longer throttled. */
const RECOVERED_SHARE = 0.5;

/**
 * @example
 * const rate = new InboundRate(DEFAULT_RATE_LIMITS, performance.now());
 * const verdict = rate.admit(data.length, now); // 'wait': hold it for rate.waitMs(data.length, now)
 */
export class InboundRate {
  /** Tokens of the frame and byte buckets, as of `at`. */
  private frames: number;
  private bytes: number;
  private at: number;
  /** When the socket began to be throttled, or -1 while it is within its rates. */
  private throttledSince = -1;

  constructor(protected readonly limits: RateLimits, now: number) {
    this.frames = limits.frameBurst;
    this.bytes = limits.byteBurst;
    this.at = now;
  }

  /** Whether a frame of `size` bytes arriving at `now` is handled, waits, or closes the socket. */
  admit(size: number, now: number): Verdict {
    this.refill(now);
    if (this.frames >= 1 && this.bytes >= size) {
      this.frames -= 1;
      this.bytes -= size;
      if (this.throttledSince >= 0 && this.holds(RECOVERED_SHARE)) this.throttledSince = -1;
      return 'pass';
    }
    if (this.throttledSince < 0) this.throttledSince = now;
    return now - this.throttledSince >= this.limits.maxThrottleMs ? 'close' : 'wait';
  }

  /** How long a frame of `size` bytes must wait: until both buckets hold a tenth of their burst (and the frame's size). */
  waitMs(size: number, now: number): number {
    this.refill(now);
    const { frameBurst, framesPerSecond, byteBurst, bytesPerSecond } = this.limits;
    const frames = (frameBurst * RESUME_SHARE - this.frames) / framesPerSecond;
    const bytes = (Math.max(byteBurst * RESUME_SHARE, size) - this.bytes) / bytesPerSecond;
    return Math.max(1, Math.ceil(Math.max(frames, bytes) * 1000));
  }

  private refill(now: number): void {
    const { frameBurst, framesPerSecond, byteBurst, bytesPerSecond } = this.limits;
    this.frames = refilled(this.frames, frameBurst, framesPerSecond, now - this.at);
    this.bytes = refilled(this.bytes, byteBurst, bytesPerSecond, now - this.at);
    this.at = Math.max(this.at, now);
  }

  private holds(share: number): boolean {
    return this.frames >= this.limits.frameBurst * share && this.bytes >= this.limits.byteBurst * share;
  }
}
