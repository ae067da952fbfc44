/**
 * A tiny listener set whose `on` returns an unsubscribe function, and which
 * keeps an exception in application code from breaking the runtime.
 */

/** Removes the listener it was returned for. Calling it twice is harmless. */
export type Unsubscribe = () => void;

/** Reports an error thrown by application code without interrupting us. */
export function reportCallbackError(error: unknown): void {
  const report = (globalThis as { reportError?: (e: unknown) => void }).reportError;
  if (report) report(error);
  else console.error('[plume] a callback threw:', error);
}

export class Listeners<A extends unknown[]> {
  private readonly set = new Set<(...args: A) => void>();

  on(callback: (...args: A) => void): Unsubscribe {
    // Wrap so the same function can be added twice and removed independently.
    const entry = (...args: A) => callback(...args);
    this.set.add(entry);
    return () => {
      this.set.delete(entry);
    };
  }

  emit(...args: A): void {
    for (const listener of [...this.set]) {
      try {
        listener(...args);
      } catch (error) {
        reportCallbackError(error);
      }
    }
  }

  get size(): number {
    return this.set.size;
  }

  clear(): void {
    this.set.clear();
  }
}
