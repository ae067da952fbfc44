/**
 * One WebRTC link to a room peer (simple-peer), carrying text messages of
 * any size (chunked to 16 KiB data channel messages).
 *
 * Responsible for the link's life: signalling in and out, up/down, a
 * connect deadline, and teardown. Not responsible for what the text means.
 */
import type SimplePeer from 'simple-peer';
import type { Clock, TimerHandle } from '../timer';
import { ChunkError, Reassembler, split, splitBytes } from './chunks';

/** The simple-peer constructor (the browser bundle, or the package in Node). */
export type SimplePeerConstructor = typeof SimplePeer;

export interface PeerLinkOptions {
  SimplePeer: SimplePeerConstructor;
  config: RTCConfiguration;
  /** Node only: a WebRTC implementation such as `@roamhq/wrtc`. */
  wrtc?: unknown;
  clock: Clock;
  connectTimeoutMs: number;
  onSignal(data: unknown): void;
  /** A whole message from the peer: JSON text, or bytes (a relayed broadcast of bytes). */
  onMessage(message: string | Uint8Array): void;
  onState(up: boolean): void;
  /** The peer sent what no honest peer sends (`chunks.ts`); the owner cuts and reports it. */
  onAbuse(reason: string): void;
}

let chunkKeys = 0;

export class PeerLink {
  readonly peer: string;
  private readonly sp: SimplePeer.Instance;
  private readonly reassembler: Reassembler;
  private up = false;
  private closed = false;
  private described = false;
  private deadline: TimerHandle | null;

  constructor(peer: string, initiator: boolean, private readonly options: PeerLinkOptions) {
    this.peer = peer;
    this.reassembler = new Reassembler(() => options.clock.now());
    this.sp = new options.SimplePeer({
      initiator,
      trickle: true,
      objectMode: true,
      config: options.config,
      ...(options.wrtc ? { wrtc: options.wrtc as SimplePeer.Options['wrtc'] } : {}),
    });
    this.sp.on('signal', (data: unknown) => options.onSignal(data));
    this.sp.on('connect', () => this.setUp(true));
    this.sp.on('data', (data: unknown) => this.received(data));
    this.sp.on('close', () => this.destroy());
    // A failed ICE or DTLS handshake surfaces here; the close that follows is where we act.
    this.sp.on('error', () => this.destroy());
    this.deadline = options.clock.setTimeout(() => !this.up && this.destroy(), options.connectTimeoutMs);
  }

  get isUp(): boolean {
    return this.up && !this.closed;
  }

  /** True once the peer's offer or answer was fed in (a second offer is then a new attempt, not this one). */
  get negotiated(): boolean {
    return this.described;
  }

  /** Feeds signalling data from the peer. */
  signal(data: unknown): void {
    if (this.closed) return;
    const type = (data as { type?: unknown } | null)?.type;
    if (type === 'offer' || type === 'answer') this.described = true;
    try {
      this.sp.signal(data as SimplePeer.SignalData);
    } catch {
      // Garbage signalling from a peer ends the link; nothing else depends on it.
      this.destroy();
    }
  }

  /**
   * Sends a text message; returns the bytes sent: 0 when the link is not up, or when the message is
   * longer than peers accept (MESH_MAX_MESSAGE: the receiver fetches it from history instead).
   */
  send(message: string | Uint8Array): number {
    const key = `${++chunkKeys}`;
    const parts = !this.isUp ? null : typeof message === 'string' ? split(message, key) : splitBytes(message, key);
    if (parts === null) return 0;
    let bytes = 0;
    try {
      for (const part of parts) {
        this.sp.send(part);
        bytes += part.length;
      }
    } catch {
      // The channel closed under us; the 'close' event tears the link down.
      return 0;
    }
    return bytes;
  }

  /** Ends the link; `onState(false)` follows even when it never came up, so its owner can drop it and retry. */
  destroy(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.deadline !== null) this.options.clock.clearTimeout(this.deadline);
    this.deadline = null;
    this.sp.destroy();
    this.up = false;
    this.options.onState(false);
  }

  private setUp(up: boolean): void {
    if (up && this.deadline !== null) this.options.clock.clearTimeout(this.deadline);
    this.deadline = null;
    if (this.up === up || (up && this.closed)) return;
    this.up = up;
    this.options.onState(up);
  }

  /** Text arrives as strings (object mode); bytes as a Uint8Array (a Buffer in Node). */
  private received(data: unknown): void {
    let whole: string | Uint8Array | null;
    try {
      whole = typeof data === 'string' ? this.reassembler.accept(data) : this.reassembler.acceptBytes(toBytes(data));
    } catch (error) {
      // A malformed or oversized chunk is a misbehaving peer: it is cut like any other.
      this.options.onAbuse(error instanceof ChunkError ? error.message : 'malformed chunk');
      return;
    }
    if (whole !== null) this.options.onMessage(whole);
  }
}

function toBytes(data: unknown): Uint8Array {
  if (data instanceof Uint8Array) return data;
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  throw new ChunkError('a data channel message that is neither text nor bytes');
}
