/**
 * Fakes for driving the client's state machines in unit tests: a clock that
 * moves only when told, a transport whose sockets the test opens, feeds and
 * closes, and an environment whose network and visibility the test flips.
 */
import type { Environment, EnvironmentEvent } from '../src/environment';
import type { WebSocketLike } from '../src/options';
import type { Clock } from '../src/timer';

interface FakeTimer {
  id: number;
  at: number;
  callback: () => void;
}

export class FakeClock implements Clock {
  private time = 1_000_000;
  private timers: FakeTimer[] = [];
  private nextId = 1;

  now(): number {
    return this.time;
  }

  setTimeout(callback: () => void, ms: number): number {
    const timer = { id: this.nextId++, at: this.time + Math.max(0, ms), callback };
    this.timers.push(timer);
    return timer.id;
  }

  clearTimeout(handle: unknown): void {
    this.timers = this.timers.filter((t) => t.id !== handle);
  }

  /** Moves time forward, firing due timers in order (including ones they schedule). */
  advance(ms: number): void {
    const end = this.time + ms;
    for (;;) {
      const due = this.timers.filter((t) => t.at <= end).sort((a, b) => a.at - b.at || a.id - b.id)[0];
      if (!due) break;
      this.timers = this.timers.filter((t) => t !== due);
      this.time = due.at;
      due.callback();
    }
    this.time = end;
  }

  /** Delay until the next timer fires, or undefined. */
  nextDelay(): number | undefined {
    const at = Math.min(...this.timers.map((t) => t.at));
    return Number.isFinite(at) ? at - this.time : undefined;
  }

  get pendingTimers(): number {
    return this.timers.length;
  }
}

export class FakeWebSocket implements WebSocketLike {
  readyState = 0;
  onopen: ((event: unknown) => void) | null = null;
  onclose: ((event: { code: number; reason: string }) => void) | null = null;
  onmessage: ((event: { data: unknown }) => void) | null = null;
  onerror: ((event: unknown) => void) | null = null;
  readonly sent: unknown[][] = [];
  closedWith: { code?: number; reason?: string } | null = null;

  constructor(readonly url: string, readonly protocols?: string[]) {}

  send(data: string): void {
    if (this.readyState !== 1) throw new Error('FakeWebSocket: send while not open');
    this.sent.push(JSON.parse(data) as unknown[]);
  }

  close(code?: number, reason?: string): void {
    this.closedWith = { code, reason };
    this.readyState = 3;
  }

  /** The server accepts the connection. */
  open(): void {
    this.readyState = 1;
    this.onopen?.({});
  }

  /** The server sends a frame. */
  deliver(frame: unknown[]): void {
    this.onmessage?.({ data: JSON.stringify(frame) });
  }

  /** The connection ends (server close or network loss). */
  drop(code = 1006, reason = ''): void {
    this.readyState = 3;
    this.onclose?.({ code, reason });
  }

  /** The last frame sent whose event is `event`. */
  lastSent(event: string): unknown[] | undefined {
    return [...this.sent].reverse().find((f) => f[3] === event);
  }
}

export class FakeTransport {
  readonly sockets: FakeWebSocket[] = [];
  readonly factory = (url: string, protocols?: string[]): WebSocketLike => {
    const ws = new FakeWebSocket(url, protocols);
    this.sockets.push(ws);
    return ws;
  };

  get last(): FakeWebSocket {
    const ws = this.sockets[this.sockets.length - 1];
    if (!ws) throw new Error('no socket created yet');
    return ws;
  }
}

export class FakeEnvironment implements Environment {
  isOnline = true;
  isVisible = true;
  private readonly listeners = new Map<EnvironmentEvent, Set<() => void>>();

  online(): boolean {
    return this.isOnline;
  }

  visible(): boolean {
    return this.isVisible;
  }

  on(event: EnvironmentEvent, callback: () => void): () => void {
    let set = this.listeners.get(event);
    if (!set) this.listeners.set(event, (set = new Set()));
    set.add(callback);
    return () => set.delete(callback);
  }

  emit(event: EnvironmentEvent): void {
    if (event === 'online' || event === 'offline') this.isOnline = event === 'online';
    else this.isVisible = event === 'visible';
    for (const callback of this.listeners.get(event) ?? []) callback();
  }
}

/** Lets pending promise callbacks run (the token is resolved through a promise). */
export async function flushMicrotasks(): Promise<void> {
  for (let i = 0; i < 5; i++) await Promise.resolve();
}
