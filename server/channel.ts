/**
 * The channel API for application authors, and the server-side channel
 * instance that runs a handler for one joined topic on one socket.
 *
 * Responsible for a channel's lifecycle (join, handle, intercept,
 * terminate) and for serializing its frames. Not responsible for decoding
 * frames (`connection.ts`), for routing topics (`router.ts`) or for fan-out
 * (`fanout.ts`).
 */
import { EVENTS, REASONS, encode, isPayload, type Payload, type ReplyPayload } from '../src/protocol';
import { Serial } from './serial';

/** Per-socket data set by the connect hook (`userId`, `name`, and the app's own). */
export interface Assigns {
  userId: string;
  name: string;
  [key: string]: unknown;
}

/** A handler's answer to a join or a push. */
export type Reply = ReplyPayload;

/** An `ok` reply. @example return ok({ id: 7 }); */
export function ok(response: Payload = {}): Reply {
  return { status: 'ok', response };
}

/** An `error` reply. @example return error({ reason: 'invalid', field: 'body' }); */
export function error(response: Payload): Reply {
  return { status: 'error', response };
}

/** Refuses a join (or a push) with a reason. @example return refuse('unauthorized'); */
export function refuse(reason: string, extra: Payload = {}): Reply {
  return { status: 'error', response: { ...extra, reason } };
}

/** Why a channel ended. */
export type TerminateReason = 'leave' | 'closed' | 'replaced' | 'crashed' | 'stopped';

/** What a handler sees of its channel: Phoenix's `socket` inside a channel. */
export interface ChannelSocket<A extends Assigns = Assigns> {
  readonly topic: string;
  readonly joinRef: string;
  /** The id of the underlying connection. */
  readonly socketId: string;
  /** Per-channel assigns, initialised from the connection's; safe to mutate. */
  readonly assigns: A;
  /** Whether the client negotiated the Plume extensions. */
  readonly plume: boolean;
  /** Broadcasts to every member of the topic, this one included. */
  broadcast(event: string, payload: Payload): void;
  /** Broadcasts to every member of the topic except this one. */
  broadcastFrom(event: string, payload: Payload): void;
  /** Sends to this socket only. */
  push(event: string, payload: Payload): void;
  /** Ends the channel from the server side; the client receives `phx_close`. */
  close(): void;
}

type Maybe<T> = T | Promise<T>;

/**
 * Callbacks for a topic pattern. Every callback is optional.
 *
 * @example
 * server.channel('room:*', {
 *   join: (topic, params, socket) => (socket.assigns.userId ? ok() : refuse('unauthorized')),
 *   handleIn(event, payload, socket) {
 *     if (event !== 'new_msg') return refuse('unknown event');
 *     socket.broadcast('new_msg', { body: String(payload.body), from: socket.assigns.name });
 *     return ok();
 *   },
 * });
 */
export interface ChannelHandler<A extends Assigns = Assigns> {
  /** Authorizes a join. Return `ok(response)` / nothing to accept, `refuse(reason)` to refuse. */
  join?(topic: string, params: Payload, socket: ChannelSocket<A>): Maybe<Reply | void>;
  /** Handles a client push. Return a reply, or nothing to send no reply. Default: `error {reason: "unknown event"}`. */
  handleIn?(event: string, payload: Payload, socket: ChannelSocket<A>): Maybe<Reply | void>;
  /** Broadcast events to pass through `handleOut` for each member before sending. */
  intercept?: readonly string[];
  /** Rewrites (return a payload) or drops (return null/undefined) an intercepted broadcast for one member. */
  handleOut?(event: string, payload: Payload, socket: ChannelSocket<A>): Payload | null | void;
  /** Receives PubSub messages on the topic that are not channel broadcasts. */
  handleInfo?(message: unknown, socket: ChannelSocket<A>): void;
  /** Called once when the channel ends, whatever the reason. */
  terminate?(reason: TerminateReason, socket: ChannelSocket<A>): void;
}

/** What a channel instance needs from its connection and server. */
export interface ChannelHost {
  readonly socketId: string;
  readonly plume: boolean;
  send(text: string): void;
  broadcast(topic: string, event: string, payload: Payload, excludeSocketId?: string): void;
  subscribe(instance: ChannelInstance): void;
  unsubscribe(instance: ChannelInstance): void;
  /** Called when the instance ended on its own (crash or server-side close). */
  release(instance: ChannelInstance): void;
  reportError(error: unknown, context: string): void;
}

/** One joined (or joining) topic on one socket. */
export class ChannelInstance implements ChannelSocket {
  readonly topic: string;
  readonly joinRef: string;
  readonly assigns: Assigns;
  readonly handler: ChannelHandler;
  private readonly host: ChannelHost;
  private readonly serial = new Serial();
  private state: 'joining' | 'joined' | 'ended' = 'joining';
  private readonly intercepts: ReadonlySet<string>;

  constructor(host: ChannelHost, handler: ChannelHandler, topic: string, joinRef: string, assigns: Assigns) {
    this.host = host;
    this.handler = handler;
    this.topic = topic;
    this.joinRef = joinRef;
    this.assigns = { ...assigns };
    this.intercepts = new Set(handler.intercept ?? []);
  }

  get socketId(): string {
    return this.host.socketId;
  }

  get plume(): boolean {
    return this.host.plume;
  }

  get joined(): boolean {
    return this.state === 'joined';
  }

  /** Runs the handler's join; `done` gets the reply to send, or null if the instance ended meanwhile. */
  join(params: Payload, done: (reply: Reply | null) => void): void {
    this.serial.run(() => this.guard('join', () => this.handler.join?.(this.topic, params, this), (result, crashed) => {
      if (this.state === 'ended') return done(null);
      if (crashed) {
        this.state = 'ended';
        return done({ status: 'error', response: { reason: REASONS.joinCrashed } });
      }
      const reply = result ?? ok();
      if (reply.status === 'ok') {
        this.state = 'joined';
        this.host.subscribe(this);
      } else {
        this.state = 'ended';
      }
      try {
        done(reply);
      } catch (err) {
        // A response that cannot be encoded (a BigInt, a cycle) is a join bug: reported and answered like a throw.
        this.host.reportError(err, `join reply on ${this.topic}`);
        this.end('crashed');
        done({ status: 'error', response: { reason: REASONS.joinCrashed } });
      }
    }));
  }

  /** Handles a client push; `done` gets the reply to send, or nothing when the handler sends none. */
  handleIn(event: string, payload: Payload, done: (reply: Reply) => void): void {
    this.serial.run(() => {
      if (this.state !== 'joined') return done({ status: 'error', response: { reason: REASONS.unmatchedTopic } });
      const handle = this.handler.handleIn ?? (() => ({ status: 'error', response: { reason: REASONS.unknownEvent } }) as Reply);
      return this.guard(`handleIn ${event}`, () => handle.call(this.handler, event, payload, this), (result, crashed) => {
        if (crashed) return this.crash();
        if (!result || this.state !== 'joined') return;
        try {
          done(result);
        } catch (err) {
          // A reply that cannot be encoded (a BigInt, a cycle) is a handler bug: reported and answered like a throw.
          this.host.reportError(err, `reply to ${event} on ${this.topic}`);
          this.crash();
        }
      });
    });
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

  broadcast(event: string, payload: Payload): void {
    this.host.broadcast(this.topic, event, payload);
  }

  broadcastFrom(event: string, payload: Payload): void {
    this.host.broadcast(this.topic, event, payload, this.host.socketId);
  }

  /** Sends an already-encoded frame to this socket (used by fan-out). */
  sendRaw(frame: string): void {
    if (this.state === 'joined') this.host.send(frame);
  }

  push(event: string, payload: Payload): void {
    if (this.state === 'ended') return;
    this.host.send(encode({ joinRef: this.joinRef, ref: null, topic: this.topic, event, payload }));
  }

  close(): void {
    if (this.state === 'ended') return;
    this.sendControl(EVENTS.close);
    this.end('stopped');
    this.host.release(this);
  }

  /** Ends the instance; idempotent. A joined channel's `terminate` runs exactly once. */
  end(reason: TerminateReason): void {
    if (this.state === 'ended') return;
    const wasJoined = this.state === 'joined';
    this.state = 'ended';
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

  private crash(): void {
    if (this.state === 'ended') return;
    this.sendControl(EVENTS.error);
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
