/**
 * The long-poll endpoint, `${path}/longpoll` (PROTOCOL.md §1, Long-poll):
 * Phoenix's LongPoll transport over plain HTTP, for networks that block
 * WebSockets. A GET without a session token opens a session (after
 * authentication), a GET with one waits for frames, a POST brings frames.
 *
 * Responsible for HTTP: the Origin check and CORS, session tokens, request
 * bodies and their bound, idle sessions. Not responsible for a session's
 * queue (`longpoll.ts`) or for anything the frames say.
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { CLOSE } from '../../src/protocol';
import type { Logger } from '../log';
import type { ResolvedOptions } from '../options';
import { originAllowed } from '../auth/origin';
import type { ConnectionGate } from '../limits/connections';
import { LongPollClient, answer, type LongPollEnd } from './longpoll';

/** A refusal to open a session: the close code and reason a WebSocket would have been closed with. */
export interface SessionRefusal {
  code: number;
  reason: string;
}

/** What the endpoint needs from the server. */
export interface LongPollHost {
  /**
   * Authenticates a new session's request; on success calls `create` for its
   * transport and starts a connection over it. Resolves to null, or to the refusal.
   */
  openSession(request: IncomingMessage, params: Record<string, string>, create: (plume: boolean) => LongPollClient): Promise<SessionRefusal | null>;
}

/** Ended sessions remembered at most, for their close code (the oldest are forgotten first). */
const MAX_ENDED = 10_000;

/** Headers a cross-origin page may send (phoenix.js sends the token in one of its own). */
const ALLOWED_HEADERS = 'content-type, x-phoenix-authtoken';

/**
 * @example
 * const endpoint = new LongPollEndpoint(options, log, server);
 * if (url.pathname === `${options.path}/longpoll`) endpoint.handle(req, res, url);
 */
export class LongPollEndpoint {
  private readonly sessions = new Map<string, LongPollClient>();
  /** Sessions the server closed, for twice the window: the client's next request learns the close code. */
  private readonly ended = new Map<string, { end: LongPollEnd; at: number }>();
  private readonly sweepTimer: ReturnType<typeof setInterval>;
  /** False once the server drains: new sessions are refused, open ones carry on until closed. */
  private accepting = true;

  /** `gate` applies `maxConnections` and `maxConnectionsPerIp` to new sessions, as to upgrades. */
  constructor(private readonly options: ResolvedOptions, private readonly log: Logger, private readonly host: LongPollHost, private readonly gate: ConnectionGate) {
    this.sweepTimer = setInterval(() => this.sweep(), Math.max(50, options.longPollWindowMs / 2));
    this.sweepTimer.unref();
  }

  /** Open sessions (for `/health`). */
  get size(): number {
    return this.sessions.size;
  }

  handle(req: IncomingMessage, res: ServerResponse, url: URL): void {
    const origin = req.headers.origin;
    const policy = { allowed: this.options.allowedOrigins, loopbackSameOrigin: this.options.auth === null };
    if (!originAllowed(origin, req.headers.host, policy)) {
      this.log.warn(`refused long-poll request from origin ${origin}; allow it with allowedOrigins / --origin (scheme included, like https://app.example)`);
      return answer(res, { status: 403, code: CLOSE.forbidden, reason: 'origin not allowed' }, 403);
    }
    // An allowed page on another origin reads the answers (CORS); no cookies are involved, so no credentials.
    if (origin !== undefined) {
      res.setHeader('access-control-allow-origin', origin);
      res.setHeader('vary', 'origin');
    }
    if (req.method === 'OPTIONS') {
      res.writeHead(204, { 'access-control-allow-methods': 'GET, POST, DELETE', 'access-control-allow-headers': ALLOWED_HEADERS, 'access-control-max-age': '600' });
      res.end();
      return;
    }
    const { token, ...params } = Object.fromEntries(url.searchParams);
    if (req.method === 'GET' && token === undefined) return void this.open(req, res, params);
    const session = token === undefined ? undefined : this.sessions.get(token);
    if (req.method === 'GET') {
      if (!session) return answer(res, this.gone(token));
      return session.poll(res);
    }
    if (req.method === 'DELETE') {
      // The Plume client says it left (closing its socket), so the connection and its presence end now.
      session?.expire();
      return answer(res, { status: 410 });
    }
    if (req.method === 'POST') {
      if (!session) {
        req.resume();
        return answer(res, this.gone(token));
      }
      return this.publish(req, res, session);
    }
    res.setHeader('allow', 'GET, POST, DELETE, OPTIONS');
    answer(res, { status: 405, reason: 'use GET to poll, POST to send and DELETE to leave' }, 405);
  }

  /** The server drains (graceful shutdown): new sessions are refused with 503, so clients go to another node. */
  stopAccepting(): void {
    this.accepting = false;
  }

  /** Ends every session (the server is closing; their connections were closed first). */
  close(): void {
    clearInterval(this.sweepTimer);
    for (const session of [...this.sessions.values()]) session.expire();
  }

  private async open(req: IncomingMessage, res: ServerResponse, params: Record<string, string>): Promise<void> {
    // phoenix.js retries on 500; the Plume client reconnects on the code (1001, not fatal).
    if (!this.accepting) return answer(res, { status: 500, code: CLOSE.goingAway, reason: 'server shutting down' }, 503);
    const admitted = this.gate.admitSession(req.socket.remoteAddress);
    if ('refusal' in admitted) {
      // As an upgrade past the limits gets 503 or 429: phoenix.js retries on 500, the Plume client on 1013.
      res.setHeader('retry-after', '5');
      return answer(res, { status: 500, code: CLOSE.tryAgainLater, reason: admitted.refusal.body }, admitted.refusal.status);
    }
    let session: LongPollClient | undefined;
    const create = (plume: boolean): LongPollClient => {
      const token = randomBytes(18).toString('base64url');
      session = new LongPollClient(token, plume, this.options.maxBufferedBytes, this.options.longPollWindowMs, (ended) => {
        admitted.release();
        this.forget(ended);
      });
      this.sessions.set(token, session);
      return session;
    };
    let refusal: SessionRefusal | null;
    try {
      refusal = await this.host.openSession(req, params, create);
    } catch (err) {
      this.log.error('error in opening a long-poll session:', err);
      refusal = { code: CLOSE.internalError, reason: 'internal error' };
    }
    // phoenix.js stops on 403 and retries on 500: a server that could not decide is worth another try.
    if (refusal) {
      admitted.release();
      return answer(res, { status: refusal.code === CLOSE.internalError ? 500 : 403, code: refusal.code, reason: refusal.reason });
    }
    if (!session?.open) return answer(res, session ? session.gone() : { status: 500, code: CLOSE.internalError, reason: 'internal error' });
    answer(res, { status: 410, token: session.token });
  }

  /** A POST: its frames, one per line, to the session in order once the whole body is in. */
  private publish(req: IncomingMessage, res: ServerResponse, session: LongPollClient): void {
    const limit = this.options.maxBufferedBytes;
    const chunks: Buffer[] = [];
    let size = 0;
    let refused = false;
    req.on('data', (chunk: Buffer) => {
      if (refused) return;
      size += chunk.length;
      if (size > limit) {
        refused = true;
        chunks.length = 0;
        session.close(CLOSE.tooBig, 'request too large');
        answer(res, { status: 413, code: CLOSE.tooBig, reason: `request body over ${limit} bytes` }, 413);
        return;
      }
      chunks.push(chunk);
    });
    req.once('end', () => {
      if (refused) return;
      if (!session.open) return answer(res, session.gone());
      const { frames, tooLarge } = this.frames(Buffer.concat(chunks), req.headers['content-type']);
      void session.received(frames).then(() => {
        // The frames before a frame over `maxFrameBytes` are handled (as over a WebSocket), then the session closes with 1009.
        if (tooLarge) session.close(CLOSE.tooBig, 'frame too large');
        answer(res, session.open ? { status: 200 } : session.gone());
      });
    });
    req.once('error', () => {
      chunks.length = 0;
    });
  }

  /**
   * The frames of a body: one per line with `application/x-ndjson` (a line
   * starting with `[` is a text frame, any other a binary one in base64), else
   * the whole body is one text frame (as Phoenix reads it).
   */
  private frames(body: Buffer, contentType: string | undefined): { frames: Array<{ data: Buffer; binary: boolean }>; tooLarge: boolean } {
    const lines = contentType?.startsWith('application/x-ndjson') ? body.toString('utf8').split(/\r?\n/) : [body.toString('utf8')];
    const frames: Array<{ data: Buffer; binary: boolean }> = [];
    for (const line of lines) {
      if (line === '') continue;
      const binary = !line.startsWith('[');
      const data = binary ? Buffer.from(line, 'base64') : Buffer.from(line, 'utf8');
      // The same bound as a WebSocket frame (1009), checked before anything reads the frame.
      if (data.length > this.options.maxFrameBytes) return { frames, tooLarge: true };
      frames.push({ data, binary });
    }
    return { frames, tooLarge: false };
  }

  private forget(session: LongPollClient): void {
    this.sessions.delete(session.token);
    if (!session.end) return;
    this.ended.set(session.token, { end: session.end, at: Date.now() });
    if (this.ended.size > MAX_ENDED) this.ended.delete(this.ended.keys().next().value as string);
  }

  /** The answer for a session that is not open: 410, with its close code while remembered. */
  private gone(token: string | undefined): Record<string, unknown> {
    const ended = token === undefined ? undefined : this.ended.get(token);
    return ended ? { status: 410, code: ended.end.code, reason: ended.end.reason } : { status: 410 };
  }

  /** Sessions whose client stopped polling for twice the window end (their connection with them). */
  private sweep(): void {
    const idle = Date.now() - 2 * this.options.longPollWindowMs;
    for (const session of [...this.sessions.values()]) {
      if (!session.polling && session.lastSeen < idle) session.expire();
    }
    for (const [token, { at }] of this.ended) {
      if (at >= idle) break;
      this.ended.delete(token);
    }
  }
}
