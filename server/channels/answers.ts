/**
 * A channel's answers, sent in the order its frames came.
 *
 * A push's reply waits until the broadcasts it made are applied (an
 * acknowledgement never precedes what it acknowledges), but the channel does
 * not: it handles the frames behind it meanwhile, as a Phoenix channel does
 * (its broadcasts never block the process). On the Redis engine that is what
 * lets one script call carry several broadcasts of a topic instead of one
 * per round trip. A reply that is ready early waits here for those before it.
 *
 * Responsible for the order of answers and for telling when none is
 * outstanding. Not responsible for what an answer says (`connection.ts`).
 */
export class Answers<T> {
  /** Outstanding answers, oldest first; null when none (most of the time). */
  private queue: Array<{ outcome: T | undefined; ready: boolean; done: (outcome: T) => void }> | null = null;
  private idle: Array<() => void> = [];
  private flushing = false;
  private readonly report: (error: unknown) => void;

  /** `report` gets what an answer threw; the answers after it are still given. */
  constructor(report: (error: unknown) => void) {
    this.report = report;
  }

  /** True while some answer has not been given yet. */
  get outstanding(): boolean {
    return this.queue !== null;
  }

  /**
   * Takes the next place in line: `done` runs with the outcome once the returned function has been
   * called with it and every answer before it has been given. Call the returned function once.
   * @example const answer = answers.reserve((o) => reply(o)); later: answer(outcome);
   */
  reserve(done: (outcome: T) => void): (outcome: T) => void {
    const slot = { outcome: undefined as T | undefined, ready: false, done };
    (this.queue ??= []).push(slot);
    return (outcome: T) => {
      if (slot.ready) return;
      slot.outcome = outcome;
      slot.ready = true;
      this.flush();
    };
  }

  /** Runs `fn` after every answer reserved before it has been given (at once when none is outstanding). */
  after(fn: () => void): void {
    (this.queue ??= []).push({ outcome: undefined, ready: true, done: fn });
    this.flush();
  }

  /** Resolves once no answer is outstanding (at once when none is). */
  settled(): Promise<void> {
    if (this.queue === null) return Promise.resolve();
    return new Promise((resolve) => this.idle.push(resolve));
  }

  private flush(): void {
    if (this.flushing) return;
    this.flushing = true;
    try {
      while (this.queue !== null && this.queue[0]!.ready) {
        const slot = this.queue.shift()!;
        if (this.queue.length === 0) this.queue = null;
        try {
          slot.done(slot.outcome as T);
        } catch (error) {
          this.report(error);
        }
      }
    } finally {
      this.flushing = false;
    }
    if (this.queue === null && this.idle.length > 0) for (const resolve of this.idle.splice(0)) resolve();
  }
}
