/**
 * The order in which one socket's frames are handled, and when it is read:
 * at most `FRAMES_PER_TURN` frames per turn of the event loop, and not at
 * all while a frame waits for the socket's rate (PROTOCOL.md §5).
 *
 * Node reads up to 32 chunks of 64 KiB from a busy socket in one go, and
 * `ws` emits every frame in them at once: 2 MiB of heartbeats is about
 * 45,000 frames, which held the loop for 100–180 ms here while every other
 * socket waited. So past its share a socket stops reading, the rest of the
 * chunk in hand waits in a queue, and both go on at the next turn, after
 * the other sockets had theirs. A frame the handler says must wait (the
 * socket is past its rate) stays at the head of the queue, and reading
 * stops until it is handled: the sender meets TCP's backpressure, and no
 * frame ever overtakes another.
 *
 * Not responsible for any limit: it pauses, queues and resumes.
 */

/** Frames of one socket handled before it yields the event loop for a turn. */
export const FRAMES_PER_TURN = 256;

/** What fair reading needs of a socket: `ws`'s `pause()` and `resume()`. */
export interface Pausable {
  pause(): void;
  resume(): void;
}

/**
 * @example
 * const share = new FairShare<Buffer>(ws, (data) => (overRate ? msToWait : handle(data)));
 * ws.on('message', (data) => share.push(data));
 */
export class FairShare<T> {
  /** Frames handled since the socket last yielded. */
  private frames = 0;
  /** Frames waiting their turn, oldest at `head`; null while none waits (most sockets, most of the time). */
  private queue: T[] | null = null;
  private head = 0;
  /** Not reading: yielding a turn, or a frame waits for the rate. */
  private blocked = false;
  /** Reading stopped for good (`hold`). */
  private held = false;

  /**
   * `handle` handles a frame, or returns how many milliseconds it must wait (it is then offered again,
   * before any later frame).
   */
  constructor(
    private readonly socket: Pausable,
    private readonly handle: (frame: T) => number | void,
    private readonly perTurn = FRAMES_PER_TURN,
  ) {}

  /** A frame arrived: handled now, or later after the ones before it. */
  push(frame: T): void {
    if (this.held) return;
    if (this.queue) return void this.queue.push(frame);
    this.queue = [frame];
    if (!this.blocked) this.drain();
  }

  /** Stops reading the socket for good, dropping what waits (a flooder being closed: what it still sends is never read). */
  hold(): void {
    this.held = true;
    this.queue = null;
    this.head = 0;
    this.socket.pause();
  }

  private drain(): void {
    let queue = this.queue;
    while (queue && !this.blocked && !this.held && this.head < queue.length) {
      const wait = this.handle(queue[this.head] as T) ?? 0;
      queue = this.queue; // `handle` may have held the socket (dropping the queue)
      if (!queue || this.held) return;
      if (wait > 0) return this.block(wait);
      queue[this.head++] = undefined as T; // let it go once handled
      if (++this.frames >= this.perTurn) {
        this.frames = 0;
        this.block(0);
      }
    }
    if (queue && this.head === queue.length) {
      this.queue = null;
      this.head = 0;
    }
  }

  /** Stops reading for `ms` (0: until the next turn), then handles what waits and reads on. */
  private block(ms: number): void {
    this.blocked = true;
    this.socket.pause();
    const go = () => {
      this.blocked = false;
      if (this.held) return;
      this.drain();
      // Both are no-ops on a socket that closed meanwhile.
      if (!this.blocked && !this.held) this.socket.resume();
    };
    if (ms > 0) setTimeout(go, ms).unref();
    else setImmediate(go);
  }
}
