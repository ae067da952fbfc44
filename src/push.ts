/**
 * One request on a channel and its outcome: `ok`, `error` (both from the
 * server) or `timeout`. Usable with callbacks (`receive`) or awaited.
 *
 * Responsible for matching a reply to its ref and for the timeout. Not
 * responsible for when it is sent (the channel decides).
 */
import { reportCallbackError } from './listeners';
import type { AnyPayload, Meta, Payload } from './protocol';
import type { TimerHandle } from './timer';
import type { Channel } from './channel';

/** How a push ended. */
export type PushStatus = 'ok' | 'error' | 'timeout';

/**
 * The outcome of a push. A network outcome is a result, never a thrown error.
 * `meta` is the reply's Plume metadata (such as the `seq` its broadcast got).
 */
export type PushResult =
  /** `binary`: the reply's bytes, when the server answered with a binary reply (PROTOCOL.md §2). */
  | { status: 'ok' | 'error'; response: Payload; meta?: Meta; binary?: Uint8Array }
  | { status: 'timeout'; response: undefined; meta?: undefined };

/**
 * @example
 * room.push('new_msg', { body: 'hi' })
 *   .receive('ok', (reply) => console.log('stored', reply))
 *   .receive('error', (err) => console.warn(err.reason))
 *   .receive('timeout', () => console.warn('no answer'));
 * const { status } = await room.push('new_msg', { body: 'again' });
 */
export class Push implements PromiseLike<PushResult> {
  readonly event: string;
  /** The ref of the last send, or null before the first. */
  ref: string | null = null;
  private readonly channel: Channel;
  private readonly payload: () => AnyPayload;
  private timeoutMs: number;
  private readonly meta: (() => Meta | undefined) | undefined;
  private hooks: Array<{ status: PushStatus; callback: (response: Payload | undefined, meta?: Meta) => void }> = [];
  private outcome: PushResult | null = null;
  private timer: TimerHandle | null = null;
  private settle: ((result: PushResult) => void) | null = null;
  private promise: Promise<PushResult> | null = null;

  constructor(channel: Channel, event: string, payload: () => AnyPayload, timeoutMs: number, meta?: () => Meta | undefined) {
    this.channel = channel;
    this.meta = meta;
    this.event = event;
    this.payload = payload;
    this.timeoutMs = timeoutMs;
  }

  /** The outcome once known, else null. */
  get result(): PushResult | null {
    return this.outcome;
  }

  /** Calls `callback` when the push ends with `status` (at once if it already has). */
  receive(status: 'ok' | 'error', callback: (response: Payload, meta?: Meta) => void): this;
  receive(status: 'timeout', callback: () => void): this;
  receive(status: PushStatus, callback: (response: Payload, meta?: Meta) => void): this {
    const hook = callback as (response: Payload | undefined, meta?: Meta) => void;
    if (this.outcome?.status === status) call(hook, this.outcome.response, this.outcome.meta);
    this.hooks.push({ status, callback: hook });
    return this;
  }

  then<A = PushResult, B = never>(
    onFulfilled?: ((result: PushResult) => A | PromiseLike<A>) | null,
    onRejected?: ((reason: unknown) => B | PromiseLike<B>) | null,
  ): Promise<A | B> {
    if (!this.promise) {
      this.promise = this.outcome ? Promise.resolve(this.outcome) : new Promise((resolve) => (this.settle = resolve));
    }
    return this.promise.then(onFulfilled, onRejected);
  }

  /**
   * @internal Sends (or re-sends under a fresh ref) and starts the timeout if
   * not running. A join passes `'self'`: its join_ref is its own ref.
   */
  send(joinRef: string | null | 'self'): void {
    this.outcome = null;
    this.ref = this.channel.socket.makeRef();
    if (joinRef === 'self') joinRef = this.ref;
    this.channel.track(this);
    this.startTimeout();
    const meta = this.meta?.();
    const payload = this.payload();
    const body = payload instanceof Uint8Array ? { payload: {}, binary: payload } : { payload };
    this.channel.socket.send({ joinRef, ref: this.ref, topic: this.channel.topic, event: this.event, ...body, ...(meta ? { meta } : {}) });
  }

  /** @internal Restarts the timeout with a new duration (for rejoins). */
  resetTimeout(timeoutMs: number): void {
    this.timeoutMs = timeoutMs;
    this.cancelTimeout();
  }

  /** @internal Starts the timeout unless it already runs. */
  startTimeout(): void {
    if (this.timer !== null) return;
    this.timer = this.channel.socket.options.clock.setTimeout(() => {
      this.timer = null;
      this.finish({ status: 'timeout', response: undefined });
    }, this.timeoutMs);
  }

  /** @internal Stops the timeout. */
  cancelTimeout(): void {
    if (this.timer !== null) this.channel.socket.options.clock.clearTimeout(this.timer);
    this.timer = null;
  }

  /** @internal Ends the push with an outcome and runs its hooks. */
  finish(result: PushResult): void {
    this.cancelTimeout();
    if (this.ref !== null) this.channel.untrack(this.ref);
    this.outcome = result;
    for (const hook of this.hooks) if (hook.status === result.status) call(hook.callback, result.response, result.meta);
    if (this.settle) {
      this.settle(result);
      this.settle = null;
    } else if (!this.promise) {
      this.promise = Promise.resolve(result);
    }
  }
}

function call(callback: (response: Payload | undefined, meta?: Meta) => void, response: Payload | undefined, meta?: Meta): void {
  try {
    callback(response, meta);
  } catch (error) {
    reportCallbackError(error);
  }
}
