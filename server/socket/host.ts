/**
 * What a connection needs of its server (`connection.ts`): narrow parts,
 * each for one concern, rather than the server itself, so a second
 * transport or a test wires a connection without one. The server builds
 * one host for all its connections (`server.ts`), and the socket registry
 * adds its own `removed` (`registry.ts`).
 *
 * Responsible for naming those parts. Not responsible for implementing them.
 */
import type { Payload } from '../../src/protocol';
import type { ChannelHandler } from '../channels/channel';
import type { ChannelInstance } from '../channels/instance';
import type { BroadcastLog, Position, StoredBroadcast } from '../engine/engine';
import type { RateLimits } from '../limits/rates';
import type { PublicKeyInfo } from '../mesh/signer';
import type { ServerCounters } from '../metrics/counters';
import type { FrameJson } from '../wire/frame-json';
import type { AtMostOnce } from './at-most-once';
import type { Connection } from './connection';
import type { Extensions } from './extensions';

/** The limits a connection enforces (from the server's options). */
export interface ConnectionLimits {
  readonly maxPayloadBytes: number;
  readonly maxPayloadDepth: number;
  readonly maxChannelsPerSocket: number;
  /** Most broadcasts a join replays. */
  readonly historyLimit: number;
  /** Most payload bytes one history page or join replay carries. */
  readonly historyPageBytes: number;
  /** The per-socket budgets (PROTOCOL.md §5, rate limits), or null when off. */
  readonly rateLimit: RateLimits | null;
}

/** Where a connection's channels get their handlers and their broadcasts (the server's router and fan-out). */
export interface ChannelServices {
  route(topic: string): ChannelHandler | undefined;
  /** Adds a joined channel to its topic's fan-out, holding broadcasts for it; resolves once live. */
  subscribe(instance: ChannelInstance): Promise<void>;
  unsubscribe(instance: ChannelInstance): void;
  replay(instance: ChannelInstance, epoch: string, entries: readonly StoredBroadcast[]): void;
  /** Sends a joined channel what was held for it after `(epoch, seq)`; from then on it is live. */
  release(instance: ChannelInstance, epoch: string | null, seq: number): void;
  broadcast(topic: string, event: string, payload: Payload | Uint8Array, options: { exclude?: string; id?: string; user: string }): Promise<Position>;
}

/**
 * What a connection needs from its server.
 * @example const connection = new Connection(transport, host, socketId, true, Date.now());
 */
export interface ConnectionHost {
  readonly limits: ConnectionLimits;
  readonly channels: ChannelServices;
  /** Order and history, for planning a join's replay. */
  readonly history: BroadcastLog;
  /** Applies message ids at most once. */
  readonly once: AtMostOnce;
  /** The handlers of `plume:*` events. */
  readonly extensions: Extensions;
  /** The mesh's public keys for a joining member that asked to mesh, or null when the mesh is off. */
  meshKeys(): PublicKeyInfo[] | null;
  /** The frame in hand while a push's handler runs (`wire/frame-json.ts`). */
  readonly frameJson: FrameJson;
  /** What the server counts (frames and bytes both ways, joins, ...), read by `/metrics`. */
  readonly counters: ServerCounters;
  reportError(error: unknown, context: string): void;
  /** The connection is gone. */
  removed(connection: Connection): void;
}
