/**
 * Runs tasks one at a time, in order, without paying for a promise when a
 * task finishes synchronously: the server handles a channel's frames this
 * way so that an async handler still answers before the next frame.
 */
export class Serial {
  private busy = false;
  /** Created with the first task that has to wait: most channels never queue one, and a server holds one Serial per channel. */
  private pending: Array<{ task: () => unknown; abort: (() => void) | undefined }> | null = null;

  /**
   * Runs `task` now if idle, else after the tasks queued before it. If the
   * queue is cleared before `task` runs, `abort` is called instead.
   */
  run(task: () => unknown, abort?: () => void): void {
    if (this.busy) {
      (this.pending ??= []).push({ task, abort });
      return;
    }
    this.execute(task);
  }

  /** Drops queued tasks, calling their `abort` (the running one finishes). */
  clear(): void {
    const pending = this.pending;
    this.pending = null;
    for (const { abort } of pending ?? []) abort?.();
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
      const drain = (): void => this.drain();
      result.then(drain, drain);
    }
  }

  private drain(): void {
    this.busy = false;
    while (!this.busy) {
      const next = this.pending?.shift();
      if (!next) return;
      this.execute(next.task);
    }
  }
}
