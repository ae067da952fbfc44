/**
 * Which transport a socket's next connection uses. WebSockets first; after
 * two in a row fail to open (or drop at once), long-poll, which is what a
 * proxy that swallows upgrades leaves; once a WebSocket has worked on the
 * socket, failures more likely mean a server restarting, so it takes five.
 * While on long-poll, a WebSocket is probed now and then (`probe.ts`), 5 s
 * after the fallback at first and twice as long each time after, up to
 * `webSocketRetryMs`.
 *
 * Responsible for the counting and the delays. Not responsible for opening
 * anything or for timers (`socket.ts`, `probe.ts`).
 */
import { CLOSE } from './protocol';

/** The transport a socket uses: `websocket`, or `longpoll` where WebSockets cannot be opened. */
export type TransportKind = 'websocket' | 'longpoll';

/** A WebSocket that drops without a close code within this long of opening counts as one that failed to open (ms). */
const STABLE_MS = 5_000;

/** WebSockets in a row that failed to open before the socket falls back to long-poll. */
const FAILED_OPENS_BEFORE_FALLBACK = 2;

/** The same, once a WebSocket has worked on this socket. */
const FAILED_OPENS_AFTER_WORKING = 5;

/** While on long-poll, the first WebSocket probe comes this soon (ms). */
const FIRST_PROBE_MS = 5_000;

/**
 * @example
 * const choice = new TransportChoice(true, 60_000);
 * choice.ended(1006, null); choice.ended(1006, null);
 * choice.kind; // 'longpoll'
 */
export class TransportChoice {
  /** The transport of the next connection (and of the current one). */
  kind: TransportKind = 'websocket';
  /** WebSockets in a row that failed to open (or dropped right after), toward falling back to long-poll. */
  private failedOpens = 0;
  /** True once a WebSocket stayed open here: falling back then takes more failures, and no hanging timer. */
  private webSocketsWork = false;
  /** The wait before the next probe. */
  private probeDelay = FIRST_PROBE_MS;

  /** `fallback`: whether long-poll may be used at all (`longPollFallbackMs` not null). */
  constructor(private readonly fallback: boolean, private readonly webSocketRetryMs: number) {}

  /** Whether a WebSocket being opened should fall back to long-poll if it hangs. */
  get mayFallBack(): boolean {
    return this.fallback && this.kind === 'websocket' && !this.webSocketsWork;
  }

  /**
   * A connection ended with close `code`, `openFor` ms after it opened (null: it never opened). A
   * long-poll session that never opened sends the next attempt back to a WebSocket, so whichever gets
   * through first wins (a server that was down).
   */
  ended(code: number, openFor: number | null): void {
    if (!this.fallback) return;
    const lasted = openFor ?? 0;
    if (this.kind === 'websocket' && lasted >= STABLE_MS) this.webSocketsWork = true;
    const failed = code === CLOSE.abnormal && lasted < STABLE_MS;
    const threshold = this.webSocketsWork ? FAILED_OPENS_AFTER_WORKING : FAILED_OPENS_BEFORE_FALLBACK;
    if (this.kind === 'longpoll') {
      if (failed && openFor === null) {
        this.kind = 'websocket';
        this.failedOpens = threshold - 1;
      }
      return;
    }
    this.failedOpens = failed ? this.failedOpens + 1 : 0;
    if (this.failedOpens >= threshold) this.useLongPoll();
  }

  /** Long-poll from the next connection on. */
  useLongPoll(): void {
    this.kind = 'longpoll';
    this.failedOpens = 0;
    this.probeDelay = Math.min(FIRST_PROBE_MS, this.webSocketRetryMs);
  }

  /** A probe WebSocket opened: WebSockets from the next connection on. */
  useWebSocket(): void {
    this.kind = 'websocket';
    this.failedOpens = 0;
  }

  /** The wait before the next probe (each one twice the last, up to `webSocketRetryMs`). */
  nextProbeDelay(): number {
    const delay = this.probeDelay;
    this.probeDelay = Math.min(delay * 2, this.webSocketRetryMs);
    return delay;
  }
}
