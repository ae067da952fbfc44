/**
 * Phoenix's long-poll transport for the Plume client (PROTOCOL.md §1,
 * Long-poll), shaped like a WebSocket so the socket uses it the same way:
 * frames out are POSTed in batches, frames in come from a GET that the
 * server holds open until it has some.
 *
 * Responsible for the session's requests, their order and timeouts, and
 * turning the server's answers into open, message and close events. Not
 * responsible for choosing it over a WebSocket (`socket.ts` does).
 */
import { fromBase64, textOfBase64, toBase64 } from './base64';
import { CLOSE, TOKEN_PROTOCOL_PREFIX } from './protocol';
import type { WebSocketLike } from './options';

/** Options for {@link LongPoll}. */
export interface LongPollOptions {
  /**
   * How long one request may take before the session counts as lost (ms). It
   * must exceed the server's `longPollWindowMs` (default 10000). Default 20000.
   */
  requestTimeoutMs?: number;
  /** The `fetch` to use. Default: the global one. */
  fetch?: typeof fetch;
}

/** A POST carries at most this many bytes of frames (one larger frame goes alone). */
const BATCH_BYTES = 512 * 1024;

interface Answer {
  status?: number;
  token?: string;
  messages?: unknown[];
  code?: number;
  reason?: string;
}

/** `ws://host/socket/websocket?q` → `http://host/socket/longpoll?q`. */
export function longPollUrl(socketUrl: string): string {
  const url = new URL(socketUrl);
  url.protocol = url.protocol === 'wss:' ? 'https:' : url.protocol === 'ws:' ? 'http:' : url.protocol;
  url.pathname = url.pathname.replace(/\/websocket$/, '/longpoll');
  return url.toString();
}

/**
 * @example
 * const socket = new Socket('/socket', { transport: (url, protocols) => new LongPoll(url, protocols) });
 */
export class LongPoll implements WebSocketLike {
  static readonly CONNECTING: number = 0;
  static readonly OPEN: number = 1;
  static readonly CLOSING: number = 2;
  static readonly CLOSED: number = 3;

  readyState: number = LongPoll.CONNECTING;
  binaryType = 'arraybuffer';
  onopen: ((event: unknown) => void) | null = null;
  onclose: ((event: { code: number; reason: string }) => void) | null = null;
  onmessage: ((event: { data: unknown }) => void) | null = null;
  onerror: ((event: unknown) => void) | null = null;

  private readonly url: string;
  private readonly authToken: string | undefined;
  private readonly timeoutMs: number;
  private readonly fetch: typeof fetch;
  private session: string | null = null;
  private readonly requests = new Set<AbortController>();
  private outgoing: string[] = [];
  private posting = false;
  private flushTimer: ReturnType<typeof setTimeout> | null = null;

  /** `url` is the WebSocket endpoint's URL; a token offered in `protocols` goes in the `X-Phoenix-AuthToken` header. */
  constructor(url: string, protocols?: string[], options: LongPollOptions = {}) {
    this.url = longPollUrl(url);
    const offered = protocols?.find((p) => p.startsWith(TOKEN_PROTOCOL_PREFIX));
    this.authToken = offered ? textOfBase64(offered.slice(TOKEN_PROTOCOL_PREFIX.length)) : undefined;
    this.timeoutMs = options.requestTimeoutMs ?? 20_000;
    const given = options.fetch ?? (globalThis as { fetch?: typeof fetch }).fetch;
    if (!given) throw new Error('no global fetch for long-poll: pass `fetch` in the LongPoll options');
    // Bound: a browser's fetch called as another object's method throws "Illegal invocation".
    this.fetch = options.fetch ?? given.bind(globalThis);
    // As a WebSocket does, the session opens after the caller set its handlers.
    setTimeout(() => void this.poll(), 0);
  }

  send(data: string | Uint8Array): void {
    if (this.readyState !== LongPoll.OPEN) throw new Error('long-poll session is not open');
    this.outgoing.push(typeof data === 'string' ? data : toBase64(data));
    // The frames of one turn leave in one POST.
    this.flushTimer ??= setTimeout(() => {
      this.flushTimer = null;
      void this.flush();
    }, 0);
  }

  close(code = CLOSE.normal, reason = ''): void {
    if (this.readyState === LongPoll.CLOSED) return;
    const session = this.session;
    this.end(code, reason, true);
    // Tells the server at once, so presence and the connection end now rather than when the session times out.
    if (session) void this.fetch(this.target(session), { method: 'DELETE', keepalive: true }).catch(() => {});
  }

  private target(session: string | null): string {
    if (!session) return this.url;
    const url = new URL(this.url);
    url.searchParams.set('token', session);
    return url.toString();
  }

  private async poll(): Promise<void> {
    while (this.readyState === LongPoll.CONNECTING || this.readyState === LongPoll.OPEN) {
      const headers: Record<string, string> = { accept: 'application/json' };
      if (this.authToken !== undefined && this.session === null) headers['x-phoenix-authtoken'] = this.authToken;
      const answer = await this.request('GET', headers);
      if (!answer || this.readyState === LongPoll.CLOSED) return;
      switch (answer.status) {
        case 200:
          this.deliver(answer.messages ?? []);
          break;
        case 204:
          break;
        case 410:
          if (this.session !== null || !answer.token) return this.lost(answer, 'session gone');
          this.session = answer.token;
          this.readyState = LongPoll.OPEN;
          this.onopen?.({});
          break;
        default:
          // 403 (refused authentication or origin), 500 and the rest: the session is over.
          return this.lost(answer, `long-poll answered ${String(answer.status)}`);
      }
    }
  }

  private deliver(messages: unknown[]): void {
    for (const message of messages) {
      // A handler may have closed us: what is left belongs to no one.
      if (this.readyState !== LongPoll.OPEN) return;
      if (typeof message !== 'string') continue;
      this.onmessage?.({ data: message.startsWith('b:') ? fromBase64(message.slice(2)).buffer : message });
    }
  }

  private async flush(): Promise<void> {
    if (this.posting || this.outgoing.length === 0 || this.readyState !== LongPoll.OPEN) return;
    let bytes = 0;
    let count = 0;
    for (const frame of this.outgoing) {
      if (count > 0 && bytes + frame.length > BATCH_BYTES) break;
      bytes += frame.length;
      count++;
    }
    const batch = this.outgoing.splice(0, count);
    this.posting = true;
    const answer = await this.request('POST', { 'content-type': 'application/x-ndjson' }, batch.join('\n'));
    this.posting = false;
    if (!answer || this.readyState === LongPoll.CLOSED) return;
    if (answer.status !== 200) return this.lost(answer, `long-poll answered ${String(answer.status)}`);
    void this.flush();
  }

  /** One request of this session: its answer, or null once the session ended (a failed request ends it). */
  private async request(method: 'GET' | 'POST', headers: Record<string, string>, body?: string): Promise<Answer | null> {
    const controller = new AbortController();
    this.requests.add(controller);
    const timer = setTimeout(() => controller.abort(), this.timeoutMs);
    try {
      const response = await this.fetch(this.target(this.session), { method, headers, body, signal: controller.signal, cache: 'no-store' });
      const answer = (await response.json()) as Answer;
      return typeof answer === 'object' && answer !== null ? answer : { status: response.status };
    } catch {
      // Unreachable, timed out, or an answer that is not JSON (a proxy's error page): lost, as a WebSocket would be.
      if (this.readyState !== LongPoll.CLOSED) this.end(CLOSE.abnormal, controller.signal.aborted ? 'long-poll request timed out' : 'long-poll request failed', false);
      return null;
    } finally {
      clearTimeout(timer);
      this.requests.delete(controller);
    }
  }

  /** The server ended the session, or refused it: its close code when it gave one. */
  private lost(answer: Answer, fallback: string): void {
    const code = typeof answer.code === 'number' ? answer.code : answer.status === 403 ? CLOSE.forbidden : CLOSE.abnormal;
    this.end(code, typeof answer.reason === 'string' ? answer.reason : fallback, false);
  }

  private end(code: number, reason: string, byUs: boolean): void {
    this.readyState = LongPoll.CLOSED;
    if (this.flushTimer !== null) clearTimeout(this.flushTimer);
    this.flushTimer = null;
    this.outgoing = [];
    for (const controller of [...this.requests]) controller.abort();
    this.requests.clear();
    if (!byUs) this.onerror?.({});
    const onclose = this.onclose;
    // Like a WebSocket's, the close event comes after the call that caused it returns.
    setTimeout(() => onclose?.({ code, reason }), 0);
  }
}
