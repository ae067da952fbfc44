/**
 * A WebSocket tried on the side while a socket runs on long-poll: opened
 * after a delay, closed again at once whatever happens, and reported as
 * opened or not. The socket moves to WebSockets when one opened.
 *
 * Responsible for the probe's timers and for closing it. Not responsible
 * for when to probe or what to do after (`transport-choice.ts`, `socket.ts`).
 */
import type { WebSocketLike } from './options';
import { CLOSE } from './protocol';
import type { Clock, TimerHandle } from './timer';

/**
 * @example
 * const probe = new WebSocketProbe(clock, 10_000);
 * probe.schedule(5_000, async () => new WebSocket(url), (opened) => opened && moveToWebSocket());
 */
export class WebSocketProbe {
  private timer: TimerHandle | null = null;
  private probe: WebSocketLike | null = null;
  /** Counts schedules and cancels: an open that resolves after either is dropped. */
  private round = 0;

  constructor(private readonly clock: Clock, private readonly timeoutMs: number) {}

  /**
   * After `delayMs`, opens a WebSocket with `open` (null, or resolving to null: not now, and nothing
   * is reported) and reports whether it opened within the timeout. A failed `open` reports false.
   */
  schedule(delayMs: number, open: () => Promise<WebSocketLike | null> | null, settled: (opened: boolean) => void): void {
    this.cancel();
    const round = this.round;
    this.timer = this.clock.setTimeout(() => {
      this.timer = null;
      open()?.then(
        (probe) => {
          if (!probe) return;
          if (round !== this.round) return shut(probe);
          this.watch(probe, settled);
        },
        () => round === this.round && settled(false),
      );
    }, delayMs);
  }

  /** Stops a scheduled or running probe; nothing is reported. */
  cancel(): void {
    this.round++;
    if (this.timer !== null) this.clock.clearTimeout(this.timer);
    this.timer = null;
    const probe = this.probe;
    this.probe = null;
    if (probe) shut(probe);
  }

  private watch(probe: WebSocketLike, settled: (opened: boolean) => void): void {
    this.probe = probe;
    const end = (opened: boolean) => {
      this.clock.clearTimeout(giveUp);
      if (this.probe !== probe) return;
      this.probe = null;
      shut(probe);
      settled(opened);
    };
    const giveUp = this.clock.setTimeout(() => end(false), this.timeoutMs);
    probe.onopen = () => end(true);
    probe.onclose = () => end(false);
    probe.onerror = () => {};
  }
}

function shut(probe: WebSocketLike): void {
  probe.onopen = probe.onclose = null;
  try {
    probe.close(CLOSE.normal, 'probe');
  } catch {
    // Already closing: nothing to do.
  }
}
