/**
 * One client's long-poll session (PROTOCOL.md §1, Long-poll): frames out
 * wait in a queue until a poll takes them (or is answered empty at the end
 * of its window), frames in come from POSTed batches. The same connection
 * (`socket/connection.ts`) runs over it as over a WebSocket.
 *
 * Responsible for the session's queue, its bound (4429 beyond
 * `maxBufferedBytes`), the one outstanding poll, and what a closed session
 * answers. Not responsible for HTTP routing or sessions' tokens
 * (`longpoll-endpoint.ts`).
 */
import type { ServerResponse } from 'node:http';
import type { WireFrame } from '../wire/frame';
import { CLOSE } from '../../src/protocol';
import type { ClientListener, ClientTransport } from './client';

/** How a session ended: with a close code (told to the next poll), or none. */
export interface LongPollEnd {
  code: number;
  reason: string;
}

/**
 * Answers a long-poll request with a JSON body. The body's `status` is what
 * clients read; the HTTP status is 200 except for refusals before any session.
 */
export function answer(res: ServerResponse, body: Record<string, unknown>, httpStatus = 200): void {
  if (res.writableEnded) return;
  const text = JSON.stringify(body);
  res.writeHead(httpStatus, { 'content-type': 'application/json', 'cache-control': 'no-store', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/**
 * @example
 * const session = new LongPollClient(token, plume, 4 * 1024 * 1024, 10_000, onEnd);
 * session.poll(res); // answered when frames come, or 204 after the window
 */
export class LongPollClient implements ClientTransport {
  readonly kind = 'longpoll';
  private queue: string[] = [];
  private queued = 0;
  private waiting: { res: ServerResponse; timer: ReturnType<typeof setTimeout> } | null = null;
  private flushScheduled = false;
  private listener: ClientListener | null = null;
  private ended: LongPollEnd | null = null;
  private closed = false;
  /** The connection asked for no more frames for now (its rate): a POST's frames wait, and so does its answer. */
  private paused = false;
  private readonly resumers: Array<() => void> = [];
  /** A POST's frames are being handed over: another POST meanwhile is a client ignoring backpressure. */
  private receiving = false;
  /** When the client was last heard from (a request began or ended): a session idle for twice the window is gone. */
  lastSeen = Date.now();

  constructor(
    readonly token: string,
    /** A Plume session gets binary frames (base64 with `b:`); a plain Phoenix one never does. */
    private readonly plume: boolean,
    private readonly maxBufferedBytes: number,
    private readonly windowMs: number,
    /** Called once when the session ends, for its registry to forget it. */
    private readonly onEnd: (session: LongPollClient) => void,
  ) {}

  get open(): boolean {
    return !this.closed;
  }

  get pendingBytes(): number {
    return this.queued;
  }

  /** How the session ended (its close code), or null while open. */
  get end(): LongPollEnd | null {
    return this.ended;
  }

  send(frame: WireFrame): void {
    if (this.closed) return;
    if (frame.binary && !this.plume) return; // phoenix.js cannot read binary frames over long-poll
    const text = frame.binary ? `b:${frame.data.toString('base64')}` : frame.data.toString('utf8');
    if (this.queued > 0 && this.queued + text.length > this.maxBufferedBytes) {
      this.queue = [];
      this.queued = 0;
      this.listener?.overflowed();
      return;
    }
    this.queue.push(text);
    this.queued += text.length;
    this.schedule();
  }

  flush(): void {
    this.deliver();
  }

  discard(): void {
    this.queue = [];
    this.queued = 0;
  }

  close(code: number, reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.ended = { code, reason };
    this.deliver();
    this.finish();
  }

  listen(listener: ClientListener): void {
    this.listener = listener;
  }

  /** True while a poll waits: the client is there. */
  get polling(): boolean {
    return this.waiting !== null;
  }

  /** A poll: answered at once when frames wait, else when they come, else empty at the end of the window. */
  poll(res: ServerResponse): void {
    this.seen();
    if (this.closed) return answer(res, this.gone());
    // One poll at a time: a newer one (the client gave up on the old) takes over.
    if (this.waiting) this.release(this.waiting, { status: 204, token: this.token });
    if (this.queue.length > 0) return answer(res, this.take());
    const waiting = { res, timer: setTimeout(() => this.waiting === waiting && this.release(waiting, { status: 204, token: this.token }), this.windowMs) };
    waiting.timer.unref();
    this.waiting = waiting;
    res.once('close', () => {
      if (this.waiting === waiting) this.release(waiting, null);
    });
  }

  /**
   * Frames a POST brought, handed to the connection in order; resolves once
   * all were taken. While the connection is paused (past its rate) they wait,
   * and the POST's answer with them: backpressure, as TCP gives a WebSocket.
   * A client that POSTs again before its previous POST was answered is
   * ignoring it, and is closed as a flooder (4420).
   */
  async received(frames: Array<{ data: Buffer; binary: boolean }>): Promise<void> {
    this.seen();
    if (this.receiving) return this.close(CLOSE.flooding, 'flooding: a POST before the previous one was answered');
    this.receiving = true;
    try {
      for (const { data, binary } of frames) {
        while (this.paused && !this.closed) await new Promise<void>((resolve) => this.resumers.push(resolve));
        if (this.closed) return;
        this.listener?.received(data, binary);
      }
    } finally {
      this.receiving = false;
    }
  }

  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
    for (const resolve of this.resumers.splice(0)) resolve();
  }

  cutOff(): void {
    // Closed already (4420); frames still waiting in a POST are dropped with the session.
    this.resume();
  }

  /** The client stopped polling (idle), or the server closes: the connection ends. */
  expire(): void {
    if (this.closed) return;
    this.closed = true;
    this.finish();
  }

  /** What a request for a closed session is answered. */
  gone(): Record<string, unknown> {
    return this.ended ? { status: 410, code: this.ended.code, reason: this.ended.reason } : { status: 410 };
  }

  private seen(): void {
    this.lastSeen = Date.now();
    this.listener?.alive();
  }

  private finish(): void {
    for (const resolve of this.resumers.splice(0)) resolve();
    if (this.waiting) this.release(this.waiting, this.queue.length > 0 ? this.take() : this.gone());
    this.listener?.ended();
    this.onEnd(this);
  }

  /** Frames of one turn leave in one answer. */
  private schedule(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      this.deliver();
    });
  }

  private deliver(): void {
    if (this.waiting && this.queue.length > 0) this.release(this.waiting, this.take());
  }

  private take(): Record<string, unknown> {
    const messages = this.queue;
    this.queue = [];
    this.queued = 0;
    return { status: 200, token: this.token, messages };
  }

  private release(waiting: { res: ServerResponse; timer: ReturnType<typeof setTimeout> }, body: Record<string, unknown> | null): void {
    clearTimeout(waiting.timer);
    if (this.waiting === waiting) this.waiting = null;
    this.lastSeen = Date.now();
    if (body) answer(waiting.res, body);
  }
}
