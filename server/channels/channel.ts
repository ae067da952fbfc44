/**
 * The channel API for application authors: the handler callbacks, what a
 * handler sees of its channel (`ChannelSocket`), and reply helpers.
 *
 * The instance that runs a handler for one joined topic on one socket is
 * `channel-instance.ts`.
 */
import type { Payload, ReplyPayload } from '../../src/protocol';
import type { TokenClaims } from '../auth/token';

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
  /** The verified claims of the socket's token (its latest, after a refresh); undefined in dev mode. */
  readonly claims?: TokenClaims;
  /** Broadcasts to every member of the topic, this one included. The payload may be bytes (a binary frame). */
  broadcast(event: string, payload: Payload | Uint8Array): void;
  /** Broadcasts to every member of the topic except this one. */
  broadcastFrom(event: string, payload: Payload | Uint8Array): void;
  /** Sends to this socket only. */
  push(event: string, payload: Payload | Uint8Array): void;
  /** Ends the channel from the server side; the client receives `phx_close`. */
  close(): void;
}

/** A value, or a promise of it. */
export type Maybe<T> = T | Promise<T>;

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
  /**
   * Handles a client push whose payload is bytes (a binary frame, PROTOCOL.md §2), as `handleIn` does
   * JSON ones. Without it, binary pushes are answered `error {reason: "binary payloads are not accepted on this topic"}`.
   * @example handleBinary(event, bytes, socket) { socket.broadcast(event, bytes); return ok(); }
   */
  handleBinary?(event: string, payload: Uint8Array, socket: ChannelSocket<A>): Maybe<Reply | void>;
  /** Broadcast events to pass through `handleOut` for each member before sending (JSON payloads only: bytes go to every member as they are). Intercepted events are never relayed by peers. */
  intercept?: readonly string[];
  /** Accept ephemeral events (`plume:ephemeral`: typing, cursors; unordered, not stored) from members. Default false. */
  ephemeral?: boolean;
  /** Rewrites (return a payload) or drops (return null/undefined) an intercepted broadcast for one member. */
  handleOut?(event: string, payload: Payload, socket: ChannelSocket<A>): Payload | null | void;
  /** Receives PubSub messages on the topic that are not channel broadcasts. */
  handleInfo?(message: unknown, socket: ChannelSocket<A>): void;
  /** Called once when the channel ends, whatever the reason. */
  terminate?(reason: TerminateReason, socket: ChannelSocket<A>): void;
}
