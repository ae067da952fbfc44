/**
 * One client socket on the server: decodes its frames defensively, answers
 * heartbeats, and owns the channels it has joined.
 *
 * Responsible for the protocol rules of `docs/PROTOCOL.md` §2–§5 for one
 * socket: framing errors, limits, join/leave/push dispatch, duplicate joins
 * and the channel cap. Not responsible for authentication (done before
 * `start`), routing (the host) or fan-out.
 */
import type { WebSocket } from 'ws';
import {
  CLOSE, EVENTS, PHOENIX_TOPIC, REASONS, decode, encode, isReservedEvent,
  type Message, type Payload,
} from '../src/protocol';
import { ChannelInstance, type Assigns, type ChannelHandler, type ChannelHost, type Reply } from './channel';
import type { ResolvedOptions } from './options';

/** What a connection needs from its server. */
export interface ConnectionHost {
  readonly options: ResolvedOptions;
  route(topic: string): ChannelHandler | undefined;
  broadcast(topic: string, event: string, payload: Payload, excludeSocketId?: string): void;
  subscribe(instance: ChannelInstance): void;
  unsubscribe(instance: ChannelInstance): void;
  reportError(error: unknown, context: string): void;
  removed(connection: Connection): void;
}

/** Frames accepted while the connect hook runs; more closes the socket. */
const MAX_PENDING_FRAMES = 64;

export class Connection implements ChannelHost {
  readonly socketId: string;
  readonly plume: boolean;
  assigns: Assigns = { userId: '', name: '' };
  /** Time of the last frame received (ms), for the heartbeat sweep. */
  lastSeen: number;
  /** When the socket's token expires (ms), or null. */
  expiresAt: number | null = null;
  private state: 'authenticating' | 'open' | 'closed' = 'authenticating';
  private expiryTimer: ReturnType<typeof setTimeout> | undefined;
  private pending: Buffer[] = [];
  private readonly channels = new Map<string, ChannelInstance>();
  private readonly ws: WebSocket;
  private readonly host: ConnectionHost;

  constructor(ws: WebSocket, host: ConnectionHost, socketId: string, plume: boolean, now: number) {
    this.ws = ws;
    this.host = host;
    this.socketId = socketId;
    this.plume = plume;
    this.lastSeen = now;
    ws.on('message', (data, isBinary) => this.receive(data as Buffer, isBinary));
    ws.on('close', () => this.cleanup());
    ws.on('error', () => this.cleanup());
  }

  get isOpen(): boolean {
    return this.state === 'open';
  }

  /** Number of channels currently joined or joining. */
  get channelCount(): number {
    return this.channels.size;
  }

  /** Completes authentication and handles frames that arrived meanwhile. */
  start(assigns: Assigns, expiresAt: number | null): void {
    if (this.state !== 'authenticating') return;
    this.assigns = assigns;
    this.expiresAt = expiresAt;
    this.state = 'open';
    if (expiresAt !== null) {
      // A socket must not outlive its token: close at the moment it expires (timers cap at ~24.8 days).
      const ms = Math.min(expiresAt - Date.now(), 2 ** 31 - 1);
      this.expiryTimer = setTimeout(() => this.close(CLOSE.unauthorized, 'token expired'), Math.max(0, ms));
      this.expiryTimer.unref();
    }
    const pending = this.pending;
    this.pending = [];
    for (const data of pending) if (this.state === 'open') this.handle(data);
  }

  /** Sends a frame if the socket is still open. */
  send(text: string): void {
    if (this.state !== 'closed' && this.ws.readyState === this.ws.OPEN) this.ws.send(text);
  }

  /** Closes the socket with a code from `docs/PROTOCOL.md` §6 and ends its channels. */
  close(code: number, reason: string): void {
    if (this.state === 'closed') return;
    this.cleanup();
    // A close reason may hold at most 123 bytes.
    this.ws.close(code, Buffer.from(reason).subarray(0, 123).toString());
  }

  broadcast(topic: string, event: string, payload: Payload, excludeSocketId?: string): void {
    this.host.broadcast(topic, event, payload, excludeSocketId);
  }

  subscribe(instance: ChannelInstance): void {
    this.host.subscribe(instance);
  }

  unsubscribe(instance: ChannelInstance): void {
    this.host.unsubscribe(instance);
  }

  release(instance: ChannelInstance): void {
    if (this.channels.get(instance.topic) === instance) this.channels.delete(instance.topic);
  }

  reportError(error: unknown, context: string): void {
    this.host.reportError(error, context);
  }

  private receive(data: Buffer, isBinary: boolean): void {
    if (this.state === 'closed') return;
    if (isBinary) return this.close(CLOSE.unsupportedData, 'binary frames are not supported');
    this.lastSeen = Date.now();
    if (this.state === 'authenticating') {
      if (this.pending.push(data) > MAX_PENDING_FRAMES) this.close(CLOSE.badFrame, 'too many frames before authentication');
      return;
    }
    this.handle(data);
  }

  private handle(data: Buffer): void {
    const result = decode(data.toString('utf8'), this.plume);
    if (!result.ok) return this.close(result.code, result.reason);
    const message = result.message;
    if (message.ref === null) return this.close(CLOSE.badFrame, 'malformed frame: ref must be a string');
    if (data.length > this.host.options.maxPayloadBytes) return this.replyError(message, REASONS.payloadTooLarge);
    if (!result.payloadValid) return this.replyError(message, REASONS.invalidPayload);
    if (message.topic === PHOENIX_TOPIC) {
      return message.event === EVENTS.heartbeat ? this.reply(message, { status: 'ok', response: {} }) : this.replyError(message, REASONS.unknownEvent);
    }
    switch (message.event) {
      case EVENTS.join: return this.join(message);
      case EVENTS.leave: return this.leave(message);
      case EVENTS.heartbeat: return this.replyError(message, REASONS.unknownEvent);
      default:
        if (isReservedEvent(message.event)) return this.replyError(message, REASONS.unknownEvent);
        return this.push(message);
    }
  }

  private join(message: Message): void {
    const { topic } = message;
    const joinRef = message.joinRef ?? (message.ref as string);
    const existing = this.channels.get(topic);
    if (existing) {
      // A newer join replaces the old one; its phx_close carries the old join_ref, which current clients drop.
      existing.sendControl(EVENTS.close);
      existing.end('replaced');
      this.channels.delete(topic);
    }
    if (this.channels.size >= this.host.options.maxChannelsPerSocket) return this.replyError(message, REASONS.tooManyChannels);
    const handler = this.host.route(topic);
    if (!handler) return this.replyError(message, REASONS.unmatchedTopic);
    const instance = new ChannelInstance(this, handler, topic, joinRef, this.assigns);
    this.channels.set(topic, instance);
    instance.join(message.payload, (reply) => {
      if (reply === null) return;
      if (reply.status !== 'ok') this.release(instance);
      this.reply({ ...message, joinRef }, reply);
    });
  }

  private leave(message: Message): void {
    const instance = this.channels.get(message.topic);
    if (instance && instance.joinRef === message.joinRef) {
      this.channels.delete(message.topic);
      instance.end('leave');
    }
    this.reply(message, { status: 'ok', response: {} });
  }

  private push(message: Message): void {
    const instance = this.channels.get(message.topic);
    if (!instance || instance.joinRef !== message.joinRef) return this.replyError(message, REASONS.unmatchedTopic);
    instance.handleIn(message.event, message.payload, (reply) => this.reply(message, reply));
  }

  private reply(message: Message, reply: Reply): void {
    this.send(encode({ joinRef: message.joinRef, ref: message.ref, topic: message.topic, event: EVENTS.reply, payload: { status: reply.status, response: reply.response } }));
  }

  private replyError(message: Message, reason: string): void {
    this.reply(message, { status: 'error', response: { reason } });
  }

  private cleanup(): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    clearTimeout(this.expiryTimer);
    this.pending = [];
    for (const instance of this.channels.values()) instance.end('closed');
    this.channels.clear();
    this.host.removed(this);
  }
}
