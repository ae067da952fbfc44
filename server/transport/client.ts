/**
 * The seam between a client connection and the transport that carries its
 * frames: WebSocket (`websocket.ts`) or long-poll (`longpoll.ts`). A connection
 * (`socket/connection.ts`) speaks only this interface, so the protocol,
 * fan-out, history and signing never depend on how bytes reach a client.
 */
import type { WireFrame } from '../wire/frame';

/** What a transport tells its connection. */
export interface ClientListener {
  /** A frame arrived: its bytes, and whether it was sent as binary. */
  received(data: Buffer, binary: boolean): void;
  /** The client is gone (closed, errored, or timed out at the transport's level). */
  ended(): void;
  /** More than the transport's bound waits unsent: the connection closes it (4429). */
  overflowed(): void;
  /**
   * The client showed it is there without sending a frame (a long-poll request):
   * phoenix.js sends no heartbeats over long-poll, so its polls keep it alive.
   */
  alive(): void;
}

/** One client's transport, as a connection uses it. */
export interface ClientTransport {
  /** `websocket` or `longpoll`. */
  readonly kind: string;
  /** False once closing or closed: frames sent then are dropped. */
  readonly open: boolean;
  /** Bytes waiting to reach the client (queued, or not yet taken by the OS or a poll). */
  readonly pendingBytes: number;
  /** Queues a frame; it leaves with the client's other frames of this turn (after clients without replies, when `reply`). */
  send(frame: WireFrame, reply: boolean): void;
  /** Writes what is queued now (before a close, so it goes first). */
  flush(): void;
  /** Drops what is queued (the connection ended under it). */
  discard(): void;
  /** Ends the connection with a close code from PROTOCOL.md §6 and a reason. */
  close(code: number, reason: string): void;
  /** Hands incoming frames and the end of the connection to `listener`; called once, by the connection. */
  listen(listener: ClientListener): void;
  /** Stops handing over incoming frames (the connection is past its rate, or yields its turn); the client meets backpressure. */
  pause(): void;
  /** Hands over incoming frames again. */
  resume(): void;
  /** After `close` for flooding (4420): reads nothing more and drops the connection soon after the close goes out. */
  cutOff(): void;
}
