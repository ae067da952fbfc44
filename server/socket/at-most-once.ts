/**
 * Applying a client message id at most once, on any node: the first
 * attempt claims the id in the engine's dedupe store and runs the handler;
 * a retry (on this node or another, now or after a restart within the
 * window) is answered with the original outcome; a retry that races the
 * original waits for it — here on this node, by polling the store across
 * nodes.
 *
 * Responsible for the claim → run → settle sequence and for answering every
 * attempt once. Not responsible for storing anything (`engine/…/dedupe.ts`)
 * or for framing replies (`connection.ts`).
 */
import { EngineUnavailable, UNAVAILABLE, type DedupeStore, type StoredOutcome } from '../engine/engine';

/** How handling a message ended. */
export type Outcome =
  | StoredOutcome
  /** The channel ended before the handler ran or finished: nothing is recorded; a retry runs it. */
  | { kind: 'aborted' }
  /** Nothing was applied (the engine is unreachable, or a share is used up): nothing recorded; answered with `reason`. */
  | { kind: 'refused'; reason: string };

/** Receives the outcome; `duplicate` is true for every answer but the original's. */
export type Answer = (outcome: Outcome, duplicate: boolean) => void;

/** The claim `start` runs under. */
export interface HeldClaim {
  /**
   * False once half the lease has passed since the claim was granted: a handler that has not begun by
   * then may find its claim taken over by another attempt (on another node) before it is done.
   */
  fresh(): boolean;
  /**
   * Claims again, unused: `start` is called again once granted, or the attempt is answered (another
   * attempt applied the id meanwhile). The claim is not given back first, so nothing can take it in
   * between: while its own lease holds it is found taken and asked for again until it lapses.
   */
  renew(): void;
}

/** Runs the handler under a granted claim; it calls `finish` with how handling ended. */
export type Start = (finish: (outcome: Outcome) => void, claim: HeldClaim) => void;

export interface AtMostOnceOptions {
  /** How long a claim holds before another attempt may take it (its node died mid-way). Default 30000. */
  leaseMs?: number;
  /** First wait before asking the store again about an id another node is handling (doubles up to 1 s). Default 20. */
  pollMs?: number;
  /** Reports store failures other than unavailability. */
  onError?: (error: unknown) => void;
}

/**
 * @example
 * const once = new AtMostOnce(engine.dedupe);
 * once.run(key, userId, (finish) => handle(finish), (outcome, duplicate) => reply(outcome, duplicate));
 */
export class AtMostOnce {
  /** Attempts waiting on an id this node is claiming or handling, first one first. */
  private readonly inFlight = new Map<string, Answer[]>();
  private readonly leaseMs: number;
  private readonly pollMs: number;
  private readonly onError: (error: unknown) => void;

  constructor(private readonly store: DedupeStore, options: AtMostOnceOptions = {}) {
    this.leaseMs = options.leaseMs ?? 30_000;
    this.pollMs = options.pollMs ?? 20;
    this.onError = options.onError ?? (() => {});
  }

  /**
   * Runs `start` for an id nobody applied yet and answers with its outcome; for an id already applied,
   * answers with the recorded outcome without running anything.
   */
  run(key: string, user: string, start: Start, answer: Answer): void {
    const waiting = this.inFlight.get(key);
    if (waiting) {
      waiting.push(answer);
      return;
    }
    this.inFlight.set(key, [answer]);
    this.claim(key, user, start, this.pollMs);
  }

  private claim(key: string, user: string, start: Start, wait: number): void {
    this.store.claim(key, user, this.leaseMs).then(
      (claim) => {
        if (claim.state === 'done') return this.answerAll(key, claim.outcome, true);
        if (claim.state === 'pending') {
          // Another node handles it now: ask again shortly (its claim lapses if that node died).
          setTimeout(() => this.claim(key, user, start, Math.min(wait * 2, 1000)), wait).unref();
          return;
        }
        this.handle(key, user, start);
      },
      (error: unknown) => this.failed(key, error),
    );
  }

  private handle(key: string, user: string, start: Start): void {
    let finished = false;
    const grantedAt = Date.now();
    const claim: HeldClaim = {
      fresh: () => Date.now() - grantedAt < this.leaseMs / 2,
      renew: () => {
        if (finished) return;
        finished = true;
        this.claim(key, user, start, this.pollMs);
      },
    };
    start((outcome) => {
      if (finished) return;
      finished = true;
      if (outcome.kind === 'aborted' || outcome.kind === 'refused') {
        // Nothing was applied: the id is given back, and a retry runs it.
        this.store.release(key, user).catch((error: unknown) => this.report(error));
        return this.answerAll(key, outcome, false);
      }
      // Recorded before anyone is answered: an acknowledged message is never applied again.
      this.store.settle(key, user, outcome).then(
        () => this.answerAll(key, outcome, false),
        (error: unknown) => {
          // Applied but not recorded: answered anyway (the message took effect); a retry after the
          // lease may find the claim lapsed, and the engine's per-topic id check keeps its broadcast single.
          this.report(error);
          this.answerAll(key, outcome, false);
        },
      );
    }, claim);
  }

  private failed(key: string, error: unknown): void {
    this.report(error);
    this.answerAll(key, { kind: 'refused', reason: UNAVAILABLE }, false);
  }

  private report(error: unknown): void {
    if (!(error instanceof EngineUnavailable)) this.onError(error);
  }

  /** Answers every attempt waiting on `key`: the first as the original (unless `duplicate`), the rest as duplicates. */
  private answerAll(key: string, outcome: Outcome, duplicate: boolean): void {
    const waiting = this.inFlight.get(key) ?? [];
    this.inFlight.delete(key);
    waiting.forEach((answer, index) => answer(outcome, duplicate || index > 0));
  }
}
