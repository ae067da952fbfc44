/**
 * Outgoing frames of one WebSocket: queued as ready-made WebSocket bytes and
 * written once per event-loop turn, with a bound on what may wait; and the
 * per-server scheduler that writes every socket's queue at the end of the turn.
 *
 * Why: a broadcast to N members used to cost N `ws.send` calls, each one a
 * UTF-8 copy, a frame header, and a write system call. Here a frame's bytes
 * are built once however many sockets get it (`wire/frame.ts`, with its
 * WebSocket header written once, `websocket-frame.ts`), each socket's frames
 * of one turn leave in one write (`WriteScheduler.flushAll`, run from
 * `setImmediate`, so everything the I/O phase produced is coalesced), and a
 * socket whose peer stops reading has its owner closed with 4429 once its
 * unsent bytes pass `limit`, instead of growing without bound.
 *
 * Responsible for ordering (one queue per socket, written in order) and the
 * byte bound. Not responsible for how a socket closes (its owner does that),
 * for control frames (`ws` still writes pongs and the close frame itself),
 * or for anything a frame means. Kept small: one lives as long as its socket.
 */
import type { Duplex } from 'node:stream';
import type { WebSocket } from 'ws';
import { CLOSE } from '../../src/protocol';
import type { WireFrame } from '../wire/frame';
import { webSocketBytes } from './websocket-frame';

/** Queued bytes that make a socket write at once instead of at the end of the turn. */
const FLUSH_BYTES = 64 * 1024;

/**
 * Average frame size below which a turn's frames are copied into one buffer
 * before the write; larger frames go to the kernel as they are, in one
 * vectored write (copying them cost more than the write itself, measured
 * with 2 KB payloads; for 200-byte ones the copy is the cheaper of the two).
 */
const COPY_BELOW = 1024;

/** Who is closed when the socket goes over its limit: its connection. */
export interface OutboundOwner {
  close(code: number, reason: string): void;
}

/** Bits of `Outbound.flags`. */
const SCHEDULED = 1;
/** Over the limit: frames are dropped from then on. */
const OVERFLOWED = 2;
/** The owner was closed for it. */
const REPORTED = 4;
/** A reply is queued: the socket is written after those without one (see `flushAll`). */
const REPLIES = 8;

/** Flushes one socket; every other socket still gets its frames if it throws (the first failure is kept). */
function flushOne(outbound: Outbound, failure: unknown): unknown {
  try {
    outbound.flush();
  } catch (error) {
    return failure ?? error;
  }
  return failure;
}

/**
 * Writes the frames every socket of one server queued during an event-loop
 * turn, at the end of the turn: one per server, so two servers in one
 * process (a test's cluster) keep their own turns and hooks.
 *
 * @example
 * const scheduler = new WriteScheduler();
 * const remove = scheduler.beforeWrite(() => signer.flush());
 */
export class WriteScheduler {
  /** Outbounds with frames waiting, flushed together at the end of the turn. */
  private dirty: Outbound[] = [];
  private scheduled = false;
  /** Work that completes frames of this turn (batch signing), run before the turn's writes. */
  private readonly tasks = new Set<() => void>();

  /**
   * @param delayMs how long after the first frame queued the writes happen (`writeDelayMs`): 0 writes at
   * the end of the turn; more lets the frames of later turns join the same writes.
   */
  constructor(private readonly delayMs = 0) {}

  /**
   * Runs `task` at the end of every turn, before that turn's frames are
   * written, so frames it releases (broadcasts waiting for their batch
   * signature) leave in the same write as the rest instead of one turn later.
   * Returns the function that removes it.
   */
  beforeWrite(task: () => void): () => void {
    this.tasks.add(task);
    return () => this.tasks.delete(task);
  }

  /** Marks a socket's queue to be written at the end of this turn. */
  schedule(outbound: Outbound): void {
    this.dirty.push(outbound);
    if (this.scheduled) return;
    this.scheduled = true;
    if (this.delayMs > 0) setTimeout(this.flushAll, this.delayMs);
    else setImmediate(this.flushAll);
  }

  private readonly flushAll = (): void => {
    let failure: unknown;
    // Still marked scheduled while the tasks run: what they send joins this flush. A task that throws
    // must not keep the turn's frames from being written.
    for (const task of this.tasks) {
      try {
        task();
      } catch (error) {
        failure ??= error;
      }
    }
    this.scheduled = false;
    const batch = this.dirty;
    this.dirty = [];
    // Overflowed sockets are closed only here, never from inside a send: closing runs application
    // callbacks (terminate) that may broadcast, and a broadcast nested in another one's fan-out
    // would reach the remaining members before the one being delivered.
    // Sockets carrying a reply go last: an acknowledgement leaves only after the broadcast it
    // acknowledges was handed to the OS for every other member here. A crash between the two writes
    // then leaves the message unacknowledged (its sender sends it again, deduplicated by id) rather
    // than acknowledged and undelivered, with no history left to recover it from. (A socket that
    // queues 64 KiB in one turn still writes at once, reply or not: holding a large join replay back
    // could push it over its limit.)
    const replying: Outbound[] = [];
    for (const outbound of batch) {
      if (outbound.replying) replying.push(outbound);
      else failure = flushOne(outbound, failure);
    }
    for (const outbound of replying) failure = flushOne(outbound, failure);
    if (failure !== undefined) throw failure;
  };
}

/**
 * @example
 * const out = new Outbound(ws, request.socket, 4 * 1024 * 1024, connection, scheduler);
 * out.send(textFrame('[null,null,"room:a","msg",{}]')); // written with everything else at the end of this turn
 */
export class Outbound {
  private queue: Buffer[] | null = null;
  private queued = 0;
  private flags = 0;
  private readonly ws: WebSocket;
  private readonly socket: Duplex;
  private readonly limit: number;
  private readonly owner: OutboundOwner;
  private readonly scheduler: WriteScheduler;

  /**
   * @param socket the upgraded socket under `ws` (`request.socket`): frames are written to it directly.
   * @param owner closed with 4429 at the end of the turn in which the socket went over `limit`.
   */
  constructor(ws: WebSocket, socket: Duplex, limit: number, owner: OutboundOwner, scheduler: WriteScheduler) {
    this.ws = ws;
    this.socket = socket;
    this.limit = limit;
    this.owner = owner;
    this.scheduler = scheduler;
  }

  /** True when a reply is queued this turn. */
  get replying(): boolean {
    return (this.flags & REPLIES) !== 0;
  }

  /** Bytes waiting: queued this turn plus what the socket could not hand to the OS yet. */
  get pendingBytes(): number {
    return this.queued + this.socket.writableLength;
  }

  /**
   * Queues one frame; after an overflow, frames are dropped (the socket is about to close). A frame
   * larger than the limit still goes out when nothing else waits: the bound is on backlog.
   */
  send(wire: WireFrame, reply = false): void {
    if (this.flags & OVERFLOWED) return;
    if (reply) this.flags |= REPLIES;
    const frame = webSocketBytes(wire);
    const pending = this.queued + this.socket.writableLength;
    if (pending > 0 && pending + frame.length > this.limit) return this.overflow();
    if (this.queue === null) this.queue = [frame];
    else this.queue.push(frame);
    this.queued += frame.length;
    if (this.queued >= FLUSH_BYTES) this.write();
    this.schedule();
  }

  /** Writes what is queued now, in one write. */
  flush(): void {
    this.flags &= ~(SCHEDULED | REPLIES);
    if (!(this.flags & OVERFLOWED)) return this.write();
    if (this.flags & REPORTED) return;
    this.flags |= REPORTED;
    this.owner.close(CLOSE.slowConsumer, 'slow consumer');
  }

  /** Drops what is queued (the socket closed under us). */
  discard(): void {
    this.queue = null;
    this.queued = 0;
  }

  private write(): void {
    const queue = this.queue;
    if (queue === null) return;
    this.queue = null;
    const bytes = this.queued;
    this.queued = 0;
    // Once the close handshake began, no data frame may follow the close frame.
    if (this.ws.readyState !== this.ws.OPEN || this.socket.destroyed) return;
    if (this.socket.writableLength > 0) {
      // The socket is behind: what it is given now waits in memory until its peer reads. Copied out
      // of the shared slabs, so a stalled reader holds its own bytes (bounded by the limit), not a
      // 64 KB slab for every small frame it has not read.
      this.socket.write(Buffer.concat(queue, bytes));
    } else if (queue.length === 1) {
      this.socket.write(queue[0] as Buffer);
    } else if (bytes < queue.length * COPY_BELOW) {
      this.socket.write(Buffer.concat(queue, bytes));
    } else {
      this.socket.cork();
      for (const frame of queue) this.socket.write(frame);
      this.socket.uncork();
    }
  }

  private overflow(): void {
    this.flags |= OVERFLOWED;
    this.discard();
    this.schedule();
  }

  private schedule(): void {
    if (this.flags & SCHEDULED) return;
    this.flags |= SCHEDULED;
    this.scheduler.schedule(this);
  }
}
