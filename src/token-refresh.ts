/**
 * Token refresh on an open socket (PROTOCOL.md §8, `plume:token`): before
 * the socket's token expires, ask the app's token function for a new one
 * and hand it to the server, so the connection and its channels survive.
 *
 * Responsible for timing the refresh from the token's own `exp`/`iat`
 * (read without verifying: the client holds no key), sending it, and
 * reading the answer. Not responsible for the connection (`socket.ts`):
 * when a refresh is refused, the server's close at the old expiry follows
 * and the socket reconnects with a fresh token as it always did.
 */
import { PlumeError } from './errors';
import { EVENTS, PHOENIX_TOPIC, REASONS, type Message } from './protocol';
import type { Clock, TimerHandle } from './timer';
import { textOfBase64 } from './base64';

/** Refresh this share of a token's lifetime before it ends... */
const LEAD_SHARE = 0.1;
/** ...but at least this long before (ms), room for a slow token function and round trip... */
const MIN_LEAD_MS = 5_000;
/** ...and at most this long before (ms); a token shorter than twice the minimum is refreshed halfway. */
const MAX_LEAD_MS = 60_000;
/** Least time between two refresh attempts (ms): a token function that hands back the same token is asked again no faster. */
const RETRY_MS = 1_000;

/** Answers that mean the server does not know `plume:token` (Phoenix, an older Plume): stop quietly. */
const NOT_SUPPORTED = new Set(['unknown event', 'unmatched topic']);

/** The time claims of a JWT, in seconds. */
export interface TokenTimes {
  exp: number;
  iat: number | undefined;
}

/**
 * Reads `exp` and `iat` from a JWT's payload without verifying it; null when it is not a JWT with `exp`.
 * @example tokenTimes(jwt) // { exp: 1767225600, iat: 1767222000 }
 */
export function tokenTimes(token: string): TokenTimes | null {
  const part = token.split('.')[1];
  if (!part) return null;
  try {
    const claims = JSON.parse(textOfBase64(part)) as Record<string, unknown>;
    if (typeof claims.exp !== 'number') return null;
    return { exp: claims.exp, iat: typeof claims.iat === 'number' ? claims.iat : undefined };
  } catch {
    // Not base64url JSON: an opaque token, which the client cannot time (it is then renewed on reconnect only).
    return null;
  }
}

/**
 * How long after `now` to refresh a token obtained at `obtainedAt` (ms). The
 * time left is the smaller of what the client's clock says (right for a
 * token an auth library kept a while) and the token's `exp - iat` counted
 * from when it was obtained (right when the client's clock is behind).
 * @example refreshDelay({ exp: 3600, iat: 0 }, 0, 0) // 3,540,000: a minute before an hour is up
 */
export function refreshDelay(times: TokenTimes, obtainedAt: number, now: number): number {
  const byClock = times.exp * 1000 - now;
  const byLifetime = times.iat === undefined ? Infinity : obtainedAt + (times.exp - times.iat) * 1000 - now;
  const left = Math.min(byClock, byLifetime);
  const lifetime = times.iat === undefined ? left : (times.exp - times.iat) * 1000;
  const lead = Math.min(MAX_LEAD_MS, Math.max(Math.min(MIN_LEAD_MS, lifetime / 2), lifetime * LEAD_SHARE));
  return Math.max(0, left - lead);
}

/** What the refresher needs from its socket. */
export interface RefreshHost {
  clock: Clock;
  /** The app's token function. */
  token: () => string | Promise<string>;
  makeRef(): string;
  /** Sends a frame if connected. */
  send(message: Message): boolean;
  report(error: PlumeError): void;
}

/**
 * Refreshes one socket's token while it is open.
 * @example
 * const refresher = new TokenRefresher(host);
 * refresher.use(token);  // the token a connection opens with
 * refresher.start();     // once it is open
 * refresher.answer(msg); // for replies on `phoenix`; true when it was ours
 * refresher.stop();      // when the connection goes
 */
export class TokenRefresher {
  private readonly host: RefreshHost;
  private current: { token: string; obtainedAt: number } | null = null;
  private timer: TimerHandle | null = null;
  private pending: { ref: string; token: string; obtainedAt: number } | null = null;
  /** Bumped by `stop()`: a token function that answers after it is ignored. */
  private generation = 0;

  constructor(host: RefreshHost) {
    this.host = host;
  }

  /** Records the token a connection opens with. */
  use(token: string | undefined): void {
    this.current = token ? { token, obtainedAt: this.host.clock.now() } : null;
  }

  /** The connection is open: time the next refresh. */
  start(): void {
    this.schedule(0);
  }

  /** The connection is gone: forget the timer and any refresh in flight. */
  stop(): void {
    this.generation++;
    if (this.timer !== null) this.host.clock.clearTimeout(this.timer);
    this.timer = null;
    this.pending = null;
  }

  /** Handles a reply on the `phoenix` topic; returns true when it answered our refresh. */
  answer(message: Message): boolean {
    if (message.event !== EVENTS.reply || this.pending === null || message.ref !== this.pending.ref) return false;
    const { token, obtainedAt } = this.pending;
    this.pending = null;
    const reply = message.payload as { status?: string; response?: { reason?: unknown } };
    if (reply.status === 'ok') {
      this.current = { token, obtainedAt };
      this.schedule(RETRY_MS);
      return true;
    }
    const reason = String(reply.response?.reason ?? 'refused');
    // Past the server's rate limits: not a verdict on the token; ask again a little later.
    if (reason === REASONS.rateLimited) {
      this.schedule(RETRY_MS);
      return true;
    }
    if (!NOT_SUPPORTED.has(reason)) this.host.report(new PlumeError('unauthorized', `token refresh refused: ${reason}`));
    return true;
  }

  private schedule(atLeastMs: number): void {
    const times = this.current && tokenTimes(this.current.token);
    if (!this.current || !times) return;
    const { clock } = this.host;
    const delay = Math.max(atLeastMs, refreshDelay(times, this.current.obtainedAt, clock.now()));
    if (this.timer !== null) clock.clearTimeout(this.timer);
    this.timer = clock.setTimeout(() => this.refresh(), delay);
  }

  private refresh(): void {
    this.timer = null;
    const generation = this.generation;
    Promise.resolve().then(this.host.token).then(
      (token) => {
        if (generation !== this.generation) return;
        // The same token again (an auth library that has not renewed it yet): ask again a little later.
        if (token === this.current?.token) return this.schedule(RETRY_MS);
        const ref = this.host.makeRef();
        this.pending = { ref, token, obtainedAt: this.host.clock.now() };
        this.host.send({ joinRef: null, ref, topic: PHOENIX_TOPIC, event: EVENTS.token, payload: { token } });
      },
      (cause: unknown) => {
        if (generation === this.generation) this.host.report(new PlumeError('unauthorized', 'the token function failed', { cause }));
      },
    );
  }
}
