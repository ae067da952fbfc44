/**
 * One joined (or joining) topic on one socket: runs the application's
 * handler for it, one frame at a time.
 *
 * Responsible for the channel's lifecycle (join, handle, intercept,
 * terminate), for serializing its frames, and for tagging the broadcasts a
 * message causes with that message's id. Not responsible for decoding
 * frames or deduplication (`connection.ts`, `dedupe.ts`), routing
 * (`router.ts`) or fan-out (`fanout.ts`).
 */
import { EVENTS, REASONS, encode, encodeServerPush, isPayload, type Payload } from '../../src/protocol';
import { PresenceLimitError } from '../presence/limits';
import { ok, refuse, type Assigns, type ChannelHandler, type ChannelSocket, type Maybe, type Reply, type TerminateReason } from './channel';
import { EngineUnavailable, QUOTA_EXCEEDED, QuotaExceeded, UNAVAILABLE, type Position } from '../engine/engine';
import type { Held } from '../delivery/fanout';
import type { Outcome } from '../socket/at-most-once';
import { Serial } from './serial';
import { Answers } from './answers';
import { binaryAround, type WireFrame } from '../wire/frame';
import type { TokenClaims } from '../auth/token';

/** What a channel instance needs from its connection and server. */
export interface ChannelHost {
  readonly socketId: string;
  readonly plume: boolean;
  /** The socket's verified token claims, if any. */
  readonly claims?: TokenClaims;
  /** Sends a frame's text, or a whole WebSocket frame already built (`outbound.ts`). */
  send(frame: string | WireFrame): void;
  /** Publishes a broadcast through the engine; resolves with its position once applied. */
  broadcast(topic: string, event: string, payload: Payload | Uint8Array, options: { exclude?: string; id?: string; user: string }): Promise<Position>;
  /** Adds the joined channel to its topic's fan-out, holding broadcasts for it; resolves once live. */
  subscribe(instance: ChannelInstance): Promise<void>;
  unsubscribe(instance: ChannelInstance): void;
  /** Called when the instance ended on its own (crash or server-side close). */
  release(instance: ChannelInstance): void;
  reportError(error: unknown, context: string): void;
  /** Bytes waiting to be written to the socket, when the host can tell (`outbound.ts`). */
  readonly pendingBytes?: number;
}

/** The message being handled: its id, and the broadcasts it made. */
interface Handling {
  id: string | undefined;
  count: number;
  broadcasts: Array<Promise<Position>>;
}

/**
 * How a handler's run ended, once its broadcasts were applied: the reply with the first broadcast's
 * position; or, when none of them could be applied (the engine was unreachable, or the sender is over
 * its share), a refusal with the reason, since nothing took effect.
 */
async function settled(reply: Reply | null, broadcasts: ReadonlyArray<Promise<Position>>, report: (error: unknown) => void): Promise<Outcome> {
  const results = await Promise.allSettled(broadcasts);
  const first = results.find((r): r is PromiseFulfilledResult<Position> => r.status === 'fulfilled');
  for (const result of results) if (result.status === 'rejected' && first) report(result.reason);
  if (first) return { kind: 'reply', reply, position: first.value };
  const reason = (results[0] as PromiseRejectedResult).reason as unknown;
  if (reason instanceof QuotaExceeded) return { kind: 'refused', reason: QUOTA_EXCEEDED };
  if (!(reason instanceof EngineUnavailable)) report(reason);
  return { kind: 'refused', reason: UNAVAILABLE };
}

const NO_INTERCEPTS: ReadonlySet<string> = new Set();

const NO_BYTES = new Uint8Array(0);

/** The reason a binary push gets on a channel whose handler takes JSON only. */
export const BINARY_REFUSED = 'binary payloads are not accepted on this topic';

export class ChannelInstance implements ChannelSocket {
  readonly topic: string;
  readonly joinRef: string;
  readonly assigns: Assigns;
  readonly handler: ChannelHandler;
  private readonly host: ChannelHost;
  private readonly serial = new Serial();
  /** Pushes' answers, in frame order, while their broadcasts are being applied. */
  private readonly answers = new Answers((error) => this.host.reportError(error, `an answer on ${this.topic}`));
  private state: 'joining' | 'joined' | 'ended' = 'joining';
  /** Why the instance ended, once it has: presence tells a deliberate leave from a dropped socket by it. */
  endReason: TerminateReason | null = null;
  private readonly intercepts: ReadonlySet<string>;
  private handling: Handling | null = null;
  /** The client asked to relay for this topic's mesh (join meta `mesh: true`). */
  meshCapable = false;
  /** Resolves once the topic's broadcasts reach this channel (set when the join is accepted). */
  ready: Promise<void> = Promise.resolve();
  /** Broadcasts held while the join is being answered (`Fanout.add` / `release`), or null once live. */
  held: Held[] | null = null;

  constructor(host: ChannelHost, handler: ChannelHandler, topic: string, joinRef: string, assigns: Assigns) {
    this.host = host;
    this.handler = handler;
    this.topic = topic;
    this.joinRef = joinRef;
    this.assigns = { ...assigns };
    // Most handlers intercept nothing; they share one empty set instead of a set per socket.
    this.intercepts = handler.intercept?.length ? new Set(handler.intercept) : NO_INTERCEPTS;
  }

  get socketId(): string {
    return this.host.socketId;
  }

  get plume(): boolean {
    return this.host.plume;
  }

  get claims(): TokenClaims | undefined {
    return this.host.claims;
  }

  get joined(): boolean {
    return this.state === 'joined';
  }

  /** True once the channel ended, or its join was refused. */
  get ended(): boolean {
    return this.state === 'ended';
  }

  /** Bytes waiting to be written to this channel's socket (0 when the host cannot tell). */
  get pendingBytes(): number {
    return this.host.pendingBytes ?? 0;
  }

  /**
   * Runs the handler's join; `done` gets the reply to send, or null if the instance ended meanwhile.
   * What `done` returns (a promise, while the reply and replay are being prepared) holds this
   * channel's next frames until it settles.
   */
  join(params: Payload, done: (reply: Reply | null) => unknown): void {
    this.serial.run(() => this.guard('join', () => answering(() => this.handler.join?.(this.topic, params, this)), (result, crashed) => {
      if (this.state === 'ended') return done(null);
      if (crashed) {
        this.state = 'ended';
        return done({ status: 'error', response: { reason: REASONS.joinCrashed } });
      }
      const reply = result ?? ok();
      if (!encodable(reply)) {
        // A response that cannot be encoded (a BigInt, a cycle) is a join bug: reported and answered like a
        // throw. An accepted join still gets its terminate, so what the handler set up is cleaned up.
        this.host.reportError(new TypeError('the join reply cannot be serialized to JSON'), `join reply on ${this.topic}`);
        if (reply.status === 'ok') {
          this.state = 'joined';
          this.end('crashed');
        } else this.state = 'ended';
        return done({ status: 'error', response: { reason: REASONS.joinCrashed } });
      }
      if (reply.status === 'ok') {
        this.state = 'joined';
        this.ready = this.host.subscribe(this);
      } else {
        this.state = 'ended';
      }
      return done(reply);
    }), () => done(null));
  }

  /**
   * Handles a client push. `done` is called exactly once, after the answers
   * to the channel's earlier frames: with the reply (null for none) and the
   * position of the first broadcast it caused, once that is applied; with
   * `crashed`; or with `aborted` when the channel ended before it ran. The
   * frames behind it are handled meanwhile (`answers.ts`).
   */
  handleIn(event: string, payload: Payload | Uint8Array, id: string | undefined, done: (outcome: Outcome) => void): void {
    const slot = this.answers.reserve();
    const answer = (outcome: Outcome) => slot(() => done(outcome));
    const aborted = () => answer({ kind: 'aborted' });
    this.serial.run(() => (this.state === 'joined' ? this.handleNow(event, payload, id, answer) : aborted()), aborted);
  }

  /**
   * Runs `task` in this channel's frame order: the frames behind it wait
   * until it calls `release` (a push with a message id waits so until its
   * handler has run, or for its answer when that comes from an attempt
   * still running on an older socket). With `afterAnswers`, it also waits
   * until every earlier push has been answered, so that it sees their
   * broadcasts applied (a history read finds them). `aborted` runs instead
   * when the channel ends first.
   */
  inOrder(task: (release: () => void) => void, aborted: () => void, afterAnswers = false): void {
    this.serial.run(() => {
      if (this.state !== 'joined') return aborted();
      if (afterAnswers && this.answers.outstanding) return this.answers.given().then(() => this.runInOrder(task, aborted));
      return this.runInOrder(task, aborted);
    }, aborted);
  }

  /**
   * Takes the next place among this channel's answers, for a push handled through `inOrder`: the
   * returned function gets what gives the answer, which runs after the answers before it.
   */
  reserveAnswer(): (give: () => void) => void {
    return this.answers.reserve();
  }

  /**
   * Runs `fn` once the answers to every earlier push are out (at once when none is outstanding): the
   * channel's `phx_error` and `phx_close`, and the reply to its leave, never overtake them. A client
   * drops replies that carry a join_ref it left behind, so an answer sent after them would be lost.
   */
  afterAnswers(fn: () => void): void {
    this.answers.after(fn);
  }

  private runInOrder(task: (release: () => void) => void, aborted: () => void): Promise<void> | undefined {
    if (this.state !== 'joined') {
      aborted();
      return undefined;
    }
    let released = false;
    let resolve: (() => void) | undefined;
    task(() => {
      released = true;
      resolve?.();
    });
    // Released at once (the usual case): no promise, so the next frame is handled without a tick.
    return released ? undefined : new Promise<void>((r) => (resolve = r));
  }

  /** Handles a push now; the caller has checked that the channel is joined and is running in its order. */
  handleNow(event: string, payload: Payload | Uint8Array, id: string | undefined, done: (outcome: Outcome) => void): unknown {
    const run = payload instanceof Uint8Array ? () => this.runBinary(event, payload) : () => this.runJson(event, payload);
    const handling: Handling = { id, count: 0, broadcasts: [] };
    this.handling = handling;
    return this.guard(`handleIn ${event}`, () => answering(run), (result, crashed) => {
      this.handling = null;
      if (crashed) {
        this.crash();
        return done({ kind: 'crashed' });
      }
      if (result && !encodable(result)) {
        // A reply that cannot be encoded (a BigInt, a cycle) is a handler bug: reported and handled like a throw.
        this.fail(new TypeError('the reply cannot be serialized to JSON'), `reply to ${event}`);
        return done({ kind: 'crashed' });
      }
      if (handling.broadcasts.length === 0) return done({ kind: 'reply', reply: result ?? null, position: null });
      // The answer waits until the broadcasts are applied (an acknowledgement never precedes what it
      // acknowledges); the channel's next frames do not (`answers.ts` keeps the replies in order).
      this.answerWhenApplied(result ?? null, handling.broadcasts, event, done);
      return undefined;
    });
  }

  /**
   * Gives a push's answer once its broadcasts are applied. A method of its own so that what waits for
   * them holds no reference to the push's payload (closures made in `handleNow` would: V8 gives a
   * function's closures one shared context, and `run` there holds the payload).
   */
  private answerWhenApplied(reply: Reply | null, broadcasts: ReadonlyArray<Promise<Position>>, event: string, done: (outcome: Outcome) => void): void {
    void settled(reply, broadcasts, (error) => this.host.reportError(error, `a broadcast by ${event} on ${this.topic}`)).then(done);
  }

  private runJson(event: string, payload: Payload): Maybe<Reply | void> {
    if (!this.handler.handleIn) return refuse(REASONS.unknownEvent);
    return this.handler.handleIn(event, payload, this);
  }

  private runBinary(event: string, payload: Uint8Array): Maybe<Reply | void> {
    if (!this.handler.handleBinary) return refuse(BINARY_REFUSED);
    return this.handler.handleBinary(event, payload, this);
  }

  /** True when broadcasts of `event` must pass through `handleOut`. */
  isIntercepted(event: string): boolean {
    return this.intercepts.has(event);
  }

  /** Applies `handleOut` for an intercepted event; returns the payload JSON to send, or null to drop it. */
  handleOut(event: string, payload: Payload): string | null {
    try {
      const out = this.handler.handleOut?.(event, payload, this);
      if (out === null || out === undefined) return null;
      if (!isPayload(out)) throw new TypeError(`handleOut must return an object, null or nothing; got ${JSON.stringify(out)}`);
      // Serialized inside the guard: a payload that cannot be (a BigInt, a cycle) drops this member's copy only.
      return JSON.stringify(out);
    } catch (err) {
      this.host.reportError(err, `handleOut ${event} on ${this.topic}`);
      return null;
    }
  }

  /** Passes a non-broadcast PubSub message to `handleInfo`. */
  info(message: unknown): void {
    this.serial.run(() => this.guard('handleInfo', () => this.handler.handleInfo?.(message, this), (_r, crashed) => crashed && this.crash()));
  }

  broadcast(event: string, payload: Payload | Uint8Array): void {
    this.tagged(event, payload, undefined);
  }

  broadcastFrom(event: string, payload: Payload | Uint8Array): void {
    this.tagged(event, payload, this.host.socketId);
  }

  /** Sends an already-encoded frame to this socket (used by fan-out): its text, or the built WebSocket frame. */
  sendRaw(frame: string | WireFrame): void {
    if (this.state === 'joined') this.host.send(frame);
  }

  push(event: string, payload: Payload | Uint8Array): void {
    if (this.state === 'ended') return;
    if (payload instanceof Uint8Array) return this.host.send(binaryAround(encodeServerPush(this.joinRef, this.topic, event, NO_BYTES), payload));
    this.host.send(encode({ joinRef: this.joinRef, ref: null, topic: this.topic, event, payload }));
  }

  close(): void {
    if (this.state === 'ended') return;
    this.afterAnswers(() => this.sendControl(EVENTS.close));
    this.end('stopped');
    this.host.release(this);
  }

  /** Ends the instance; idempotent. A joined channel's `terminate` runs exactly once. */
  end(reason: TerminateReason): void {
    if (this.state === 'ended') return;
    const wasJoined = this.state === 'joined';
    this.state = 'ended';
    this.endReason = reason;
    this.serial.clear();
    if (!wasJoined) return;
    this.host.unsubscribe(this);
    try {
      this.handler.terminate?.(reason, this);
    } catch (err) {
      this.host.reportError(err, `terminate on ${this.topic}`);
    }
  }

  /** Sends `phx_close` or `phx_error` for this join. */
  sendControl(event: typeof EVENTS.close | typeof EVENTS.error): void {
    this.host.send(encode({ joinRef: this.joinRef, ref: this.joinRef, topic: this.topic, event, payload: {} }));
  }

  /**
   * Broadcasts, tagging it with the id of the message being handled (`id`, then `id#2`, ...). Made
   * while handling a push, it counts toward that push's answer; otherwise (from `handleInfo`,
   * `terminate`, a timer) a failure to apply it is reported.
   */
  private tagged(event: string, payload: Payload | Uint8Array, exclude: string | undefined): void {
    const handling = this.handling;
    let id: string | undefined;
    if (handling?.id !== undefined) id = ++handling.count === 1 ? handling.id : `${handling.id}#${handling.count}`;
    const position = this.host.broadcast(this.topic, event, payload, { exclude, id, user: this.assigns.userId });
    if (handling) handling.broadcasts.push(position);
    else position.catch((error: unknown) => this.host.reportError(error, `a broadcast of ${event} on ${this.topic}`));
  }

  /** Reports a failure caused by this channel's handler (such as an unencodable reply) and crashes the channel. */
  fail(error: unknown, context: string): void {
    this.host.reportError(error, `${context} on ${this.topic}`);
    this.crash();
  }

  private crash(): void {
    if (this.state === 'ended') return;
    this.afterAnswers(() => this.sendControl(EVENTS.error));
    this.end('crashed');
    this.host.release(this);
  }

  /** Calls `fn`, awaiting it if it returns a promise; reports a throw or rejection as a crash. */
  private guard<T>(what: string, fn: () => Maybe<T>, then: (result: T | undefined, crashed: boolean) => void): unknown {
    let value: Maybe<T>;
    try {
      value = fn();
    } catch (err) {
      this.host.reportError(err, `${what} on ${this.topic}`);
      return then(undefined, true);
    }
    if (value instanceof Promise) {
      return value.then(
        (result) => then(result, false),
        (err: unknown) => {
          this.host.reportError(err, `${what} on ${this.topic}`);
          then(undefined, true);
        },
      );
    }
    return then(value, false);
  }
}

/**
 * Runs a handler callback; a presence cap it ran into (`PresenceLimitError`, thrown by `track`)
 * becomes the refusal it stands for, not a crash.
 */
function answering<T>(fn: () => Maybe<T>): Maybe<T | Reply> {
  try {
    const value = fn();
    return value instanceof Promise ? value.catch(refusal) : value;
  } catch (error) {
    return refusal(error);
  }
}

function refusal(error: unknown): Reply {
  if (error instanceof PresenceLimitError) return refuse(error.reason);
  throw error;
}

function encodable(reply: Reply): boolean {
  try {
    JSON.stringify(reply.response);
    return true;
  } catch {
    // The caller reports it as the handler's failure.
    return false;
  }
}
