/**
 * Waiting without sleeping: deadlines on promises, values recorded by
 * server-side callbacks, and promises a test settles by hand.
 */

/** How long a test waits for a frame, a close or a recorded value before failing. */
export const DEADLINE_MS = 2000;

/** Resolves like `promise`, or rejects naming `what` after `ms`. */
export function deadline<T>(ms: number, what: string, promise: Promise<T>): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * Values pushed from server-side callbacks (handlers, hooks, loggers) that a
 * test awaits in order, with a deadline.
 *
 * @example
 * const terminated = new Recorder<string>();
 * server.channel('room:*', { terminate: (reason) => terminated.push(reason) });
 * expect(await terminated.next()).toBe('leave');
 */
export class Recorder<T> {
  /** Everything pushed so far, taken or not. */
  readonly all: T[] = [];
  private readonly queue: T[] = [];
  private readonly waiting: Array<(value: T) => void> = [];

  push(value: T): void {
    this.all.push(value);
    const waiter = this.waiting.shift();
    if (waiter) waiter(value);
    else this.queue.push(value);
  }

  /** The oldest value not yet taken, waiting for it up to the deadline. */
  next(timeoutMs = DEADLINE_MS): Promise<T> {
    if (this.queue.length > 0) return Promise.resolve(this.queue.shift() as T);
    let waiter: ((value: T) => void) | undefined;
    const value = new Promise<T>((resolve) => this.waiting.push((waiter = resolve)));
    return deadline(timeoutMs, 'a recorded value', value).catch((error: unknown) => {
      const index = this.waiting.indexOf(waiter as (value: T) => void);
      if (index !== -1) this.waiting.splice(index, 1);
      throw error;
    });
  }
}

/** A promise with its resolve function exposed, for handlers a test holds up. */
export function deferred<T = void>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}
