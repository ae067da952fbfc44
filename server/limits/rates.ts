/**
 * The per-socket rate limits (PROTOCOL.md §5, rate limits): what each
 * budget holds and refills, and the defaults. Options are resolved and
 * checked in `options.ts`; the buckets live in `socket-limits.ts`.
 */

/** Every per-socket budget: a rate per second and a burst (the bucket's size). */
export interface RateLimits {
  /** Frames a socket may send per second, and at once. */
  framesPerSecond: number;
  frameBurst: number;
  /** Bytes (frame sizes) a socket may send per second, and at once. */
  bytesPerSecond: number;
  byteBurst: number;
  /** How long a socket may stay throttled (sending faster than its frame or byte rate) before it is closed with 4420, ms. */
  maxThrottleMs: number;
  /** `phx_join`s a socket may send per second, and at once. */
  joinsPerSecond: number;
  joinBurst: number;
  /** Bytes of history (payloads, plus 1 KiB per `plume:history` request) served to a socket per second, and at once. */
  historyBytesPerSecond: number;
  historyBurstBytes: number;
}

/**
 * The defaults: far above what a busy client sends, so they stop floods, not publishers. The fan-out
 * benchmark's publisher, the busiest socket measured, sends about 1,500 frames and 3 MB a second;
 * a client that reconnects rejoins at most `maxChannelsPerSocket` (100) channels at once.
 */
export const DEFAULT_RATE_LIMITS: Readonly<RateLimits> = {
  framesPerSecond: 5_000,
  frameBurst: 10_000,
  bytesPerSecond: 16 * 1024 * 1024,
  byteBurst: 32 * 1024 * 1024,
  maxThrottleMs: 10_000,
  joinsPerSecond: 20,
  joinBurst: 200,
  historyBytesPerSecond: 1024 * 1024,
  historyBurstBytes: 4 * 1024 * 1024,
};

/** Default `historyPageBytes`: payload bytes of one `plume:history` page or join replay (PROTOCOL.md §7). */
export const DEFAULT_HISTORY_PAGE_BYTES = 256 * 1024;

/** What a `plume:history` request costs beyond the payloads it returns (bytes). */
export const HISTORY_REQUEST_COST = 1024;
