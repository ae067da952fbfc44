/**
 * Server options, with every default in one place.
 */
import { MAX_PAYLOAD_DEPTH } from '../src/protocol';
import { randomUUID } from 'node:crypto';
import type { EngineFactory, EngineLimits } from './engine/engine';
import { resolveDocumentOptions, type DocumentOptions, type ResolvedDocumentOptions } from './docs/options';
import type { MeshSettings } from './mesh/registry';
import { DEFAULT_PRESENCE_LIMITS, type PresenceLimits } from './presence/limits';
import type { Logger } from './log';
import type { PublicKeyInput, VerifierOptions } from './auth/verifier';
import type { RelayOptions } from './channels/relay';
import { normalizeOrigins } from './auth/origin';
import { resolveOps, type OpsOptions, type OpsSettings } from './http/settings';
import { DEFAULT_HISTORY_PAGE_BYTES, DEFAULT_RATE_LIMITS, type RateLimits } from './limits/rates';

/**
 * Options for `new PlumeServer(options)`. Every field is optional. The HTTP API's and metrics'
 * (`apiKey`, `apiMaxBodyBytes`, `apiRateLimit`, `metrics`, `metricsPort`, `metricsHost`) are in `http/settings.ts`.
 */
export interface ServerOptions extends OpsOptions {
  /** Socket mount path; the WebSocket endpoint is `${path}/websocket`. Default `"/socket"`. */
  path?: string;
  /**
   * HMAC secret for HS256 tokens. With none of `secret`, `publicKey` and
   * `jwksUrl` the server runs in **dev mode**: no tokens, and the `name`
   * connect param is the identity; it then listens only on a loopback
   * address unless `dev` is true. Default: unset (`PLUME_SECRET` in the CLI).
   */
  secret?: string;
  /**
   * Public key(s) for RS256, ES256 (P-256) and EdDSA (Ed25519) tokens: PEM
   * text, a JWK, a Node `KeyObject`, or a list of them (a token verifies if
   * one of them verifies it; JWKs with a `kid` are matched by `kid`).
   * Default: unset.
   */
  publicKey?: PublicKeyInput | PublicKeyInput[];
  /**
   * URL of a JWK Set (an identity provider's `jwks_uri`) for RS256, ES256
   * and EdDSA tokens: fetched when first needed, cached for
   * `jwksCacheMaxAgeMs`, and fetched again for a token whose `kid` it does
   * not hold (at most once per `jwksCooldownMs`), so rotated keys are
   * picked up without a restart. Default: unset.
   */
  jwksUrl?: string;
  /** Tokens must carry this `iss` (or one of these). Default: `iss` is not checked. */
  issuer?: string | string[];
  /** Tokens must carry this `aud` (or one of these). Default: `aud` is not checked. */
  audience?: string | string[];
  /** Leeway for `exp` and `nbf` between the token issuer's clock and the server's, in seconds. Default 5. */
  clockToleranceSec?: number;
  /** Least time between two fetches of the JWK Set for a `kid` it did not hold (ms). Default 30000. */
  jwksCooldownMs?: number;
  /** How long a fetched JWK Set is used before it is fetched again (ms). Default 600000 (10 minutes). */
  jwksCacheMaxAgeMs?: number;
  /**
   * Accept a token in the `token` query param as well as in the
   * `Sec-WebSocket-Protocol` header. URLs end up in access logs and browser
   * history, so by default a query token is refused with 4401. Default false.
   */
  allowQueryToken?: boolean;
  /**
   * Run in dev mode (no authentication) even on an address that is not
   * loopback. Without it, a server with no `secret`, `publicKey` or
   * `jwksUrl` refuses to listen anywhere but 127.0.0.0/8, ::1 or localhost.
   * Default false.
   */
  dev?: boolean;
  /**
   * Browser origins allowed to open sockets, with their scheme, such as
   * `"https://app.example.com"`; `"*"` allows any. The request's own Host
   * header is never trusted (DNS rebinding). Requests with no Origin header
   * (non-browser clients) are always allowed; in dev mode a page on the
   * same loopback origin (`http://127.0.0.1:5173` asking `127.0.0.1:5173`,
   * as through Vite's proxy) is too. Default `[]`.
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
   * Per-socket rate limits (PROTOCOL.md §5, rate limits): token buckets, each a rate per second and a
   * burst. A frame past `framesPerSecond`/`frameBurst` (default 5000/10000) or
   * `bytesPerSecond`/`byteBurst` (default 16 MiB/32 MiB) is held back, not refused: the socket is
   * not read until both buckets hold a tenth of their burst, then its frames are handled in order; a
   * socket that stays throttled for `maxThrottleMs` (default 10000) is closed with 4420. A `phx_join`
   * past `joinsPerSecond`/`joinBurst` (default 20/200) is answered `rate limited`. History served
   * (`plume:history` pages, 1 KiB each plus their payloads, and join replays) draws from
   * `historyBytesPerSecond`/`historyBurstBytes` (default 1 MiB/4 MiB); while it is spent a
   * `plume:history` request is answered `rate limited` and a join replays one entry. The defaults
   * stop floods, not busy publishers: the benchmarks never meet them. `false` turns them all off.
   * Default on, with those values; an object overrides some of them.
   */
  rateLimit?: false | Partial<RateLimits>;
  /**
   * Sockets this server holds at once; an upgrade past it is answered HTTP 503 before a socket
   * exists. Default 100000.
   */
  maxConnections?: number;
  /**
   * Sockets one remote address may hold at once (the TCP peer's address: behind a proxy, the
   * proxy's); an upgrade past it is answered HTTP 429. Off by default (0): proxies and NATs put many
   * users behind one address, and a load test opens thousands of sockets from one. Default 0.
   */
  maxConnectionsPerIp?: number;
  /**
   * Outgoing bytes one socket may have waiting (queued, or not yet taken by
   * the OS) before it counts as a slow consumer and is closed with 4429. Its
   * frames are dropped from then on; the client recovers them from history
   * when it reconnects. A single larger frame still goes out when nothing
   * else waits. Default 4194304 (4 MiB): room for a burst of 64
   * maximum-size payloads, while a stalled socket cannot hold more.
   */
  maxBufferedBytes?: number;
  /**
   * Phoenix's long-poll transport at `${path}/longpoll` (PROTOCOL.md §1,
   * Long-poll), for clients whose network blocks WebSockets: phoenix.js's
   * `LongPoll` and the Plume client's fallback. Sessions live on the node
   * that opened them (behind several nodes, a load balancer keeps a session
   * on one). Default true.
   */
  longPoll?: boolean;
  /** How long a long-poll request waits for frames before it is answered empty; a session with no request for twice this long ends. Default 10000. */
  longPollWindowMs?: number;
  /**
   * How long a WebSocket's frames may wait to be written together (ms), as Centrifugo's `write_delay`:
   * frames are written at the end of each event-loop turn (0, the default), or at most this much later,
   * so that broadcasts made in different turns leave in one write. Fewer system calls per delivery
   * (a room edited at 100 keystrokes a second: bench/yjs) for this much latency at most. 0 to 1000.
   */
  writeDelayMs?: number;
  /**
   * The default relay channel on `room:*` (see `channels/relay.ts`): `false`
   * leaves it out; `{ join }` sets the hook that decides who joins which
   * room. With authentication and no hook, a join is allowed only to the
   * rooms the token's `rooms` claim lists; every pushed message gets
   * `from: { id, name }` from the token. Default true.
   */
  relay?: boolean | RelayOptions;
  /** Serve this folder's files over HTTP (for a built app). Default: none. */
  staticDir?: string;
  /**
   * Where order, history, dedupe and the bus between nodes live: `memoryEngine()` (this process;
   * nothing survives a restart) or `redisEngine({ url })` (several nodes and restarts). Default `memoryEngine()`.
   */
  engine?: EngineFactory;
  /** This node's name, unique among the nodes of a cluster. Default: `node-` and a random id. */
  nodeId?: string;
  /** Broadcasts kept per topic for recovery. Default 1000. */
  historyLimit?: number;
  /**
   * Age after which a kept broadcast is dropped, in ms; a topic with nothing kept for this long is
   * forgotten (a client recovering it later is told `recovered: false`). Default 3600000 (one hour).
   */
  historyMaxAgeMs?: number;
  /**
   * Bytes of history kept across all topics (memory engine), counting each broadcast's payload, event
   * and id plus 96 bytes of bookkeeping: beyond it, the oldest broadcasts of any topic are dropped
   * first, and the server logs a warning at most once a minute. Default 268435456 (256 MiB).
   */
  historyMaxBytes?: number;
  /** Bytes of history one topic may keep, counted the same way; beyond it its own oldest go. Default `historyMaxBytes / 16` (16 MiB). */
  historyMaxBytesPerTopic?: number;
  /**
   * Bytes of history the broadcasts of one user may take (across topics with the memory engine, per
   * topic with Redis): a broadcast beyond it is refused with `history quota exceeded`, so one user
   * cannot push everyone else's history out. Broadcasts by server code are not counted. Default `historyMaxBytes / 16` (16 MiB).
   */
  historyMaxBytesPerUser?: number;
  /** Most entries one `plume:history` answer carries. Default 500. */
  historyPageSize?: number;
  /**
   * Most payload bytes one `plume:history` answer or join replay carries (at least one entry), and
   * never more than half of `maxBufferedBytes`: building a page holds the event loop, so smaller
   * pages keep other sockets' round trips short. Default 262144 (256 KiB).
   */
  historyPageBytes?: number;
  /** How long the server remembers a client message id to apply it at most once, in ms. Default 86400000 (24 h). */
  dedupeWindowMs?: number;
  /** Most message ids remembered at once, across users (the oldest go first beyond it, logged). Default 200000. */
  dedupeMaxEntries?: number;
  /**
   * Most message ids remembered for one user: beyond it that user's own oldest ids are forgotten
   * (shortening its window only), never another user's. Default 10000.
   */
  dedupeMaxPerUser?: number;
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
  /**
   * Shared documents (Yjs, PROTOCOL.md §11): one per topic, synced over `plume:doc` and the y-websocket
   * endpoint `/yjs/<room>`. `false` turns them off; an object sets who may edit, the app's load/store
   * hooks and the size limit (`docs/options.ts`). Default on, every member may edit.
   */
  documents?: DocumentOptions | false;
  /** Where the server logs; `false` for silence. Default: console. */
  logger?: Logger | false;
}

/** Options with defaults applied. */
export interface ResolvedOptions extends EngineLimits {
  nodeId: string;
  path: string;
  secret: string | undefined;
  /** What tokens are verified against, or null in dev mode. */
  auth: VerifierOptions | null;
  allowQueryToken: boolean;
  dev: boolean;
  /** Normalized origins (`scheme://host[:port]`), or `["*"]`. */
  allowedOrigins: string[];
  heartbeatTimeoutMs: number;
  maxPayloadBytes: number;
  maxFrameBytes: number;
  maxPayloadDepth: number;
  maxChannelsPerSocket: number;
  maxBufferedBytes: number;
  longPoll: boolean;
  longPollWindowMs: number;
  writeDelayMs: number;
  /** The per-socket budgets, or null when `rateLimit: false`. */
  rateLimit: RateLimits | null;
  maxConnections: number;
  /** 0: no limit per address. */
  maxConnectionsPerIp: number;
  relay: boolean;
  /** The relay channel's join hook, if any. */
  relayJoin: RelayOptions['join'];
  staticDir: string | undefined;
  historyPageSize: number;
  /** The page cap in effect: `historyPageBytes`, at most half of `maxBufferedBytes`. */
  historyPageBytes: number;
  presenceGraceMs: number;
  presenceCoalesceMs: number;
  presenceLimits: PresenceLimits;
  mesh: MeshSettings | null;
  documents: ResolvedDocumentOptions | null;
  /** The HTTP API and `/metrics`. */
  ops: OpsSettings;
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

function resolveRateLimit(option: ServerOptions['rateLimit'], maxFrameBytes: number): RateLimits | null {
  if (option === false) return null;
  const limits: RateLimits = { ...DEFAULT_RATE_LIMITS, ...(typeof option === 'object' ? option : {}) };
  for (const key of Object.keys(DEFAULT_RATE_LIMITS) as Array<keyof RateLimits>) {
    if (!(limits[key] > 0) || !Number.isFinite(limits[key])) throw new Error(`rateLimit.${key} must be a positive number, got ${String(limits[key])}`);
  }
  if (limits.frameBurst < 1) throw new Error(`rateLimit.frameBurst must be at least 1, got ${limits.frameBurst}`);
  if (limits.joinBurst < 1) throw new Error(`rateLimit.joinBurst must be at least 1, got ${limits.joinBurst}`);
  // A frame the server reads at all must be able to pass the byte bucket.
  if (limits.byteBurst < maxFrameBytes) throw new Error(`rateLimit.byteBurst (${limits.byteBurst}) must be at least maxFrameBytes (${maxFrameBytes}): raise it or lower maxFrameBytes`);
  return limits;
}

/** The verifier's options, or null when nothing to verify against is configured (dev mode). */
function resolveAuth(options: ServerOptions): VerifierOptions | null {
  const { secret, publicKey, jwksUrl } = options;
  const hasKey = Array.isArray(publicKey) ? publicKey.length > 0 : publicKey !== undefined && publicKey !== '';
  if (!secret && !hasKey && !jwksUrl) {
    for (const key of ['issuer', 'audience'] as const) {
      if (options[key] !== undefined) throw new Error(`${key} is set but there is nothing to verify tokens with: set secret, publicKey or jwksUrl`);
    }
    return null;
  }
  return {
    secret: secret || undefined,
    publicKey: hasKey ? publicKey : undefined,
    jwksUrl: jwksUrl || undefined,
    issuer: options.issuer,
    audience: options.audience,
    clockToleranceSec: options.clockToleranceSec ?? 5,
    jwksCooldownMs: options.jwksCooldownMs ?? 30_000,
    jwksCacheMaxAgeMs: options.jwksCacheMaxAgeMs ?? 600_000,
  };
}

/** Applies defaults and rejects nonsense with a message that says the fix. */
export function resolveOptions(options: ServerOptions): ResolvedOptions {
  const maxBufferedBytes = options.maxBufferedBytes ?? 4 * 1024 * 1024;
  const resolved: ResolvedOptions = {
    nodeId: options.nodeId ?? `node-${randomUUID().slice(0, 8)}`,
    path: (options.path ?? '/socket').replace(/\/+$/, ''),
    secret: options.secret || undefined,
    auth: resolveAuth(options),
    allowQueryToken: options.allowQueryToken ?? false,
    dev: options.dev ?? false,
    allowedOrigins: normalizeOrigins(options.allowedOrigins ?? []),
    heartbeatTimeoutMs: options.heartbeatTimeoutMs ?? 60_000,
    maxPayloadBytes: options.maxPayloadBytes ?? 64 * 1024,
    maxFrameBytes: options.maxFrameBytes ?? 1024 * 1024,
    maxPayloadDepth: options.maxPayloadDepth ?? MAX_PAYLOAD_DEPTH,
    maxChannelsPerSocket: options.maxChannelsPerSocket ?? 100,
    maxBufferedBytes,
    longPoll: options.longPoll ?? true,
    longPollWindowMs: options.longPollWindowMs ?? 10_000,
    writeDelayMs: options.writeDelayMs ?? 0,
    rateLimit: resolveRateLimit(options.rateLimit, options.maxFrameBytes ?? 1024 * 1024),
    maxConnections: options.maxConnections ?? 100_000,
    maxConnectionsPerIp: options.maxConnectionsPerIp ?? 0,
    relay: options.relay !== false,
    relayJoin: typeof options.relay === 'object' ? options.relay.join : undefined,
    staticDir: options.staticDir,
    historyLimit: options.historyLimit ?? 1000,
    historyMaxAgeMs: options.historyMaxAgeMs ?? 3_600_000,
    historyMaxBytes: options.historyMaxBytes ?? 256 * 1024 * 1024,
    historyMaxBytesPerTopic: options.historyMaxBytesPerTopic ?? (options.historyMaxBytes ?? 256 * 1024 * 1024) / 16,
    historyMaxBytesPerUser: options.historyMaxBytesPerUser ?? (options.historyMaxBytes ?? 256 * 1024 * 1024) / 16,
    historyPageSize: options.historyPageSize ?? 500,
    historyPageBytes: Math.min(options.historyPageBytes ?? DEFAULT_HISTORY_PAGE_BYTES, maxBufferedBytes / 2),
    dedupeWindowMs: options.dedupeWindowMs ?? 86_400_000,
    dedupeMaxEntries: options.dedupeMaxEntries ?? 200_000,
    dedupeMaxPerUser: options.dedupeMaxPerUser ?? 10_000,
    presenceGraceMs: options.presenceGraceMs ?? 10_000,
    presenceCoalesceMs: options.presenceCoalesceMs ?? 50,
    presenceLimits: {
      maxMetasPerKey: options.presenceMaxMetasPerKey ?? DEFAULT_PRESENCE_LIMITS.maxMetasPerKey,
      maxPerTopic: options.presenceMaxPerTopic ?? DEFAULT_PRESENCE_LIMITS.maxPerTopic,
      maxMetaBytes: options.presenceMaxMetaBytes ?? DEFAULT_PRESENCE_LIMITS.maxMetaBytes,
    },
    mesh: resolveMesh(options.mesh, maxBufferedBytes),
    documents: options.documents === false ? null : resolveDocumentOptions(options.documents === undefined ? {} : options.documents),
    ops: resolveOps(options),
  };
  if (typeof resolved.nodeId !== 'string' || !/^[\w.:-]{1,64}$/.test(resolved.nodeId)) throw new Error(`nodeId must be 1 to 64 letters, digits, "_", ".", ":" or "-", got ${JSON.stringify(options.nodeId)}`);
  if (!resolved.path.startsWith('/')) throw new Error(`path must start with "/", got "${options.path}"`);
  if (resolved.maxPayloadBytes > resolved.maxFrameBytes) {
    throw new Error('maxPayloadBytes must not exceed maxFrameBytes');
  }
  for (const key of ['heartbeatTimeoutMs', 'maxPayloadBytes', 'maxFrameBytes', 'maxPayloadDepth', 'maxChannelsPerSocket', 'maxBufferedBytes', 'longPollWindowMs', 'historyMaxAgeMs', 'historyMaxBytes', 'historyMaxBytesPerTopic', 'historyMaxBytesPerUser', 'historyPageSize', 'historyPageBytes', 'dedupeWindowMs', 'dedupeMaxEntries', 'dedupeMaxPerUser'] as const) {
    if (!(resolved[key] > 0)) throw new Error(`${key} must be a positive number, got ${String(options[key])}`);
  }
  if (!Number.isInteger(resolved.maxConnections) || resolved.maxConnections < 1) throw new Error(`maxConnections must be a positive integer, got ${String(options.maxConnections)}`);
  if (!Number.isInteger(resolved.maxConnectionsPerIp) || resolved.maxConnectionsPerIp < 0) throw new Error(`maxConnectionsPerIp must be 0 (off) or a positive integer, got ${String(options.maxConnectionsPerIp)}`);
  if (!(resolved.historyLimit >= 0)) throw new Error(`historyLimit must be 0 or more, got ${String(options.historyLimit)}`);
  for (const [key, value] of [['presenceMaxMetasPerKey', resolved.presenceLimits.maxMetasPerKey], ['presenceMaxPerTopic', resolved.presenceLimits.maxPerTopic], ['presenceMaxMetaBytes', resolved.presenceLimits.maxMetaBytes]] as const) {
    if (!Number.isInteger(value) || value < 1) throw new Error(`${key} must be a positive integer, got ${String(options[key])}`);
  }
  if (!(resolved.writeDelayMs >= 0 && resolved.writeDelayMs <= 1000)) throw new Error(`writeDelayMs must be from 0 to 1000, got ${String(options.writeDelayMs)}`);
  for (const key of ['presenceGraceMs', 'presenceCoalesceMs'] as const) {
    if (!(resolved[key] >= 0)) throw new Error(`${key} must be 0 or more, got ${String(options[key])}`);
  }
  return resolved;
}
