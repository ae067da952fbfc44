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
 * Responsible for the order of answers and for telling when those reserved
 * so far have been given. Not responsible for what an answer says (`connection.ts`).
 */
export class Answers {
  /** Outstanding answers, oldest first (`give` is null until the answer is ready); null when none, most of the time. */
  private queue: Array<{ give: (() => void) | null }> | null = null;
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
   * Takes the next place in line. Call the returned function once, with what gives the answer: it runs
   * once every answer before it has been given (at once if they have).
   * @example const answer = answers.reserve(); later: answer(() => reply(outcome));
   */
  reserve(): (give: () => void) => void {
    const slot: { give: (() => void) | null } = { give: null };
    (this.queue ??= []).push(slot);
    return (give) => {
      if (slot.give) return;
      slot.give = give;
      this.flush();
    };
  }

  /** Runs `fn` after every answer reserved before it has been given (at once when none is outstanding). */
  after(fn: () => void): void {
    this.reserve()(fn);
  }

  /**
   * Resolves once every answer reserved so far has been given (at once when none is outstanding).
   * Answers reserved after the call do not hold it back: a frame that waits so does not wait for the
   * frames behind it, which wait for it.
   */
  given(): Promise<void> {
    if (this.queue === null) return Promise.resolve();
    return new Promise((resolve) => this.after(resolve));
  }

  private flush(): void {
    if (this.flushing) return;
    this.flushing = true;
    try {
      while (this.queue !== null && this.queue[0]!.give) {
        const slot = this.queue.shift()!;
        if (this.queue.length === 0) this.queue = null;
        try {
          slot.give!();
        } catch (error) {
          this.report(error);
        }
      }
    } finally {
      this.flushing = false;
    }
  }
}
