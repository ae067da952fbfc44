/**
 * The WebSocket transport for one client: frames out through `Outbound`
 * (batched per turn, bounded), frames in from `ws`.
 *
 * Responsible for everything RFC 6455 about a connection: close codes and
 * reasons that fit a close frame, and the frame header (`websocket-frame.ts`).
 */
import type { Duplex } from 'node:stream';
import type { WebSocket } from 'ws';
import type { WireFrame } from '../wire/frame';
import type { ClientListener, ClientTransport } from './client';
import { Outbound, type WriteScheduler } from './outbound';

/** How long a socket closed for flooding (4420) keeps its TCP connection, for the close frame to leave (ms). */
const FLOODER_LINGER_MS = 1000;

/**
 * A close reason that fits the 123 bytes RFC 6455 allows, cut between
 * characters (a cut inside a UTF-8 sequence makes `ws` throw).
 *
 * @example closeReason('é'.repeat(100)) // 61 characters, 122 bytes
 */
export function closeReason(reason: string): string {
  if (Buffer.byteLength(reason) <= 123) return reason;
  let out = '';
  let bytes = 0;
  for (const character of reason) {
    bytes += Buffer.byteLength(character);
    if (bytes > 123) break;
    out += character;
  }
  return out;
}

/**
 * @example
 * const client = new WebSocketClient(ws, request.socket, 4 * 1024 * 1024, scheduler);
 * client.listen({ received: (data, binary) => ..., ended: () => ..., overflowed: () => ... });
 */
export class WebSocketClient implements ClientTransport {
  readonly kind = 'websocket';
  private readonly outbound: Outbound;
  private listener: ClientListener | null = null;

  /** `socket` is the upgraded socket under `ws` (`request.socket`): frames are written to it in batches. */
  constructor(private readonly ws: WebSocket, private readonly socket: Duplex, maxBufferedBytes: number, scheduler: WriteScheduler) {
    this.outbound = new Outbound(ws, socket, maxBufferedBytes, { close: () => this.listener?.overflowed() }, scheduler);
  }

  get open(): boolean {
    return this.ws.readyState === this.ws.OPEN;
  }

  get pendingBytes(): number {
    return this.outbound.pendingBytes;
  }

  send(frame: WireFrame, reply: boolean): void {
    this.outbound.send(frame, reply);
  }

  flush(): void {
    this.outbound.flush();
  }

  discard(): void {
    this.outbound.discard();
  }

  close(code: number, reason: string): void {
    this.ws.close(code, closeReason(reason));
  }

  pause(): void {
    this.ws.pause();
  }

  resume(): void {
    this.ws.resume();
  }

  cutOff(): void {
    // The close frame is followed by the end of the TCP stream (the client cannot answer it: we no
    // longer read), and the connection is dropped a second later if the client keeps it open.
    this.socket.end();
    setTimeout(() => this.ws.terminate(), FLOODER_LINGER_MS).unref();
  }

  listen(listener: ClientListener): void {
    this.listener = listener;
    this.ws.on('message', (data, isBinary) => listener.received(data as Buffer, isBinary));
    this.ws.on('close', () => listener.ended());
    this.ws.on('error', () => listener.ended());
  }
}
