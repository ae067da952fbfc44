/**
 * Runs tasks one at a time, in order, without paying for a promise when a
 * task finishes synchronously: the server handles a channel's frames this
 * way so that an async handler still answers before the next frame.
 */
export class Serial {
  private busy = false;
  private readonly pending: Array<() => unknown> = [];

  /** Runs `task` now if idle, else after the tasks queued before it. */
  run(task: () => unknown): void {
    if (this.busy) {
      this.pending.push(task);
      return;
    }
    this.execute(task);
  }

  /** Drops queued tasks (the running one finishes). */
  clear(): void {
    this.pending.length = 0;
  }

  private execute(task: () => unknown): void {
    let result: unknown;
    try {
      result = task();
    } catch {
      // Tasks report their own failures; a throw here must not stop the queue.
      return;
    }
    if (result instanceof Promise) {
      this.busy = true;
      result.then(this.drain, this.drain);
    }
  }

  private readonly drain = (): void => {
    this.busy = false;
    while (!this.busy) {
      const task = this.pending.shift();
      if (!task) return;
      this.execute(task);
    }
  };
}
