/**
 * The one place Plume's extension events (`plume:*`, named in
 * `src/protocol.ts` as `EXTENSION_EVENTS`) meet their handlers: each
 * concern registers its own — recovery (`plume:history`), presence
 * (`plume:presence`), the mesh (`plume:signal`, `plume:link`,
 * `plume:report`), ephemeral events, token refresh, and later documents —
 * and a connection looks an event up here instead of knowing them all.
 *
 * Responsible for the registry and for what a handler may do with the
 * socket a frame came on (`ExtensionSocket`). Not responsible for any
 * extension's meaning.
 */
import type { Message, Meta } from '../../src/protocol';
import type { TokenClaims } from '../auth/token';
import type { Reply } from '../channels/channel';
import type { ChannelInstance } from '../channels/instance';
import type { WireFrame } from '../wire/frame';

/** What an extension handler may do with the socket its frame came on. */
export interface ExtensionSocket {
  readonly socketId: string;
  /** The socket negotiated the Plume extensions (`plume=1`). */
  readonly plume: boolean;
  /** False once the socket is closing or closed. */
  readonly isOpen: boolean;
  /** The socket's history budget (PROTOCOL.md §5, rate limits): how much a page may carry, and what was served. */
  readonly rates: { historyBytes(): number; historyServed(payloadBytes: number, request: boolean): void };
  /** The token's claims, for `plume:token`. */
  readonly claims: TokenClaims | undefined;
  /** The joined channel a frame addresses; otherwise answers `unmatched topic` and returns undefined. */
  joinedChannel(message: Message): ChannelInstance | undefined;
  reply(message: Message, reply: Reply, meta?: Meta): void;
  replyError(message: Message, reason: string): void;
  /** Sends a frame of its own (a binary reply); `reply` puts the socket after those without replies this turn. */
  send(frame: WireFrame | string, reply?: boolean): void;
  /** A refreshed token: its claims, and when the socket must close now. */
  renew(claims: TokenClaims, expiresAt: number | null): void;
  close(code: number, reason: string): void;
}

/** One extension event's handler. */
export interface Extension {
  /** The event, one of `EXTENSION_EVENTS`. */
  readonly event: string;
  /** `socket`: sent on topic `phoenix`; `channel`: sent on a joined channel's topic. */
  readonly scope: 'socket' | 'channel';
  /** Only Plume sockets may use it; plain Phoenix sockets get `unknown event`. */
  readonly plumeOnly: boolean;
  /** It takes binary frames (its payload in `message.binary`); others get `invalid payload` for one. */
  readonly binary?: boolean;
  handle(message: Message, socket: ExtensionSocket): void;
}

/**
 * @example
 * const extensions = new Extensions().register(historyExtension(...)).register(presenceExtension(...));
 * extensions.find('plume:history', 'channel', true)?.handle(message, connection);
 */
export class Extensions {
  private readonly byEvent = new Map<string, Extension>();

  /** Adds an extension; throws on a name outside `plume:` or registered twice (a wiring bug). */
  register(extension: Extension): this {
    if (!extension.event.startsWith('plume:')) throw new Error(`extension events are named plume:*, got "${extension.event}"`);
    if (this.byEvent.has(extension.event)) throw new Error(`the extension event ${extension.event} is registered twice`);
    this.byEvent.set(extension.event, extension);
    return this;
  }

  /** The handler for `event` sent in `scope` by a socket that is (or is not) a Plume socket, if any. */
  find(event: string, scope: 'socket' | 'channel', plume: boolean): Extension | undefined {
    const extension = this.byEvent.get(event);
    if (!extension || extension.scope !== scope || (extension.plumeOnly && !plume)) return undefined;
    return extension;
  }
}
