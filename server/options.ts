/**
 * Server options, with every default in one place.
 */
import type { PubSub } from './pubsub/pubsub';
import type { Sequencer } from './sequencer';
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
  /** Channels one socket may have joined at once. Default 100. */
  maxChannelsPerSocket?: number;
  /** Register the default relay channel on `room:*` (see `relay.ts`). Default true. */
  relay?: boolean;
  /** Serve this folder's files over HTTP (for a built app). Default: none. */
  staticDir?: string;
  /** The PubSub to broadcast through. Default: a new in-memory one. */
  pubsub?: PubSub;
  /** Assigns each broadcast its topic position. Default: a new `MemorySequencer`. */
  sequencer?: Sequencer;
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
  maxChannelsPerSocket: number;
  relay: boolean;
  staticDir: string | undefined;
}

/** Applies defaults and rejects nonsense with a message that says the fix. */
export function resolveOptions(options: ServerOptions): ResolvedOptions {
  const resolved: ResolvedOptions = {
    path: (options.path ?? '/socket').replace(/\/+$/, ''),
    secret: options.secret || undefined,
    allowedOrigins: options.allowedOrigins ?? [],
    heartbeatTimeoutMs: options.heartbeatTimeoutMs ?? 60_000,
    maxPayloadBytes: options.maxPayloadBytes ?? 64 * 1024,
    maxFrameBytes: options.maxFrameBytes ?? 1024 * 1024,
    maxChannelsPerSocket: options.maxChannelsPerSocket ?? 100,
    relay: options.relay ?? true,
    staticDir: options.staticDir,
  };
  if (!resolved.path.startsWith('/')) throw new Error(`path must start with "/", got "${options.path}"`);
  if (resolved.maxPayloadBytes > resolved.maxFrameBytes) {
    throw new Error('maxPayloadBytes must not exceed maxFrameBytes');
  }
  for (const key of ['heartbeatTimeoutMs', 'maxPayloadBytes', 'maxFrameBytes', 'maxChannelsPerSocket'] as const) {
    if (!(resolved[key] > 0)) throw new Error(`${key} must be a positive number, got ${String(options[key])}`);
  }
  return resolved;
}
