/**
 * Sends one topic's outbox entries over its joined channel, in order, until
 * each is acknowledged or rejected for good.
 *
 * Responsible for: flushing only while joined and only in the tab holding
 * the topic's lock, a bounded window of messages in flight, re-queueing on
 * timeouts and lost connections (the server's dedupe makes re-sending
 * safe), and telling transient errors from permanent rejections. Not
 * responsible for storage (`outbox.ts`).
 */
import type { Unsubscribe } from '../listeners';
import { REASONS, type AnyPayload, type Meta } from '../protocol';
import type { PushResult } from '../push';
import { RetryTimer, backoff, type BackoffOptions, type Clock } from '../timer';
import type { Outbox } from './outbox';
import type { Locks } from './tabs';

/** The channel a flusher sends through. */
export interface FlushTarget {
  readonly topic: string;
  /** Pushes with a message id; resolves with the outcome and the reply's meta. */
  sendDurable(event: string, payload: AnyPayload, id: string): PromiseLike<PushResult & { meta?: Meta }>;
}

/** Error reasons that mean "not now" rather than "never": the entry is queued again. */
const TRANSIENT = new Set<string>([REASONS.unmatchedTopic, REASONS.unavailable, REASONS.rateLimited]);

export interface FlusherOptions {
  clock: Clock;
  /** Messages in flight at once. */
  window: number;
  /** Delay before re-sending after a timeout or a transient error. */
  backoff: BackoffOptions;
  random: () => number;
}

export class Flusher {
  private wanted = false;
  private active = false;
  private paused = false;
  private acquiring = false;
  /** Whether the outbox has loaded what earlier page loads stored. */
  private loaded = false;
  private release: (() => void) | null = null;
  private inFlight = 0;
  private readonly tokens = new Map<string, number>();
  private nextToken = 0;
  private readonly retry: RetryTimer;
  private readonly offChange: Unsubscribe;

  constructor(
    private readonly target: FlushTarget,
    private readonly outbox: Outbox,
    private readonly locks: Locks | null,
    private readonly options: FlusherOptions,
  ) {
    this.retry = new RetryTimer(options.clock, () => {
      this.paused = false;
      this.pump();
    }, (tries) => backoff(tries, options.backoff, options.random));
    this.offChange = outbox.onChange((entry) => {
      if (entry.topic === target.topic && entry.status === 'queued') this.pump();
    });
    // Entries stored by earlier page loads are loaded one by one, in id order: flushing before
    // they all are would send them out of creation order.
    void outbox.ready.then(() => {
      this.loaded = true;
      if (!this.locks) this.activate();
    });
  }

  /** The channel is joined: take the topic's lock, then flush. */
  joined(): void {
    this.wanted = true;
    if (!this.locks) {
      if (this.loaded) this.activate(); // else once loaded (see the constructor)
      return;
    }
    if (this.release || this.acquiring) return;
    this.acquiring = true;
    void this.locks.acquire(`${this.outbox.name}-outbox:${this.target.topic}`).then(async (release) => {
      this.acquiring = false;
      if (!this.wanted) return release();
      this.release = release;
      await this.outbox.ready;
      // Another tab may have stored entries this tab has not heard of.
      await this.outbox.reload();
      this.activate();
    });
  }

  /** The channel is no longer joined: stop, give the lock up, and queue what was in flight again. */
  left(): void {
    this.wanted = false;
    this.active = false;
    this.paused = false;
    this.retry.reset();
    this.release?.();
    this.release = null;
    this.inFlight = 0;
    for (const id of this.tokens.keys()) this.outbox.mark(id, 'queued');
    this.tokens.clear();
  }

  /** Stops for good (the channel closed). */
  dispose(): void {
    this.left();
    this.offChange();
  }

  private activate(): void {
    if (!this.wanted) return;
    this.active = true;
    this.pump();
  }

  private pump(): void {
    if (!this.active || this.paused) return;
    for (const entry of this.outbox.pending(this.target.topic)) {
      if (this.inFlight >= this.options.window) return;
      if (entry.status === 'queued' && !this.tokens.has(entry.id)) this.send(entry.id, entry.event, entry.binary ?? entry.payload);
    }
  }

  private send(id: string, event: string, payload: AnyPayload): void {
    const token = ++this.nextToken;
    this.tokens.set(id, token);
    this.inFlight++;
    this.outbox.mark(id, 'sent');
    this.target.sendDurable(event, payload, id).then((result) => this.settle(id, token, result));
  }

  private settle(id: string, token: number, result: PushResult & { meta?: Meta }): void {
    if (this.tokens.get(id) !== token) return; // an answer for an attempt we gave up on
    this.tokens.delete(id);
    this.inFlight--;
    if (result.status === 'ok') {
      const { epoch, seq } = result.meta ?? {};
      this.outbox.acknowledge(id, result.response, epoch, seq);
    } else if (result.status === 'error' && !TRANSIENT.has(String(result.response.reason))) {
      this.outbox.reject(id, result.response);
    } else {
      // One backoff step per round: the other refusals of the same window must not each lengthen it
      // (a window of 64 refused "rate limited" used to wait the longest backoff at once).
      const first = !this.paused;
      this.paused = true; // before mark(): its change event would otherwise re-send at once
      this.outbox.mark(id, 'queued');
      if (first) this.retry.schedule();
      return;
    }
    if (this.paused) return; // a retry is scheduled; it resumes the flush
    this.retry.reset();
    this.pump();
  }
}
