/**
 * Server options, with every default in one place.
 */
import { MAX_PAYLOAD_DEPTH } from '../src/protocol';
import type { PubSub } from './pubsub/pubsub';
import type { History } from './engine/memory/history';
import type { MeshSettings } from './mesh/registry';
import { DEFAULT_PRESENCE_LIMITS, type PresenceLimits } from './presence/limits';
import type { Logger } from './log';

/** Options for `new PlumeServer(options)`. Every field is optional. */
export interface ServerOptions {
  /** Socket mount path; the WebSocket endpoint is `${path}/websocket`. Default `"/socket"`. */
  path?: string;
  /**
   * HMAC secret for tokens. When unset the server runs in **dev mode**: no
   * tokens, and the `name` connect param is the identity. Default: unset
   * (`PLUME_SECRET` in the CLI).
   */
  secret?: string;
  /**
   * Origins allowed to open sockets besides the server's own origin, such as
   * `"https://app.example.com"`; `"*"` allows any. Requests with no Origin
   * header (non-browser clients) are always allowed. Default `[]`.
   */
  allowedOrigins?: string[];
  /** Close a socket that sent nothing for this long (close code 4408). Default 60000. */
  heartbeatTimeoutMs?: number;
  /** Largest frame accepted for handling; larger ones get `payload too large`. Default 65536. */
  maxPayloadBytes?: number;
  /** Largest frame read at all; larger ones close the socket with 1009. Default 1048576. */
  maxFrameBytes?: number;
  /**
   * Deepest nesting of arrays and objects in a frame's payload (`{}` is 1); deeper ones get
   * `payload too deep` before any handler sees them. Default 32.
   */
  maxPayloadDepth?: number;
  /** Channels one socket may have joined at once. Default 100. */
  maxChannelsPerSocket?: number;
  /**
   * Outgoing bytes one socket may have waiting (queued, or not yet taken by
   * the OS) before it counts as a slow consumer and is closed with 4429. Its
   * frames are dropped from then on; the client recovers them from history
   * when it reconnects. A single larger frame still goes out when nothing
   * else waits. Default 4194304 (4 MiB): room for a burst of 64
   * maximum-size payloads, while a stalled socket cannot hold more.
   */
  maxBufferedBytes?: number;
  /** Register the default relay channel on `room:*` (see `relay.ts`). Default true. */
  relay?: boolean;
  /** Serve this folder's files over HTTP (for a built app). Default: none. */
  staticDir?: string;
  /** The PubSub to broadcast through. Default: a new in-memory one. */
  pubsub?: PubSub;
  /** Assigns each broadcast its topic position and keeps history. Default: a new `MemoryHistory` with the limits below. */
  history?: History;
  /** Broadcasts kept per topic for recovery (memory history). Default 1000. */
  historyLimit?: number;
  /** Age after which a kept broadcast is dropped, in ms (memory history). Default 3600000 (one hour). */
  historyMaxAgeMs?: number;
  /**
   * Payload bytes kept across all topics (memory history): beyond it, the oldest broadcasts of any
   * topic are dropped first, and the server logs a warning at most once a minute. Default 268435456 (256 MiB).
   */
  historyMaxBytes?: number;
  /** Most entries one `plume:history` answer carries. Default 500. */
  historyPageSize?: number;
  /** How long the server remembers a client message id to apply it at most once, in ms. Default 86400000 (24 h). */
  dedupeWindowMs?: number;
  /** Most message ids remembered at once. Default 100000. */
  dedupeMaxEntries?: number;
  /** How long the presences of a dropped socket stay, so a quick reconnect shows no leave (ms). Default 10000. */
  presenceGraceMs?: number;
  /** Presence changes within this interval go out as one `presence_diff` per topic (ms); 0 sends each at once. Default 50. */
  presenceCoalesceMs?: number;
  /**
   * Most metas one key (user) may have in one topic; a join that would track
   * one more is refused with `presence limit`. Default 128 (the benchmark
   * joins 100 sockets of one user to each room).
   */
  presenceMaxMetasPerKey?: number;
  /** Most metas one topic may hold; a join that would track one more is refused with `presence limit`. Default 10000. */
  presenceMaxPerTopic?: number;
  /**
   * Largest size, as JSON in UTF-8 bytes, of a meta's server fields (`track`, `update`; too large
   * refuses the join) and of its client fields (`plume:presence`; too large is answered
   * `presence fields too large`), each. Default 2048.
   */
  presenceMaxMetaBytes?: number;
  /**
   * Peer-assisted fan-out (PROTOCOL.md §10): Plume clients that ask to mesh
   * relay signed broadcasts to each other. `false` turns it off; an object
   * tunes it. Default on, `{ degree: 4, maxChildren: 4, maxDepth: 3, minRelayed: 4 }`.
   *
   * `minRelayed`: the fewest members a room's plan must reach through peers
   * for the room to relay at all. Below it every member gets broadcasts
   * from the server and nothing is signed: signing every broadcast costs
   * the server more than the frame or two that relaying to a member or two
   * saves it (README, Performance). Links stay up either way, for
   * ephemeral events. 1 relays as soon as any member can be reached
   * through a peer.
   *
   * Signalling (`plume:signal`, PROTOCOL.md §10) is capped so that no member
   * can flood another: `maxSignalBytes` (default 16384) bounds one signal
   * (its `signal` as JSON); each signal costs its size plus 256 bytes from
   * two token buckets, its sender's and its target's, each holding up to
   * `signalBurstBytes` (default 131072) and refilled at
   * `signalBytesPerSecond` (default 16384). A signal is also refused while
   * its target has more than half of `maxBufferedBytes` waiting.
   */
  mesh?: boolean | { degree?: number; maxChildren?: number; maxDepth?: number; minRelayed?: number; maxSignalBytes?: number; signalBurstBytes?: number; signalBytesPerSecond?: number };
  /** Where the server logs; `false` for silence. Default: console. */
  logger?: Logger | false;
}

/** Options with defaults applied. */
export interface ResolvedOptions {
  path: string;
  secret: string | undefined;
  allowedOrigins: string[];
  heartbeatTimeoutMs: number;
  maxPayloadBytes: number;
  maxFrameBytes: number;
  maxPayloadDepth: number;
  maxChannelsPerSocket: number;
  maxBufferedBytes: number;
  relay: boolean;
  staticDir: string | undefined;
  historyLimit: number;
  historyMaxAgeMs: number;
  historyMaxBytes: number;
  historyPageSize: number;
  dedupeWindowMs: number;
  dedupeMaxEntries: number;
  presenceGraceMs: number;
  presenceCoalesceMs: number;
  presenceLimits: PresenceLimits;
  mesh: MeshSettings | null;
}

/** Default `mesh.minRelayed`: see `ServerOptions.mesh`. */
const MIN_RELAYED = 4;

function resolveMesh(option: ServerOptions['mesh'], maxBufferedBytes: number): MeshSettings | null {
  if (option === false) return null;
  const given = typeof option === 'object' ? option : {};
  const limits = {
    degree: given.degree ?? 4, maxChildren: given.maxChildren ?? 4, maxDepth: given.maxDepth ?? 3, minRelayed: given.minRelayed ?? MIN_RELAYED, debounceMs: 50,
    maxSignalBytes: given.maxSignalBytes ?? 16 * 1024, signalBurstBytes: given.signalBurstBytes ?? 128 * 1024, signalBytesPerSecond: given.signalBytesPerSecond ?? 16 * 1024,
    // Signalling may fill at most half of what a socket may have waiting: broadcasts keep the rest.
    signalBacklogBytes: maxBufferedBytes / 2,
  };
  for (const key of ['degree', 'maxChildren', 'maxDepth', 'minRelayed', 'maxSignalBytes', 'signalBurstBytes', 'signalBytesPerSecond'] as const) {
    if (!Number.isInteger(limits[key]) || limits[key] < 1) throw new Error(`mesh.${key} must be a positive integer, got ${String(given[key])}`);
  }
  return limits;
}

/** Applies defaults and rejects nonsense with a message that says the fix. */
export function resolveOptions(options: ServerOptions): ResolvedOptions {
  const maxBufferedBytes = options.maxBufferedBytes ?? 4 * 1024 * 1024;
  const resolved: ResolvedOptions = {
    path: (options.path ?? '/socket').replace(/\/+$/, ''),
    secret: options.secret || undefined,
    allowedOrigins: options.allowedOrigins ?? [],
    heartbeatTimeoutMs: options.heartbeatTimeoutMs ?? 60_000,
    maxPayloadBytes: options.maxPayloadBytes ?? 64 * 1024,
    maxFrameBytes: options.maxFrameBytes ?? 1024 * 1024,
    maxPayloadDepth: options.maxPayloadDepth ?? MAX_PAYLOAD_DEPTH,
    maxChannelsPerSocket: options.maxChannelsPerSocket ?? 100,
    maxBufferedBytes,
    relay: options.relay ?? true,
    staticDir: options.staticDir,
    historyLimit: options.historyLimit ?? 1000,
    historyMaxAgeMs: options.historyMaxAgeMs ?? 3_600_000,
    historyMaxBytes: options.historyMaxBytes ?? 256 * 1024 * 1024,
    historyPageSize: options.historyPageSize ?? 500,
    dedupeWindowMs: options.dedupeWindowMs ?? 86_400_000,
    dedupeMaxEntries: options.dedupeMaxEntries ?? 100_000,
    presenceGraceMs: options.presenceGraceMs ?? 10_000,
    presenceCoalesceMs: options.presenceCoalesceMs ?? 50,
    presenceLimits: {
      maxMetasPerKey: options.presenceMaxMetasPerKey ?? DEFAULT_PRESENCE_LIMITS.maxMetasPerKey,
      maxPerTopic: options.presenceMaxPerTopic ?? DEFAULT_PRESENCE_LIMITS.maxPerTopic,
      maxMetaBytes: options.presenceMaxMetaBytes ?? DEFAULT_PRESENCE_LIMITS.maxMetaBytes,
    },
    mesh: resolveMesh(options.mesh, maxBufferedBytes),
  };
  if (!resolved.path.startsWith('/')) throw new Error(`path must start with "/", got "${options.path}"`);
  if (resolved.maxPayloadBytes > resolved.maxFrameBytes) {
    throw new Error('maxPayloadBytes must not exceed maxFrameBytes');
  }
  for (const key of ['heartbeatTimeoutMs', 'maxPayloadBytes', 'maxFrameBytes', 'maxPayloadDepth', 'maxChannelsPerSocket', 'maxBufferedBytes', 'historyMaxAgeMs', 'historyMaxBytes', 'historyPageSize', 'dedupeWindowMs', 'dedupeMaxEntries'] as const) {
    if (!(resolved[key] > 0)) throw new Error(`${key} must be a positive number, got ${String(options[key])}`);
  }
  if (!(resolved.historyLimit >= 0)) throw new Error(`historyLimit must be 0 or more, got ${String(options.historyLimit)}`);
  for (const [key, value] of [['presenceMaxMetasPerKey', resolved.presenceLimits.maxMetasPerKey], ['presenceMaxPerTopic', resolved.presenceLimits.maxPerTopic], ['presenceMaxMetaBytes', resolved.presenceLimits.maxMetaBytes]] as const) {
    if (!Number.isInteger(value) || value < 1) throw new Error(`${key} must be a positive integer, got ${String(options[key])}`);
  }
  for (const key of ['presenceGraceMs', 'presenceCoalesceMs'] as const) {
    if (!(resolved[key] >= 0)) throw new Error(`${key} must be 0 or more, got ${String(options[key])}`);
  }
  return resolved;
}
