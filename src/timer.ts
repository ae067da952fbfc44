/**
 * Time for the client runtime: an injectable clock, a retry timer with
 * jittered exponential backoff, and nothing else.
 *
 * Domain code never calls `setTimeout` directly; it asks a `Clock`, so tests
 * drive time with a fake clock instead of sleeping.
 */

/** Opaque handle returned by `Clock.setTimeout`. */
export type TimerHandle = unknown;

/** The source of time and timers; swap in a fake one in tests. */
export interface Clock {
  now(): number;
  setTimeout(callback: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}

/** The real clock. */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

/** Backoff shape: delays grow from `baseMs`, doubling per try, up to `maxMs`. */
export interface BackoffOptions {
  /** Delay scale of the first retry. */
  baseMs: number;
  /** Largest delay. */
  maxMs: number;
}

/**
 * Delay before retry number `tries` (1-based): a random value in the upper
 * half of `min(maxMs, baseMs * 2^(tries-1))`. Jitter spreads a crowd of
 * clients that lost the same server; the floor keeps a retry from being
 * instant, so a failing server is not hammered.
 *
 * @example backoff(1, { baseMs: 250, maxMs: 10_000 }) // 125..250
 */
export function backoff(tries: number, options: BackoffOptions, random: () => number = Math.random): number {
  const cap = Math.min(options.maxMs, options.baseMs * 2 ** Math.max(0, Math.min(tries - 1, 30)));
  return Math.round(cap / 2 + (random() * cap) / 2);
}

/**
 * A one-shot timer that counts its tries, for retries with backoff.
 *
 * @example
 * const retry = new RetryTimer(clock, () => reconnect(), (tries) => backoff(tries, opts));
 * retry.schedule(); // after a failure
 * retry.reset();    // after a success
 */
export class RetryTimer {
  private handle: TimerHandle | null = null;
  private count = 0;

  constructor(
    private readonly clock: Clock,
    private readonly callback: () => void,
    private readonly delay: (tries: number) => number,
  ) {}

  /** Number of times the timer has been scheduled since the last reset. */
  get tries(): number {
    return this.count;
  }

  /** True while a retry is scheduled. */
  get pending(): boolean {
    return this.handle !== null;
  }

  /** Schedules the next try (replacing a scheduled one), after `delayMs` or the backoff; returns the delay. */
  schedule(delayMs?: number): number {
    this.cancel();
    const backoffMs = this.delay(++this.count);
    const ms = delayMs ?? backoffMs;
    this.handle = this.clock.setTimeout(() => {
      this.handle = null;
      this.callback();
    }, ms);
    return ms;
  }

  /** Cancels a scheduled try, keeping the count. */
  cancel(): void {
    if (this.handle !== null) this.clock.clearTimeout(this.handle);
    this.handle = null;
  }

  /** Cancels and forgets the tries. */
  reset(): void {
    this.cancel();
    this.count = 0;
  }
}
