/**
 * One client socket on the server: decodes its frames defensively, answers
 * heartbeats, and owns the channels it has joined.
 *
 * Responsible for the protocol rules of `docs/PROTOCOL.md` §2–§5 for one
 * socket: framing errors, limits, join/leave/push dispatch, duplicate joins
 * and the channel cap. Not responsible for authentication (done before
 * `start`), routing or fan-out (what it needs of the server is `host.ts`).
 */
import {
  CLOSE, EVENTS, PHOENIX_TOPIC, REASONS, decode, decodeClientFrame, encode, isReservedEvent, peekHeader, withinDepth,
  type FrameHeader, type Message, type Meta, type Payload,
} from '../../src/protocol';
import type { TokenClaims } from '../auth/token';
import type { Assigns, Reply } from '../channels/channel';
import { ChannelInstance, type ChannelHost } from '../channels/instance';
import { ChannelTable } from '../channels/table';
import { planJoin } from '../delivery/replay';
import { UNAVAILABLE, type Position, type StoredBroadcast } from '../engine/engine';
import type { ClientTransport } from '../transport/client';
import { textFrame, type WireFrame } from '../wire/frame';
import type { Outcome } from './at-most-once';
import { durablePush } from './durable-push';
import type { ExtensionSocket } from './extensions';
import { SocketLimits } from '../limits/socket-limits';
import { FairShare } from '../limits/fair-share';
import type { ConnectionHost } from './host';

/** The payload bytes a history entry costs the socket's history budget. */
export function entryBytes(entry: StoredBroadcast): number {
  return entry.binary ? entry.binary.length : entry.payloadJson.length;
}

/** Longest message id accepted in `meta.id`. */
const MAX_ID_LENGTH = 128;

/** Frames accepted while the connect hook runs; more closes the socket. */
const MAX_PENDING_FRAMES = 64;

export class Connection implements ChannelHost, ExtensionSocket {
  readonly socketId: string;
  readonly plume: boolean;
  assigns: Assigns = { userId: '', name: '' };
  /** Time of the last frame received (ms), for the heartbeat sweep. */
  lastSeen: number;
  /** When the socket's token expires (ms), or null. */
  expiresAt: number | null = null;
  /** The verified claims of the socket's token (the latest after a refresh), or undefined in dev mode. */
  claims: TokenClaims | undefined;
  private state: 'authenticating' | 'open' | 'closed' = 'authenticating';
  private expiryTimer: ReturnType<typeof setTimeout> | undefined;
  /** Frames received while the connect hook runs (created with the first one), with whether each is binary. */
  private pending: Array<[Buffer, boolean]> | null = null;
  private readonly channels = new ChannelTable<ChannelInstance>();
  private readonly transport: ClientTransport;
  private readonly host: ConnectionHost;
  /** This socket's rate limits and history budget (PROTOCOL.md §5). */
  readonly rates: SocketLimits;
  /** Hands frames to `guarded` in order, a few hundred per event-loop turn, holding them back past the socket's rates. */
  private readonly share: FairShare<[Buffer, boolean]>;

  /** `transport` carries the client's frames both ways (WebSocket or long-poll). */
  constructor(transport: ClientTransport, host: ConnectionHost, socketId: string, plume: boolean, now: number) {
    this.transport = transport;
    this.host = host;
    this.rates = new SocketLimits(host.limits.rateLimit, host.limits.historyPageBytes);
    this.share = new FairShare<[Buffer, boolean]>(transport, ([data, binary]) => this.guarded(data, binary));
    this.socketId = socketId;
    this.plume = plume;
    this.lastSeen = now;
    transport.listen({
      received: (data, binary) => this.receive(data, binary),
      ended: () => this.cleanup(),
      overflowed: () => {
        this.host.counters.slowConsumerCuts++;
        this.close(CLOSE.slowConsumer, 'slow consumer');
      },
      alive: () => {
        this.lastSeen = Date.now();
      },
    });
  }

  get isOpen(): boolean {
    return this.state === 'open';
  }

  /** Bytes waiting to be written to this socket (the slow-consumer bound counts them). */
  get pendingBytes(): number {
    return this.transport.pendingBytes;
  }

  /** Number of channels currently joined or joining. */
  get channelCount(): number {
    return this.channels.size;
  }

  /** Completes authentication and handles frames that arrived meanwhile. */
  start(assigns: Assigns, expiresAt: number | null, claims?: TokenClaims): void {
    if (this.state !== 'authenticating') return;
    this.assigns = assigns;
    this.claims = claims;
    this.state = 'open';
    this.armExpiry(expiresAt);
    const pending = this.pending ?? [];
    this.pending = null;
    for (const frame of pending) this.share.push(frame);
  }

  /** Closes the socket when its token expires; a refreshed token moves the moment. */
  private armExpiry(expiresAt: number | null): void {
    clearTimeout(this.expiryTimer);
    this.expiresAt = expiresAt;
    if (expiresAt === null) return;
    // A socket must not outlive its token: close at the moment it expires (timers cap at ~24.8 days).
    const ms = Math.min(expiresAt - Date.now(), 2 ** 31 - 1);
    this.expiryTimer = setTimeout(() => this.close(CLOSE.unauthorized, 'token expired'), Math.max(0, ms));
    this.expiryTimer.unref();
  }

  /**
   * Sends a frame if the socket is still open; it leaves with the socket's other frames at the end of
   * this turn (after the sockets without replies, when `reply`).
   */
  send(frame: string | WireFrame, reply = false): void {
    if (this.state === 'closed' || !this.transport.open) return;
    const wire = typeof frame === 'string' ? textFrame(frame) : frame;
    this.host.counters.frames++;
    this.host.counters.bytes += wire.data.length;
    this.transport.send(wire, reply);
  }

  /** Closes the socket with a code from `docs/PROTOCOL.md` §6 and ends its channels. */
  close(code: number, reason: string): void {
    if (this.state === 'closed') return;
    // Frames sent before the close go before the close frame.
    this.transport.flush();
    this.cleanup();
    this.transport.close(code, reason);
  }

  broadcast(topic: string, event: string, payload: Payload | Uint8Array, options: { exclude?: string; id?: string; user: string }): Promise<Position> {
    return this.host.channels.broadcast(topic, event, payload, options);
  }

  subscribe(instance: ChannelInstance): Promise<void> {
    return this.host.channels.subscribe(instance);
  }

  unsubscribe(instance: ChannelInstance): void {
    this.host.channels.unsubscribe(instance);
  }

  release(instance: ChannelInstance): void {
    if (this.channels.get(instance.topic) === instance) this.channels.delete(instance.topic);
  }

  reportError(error: unknown, context: string): void {
    this.host.reportError(error, context);
  }

  private receive(data: Buffer, isBinary: boolean): void {
    if (this.state === 'closed') return;
    this.host.counters.framesIn++;
    this.host.counters.bytesIn += data.length;
    this.lastSeen = Date.now();
    if (this.state === 'authenticating') {
      if ((this.pending ??= []).push([data, isBinary]) > MAX_PENDING_FRAMES) this.close(CLOSE.badFrame, 'too many frames before authentication');
      return;
    }
    this.share.push([data, isBinary]);
  }

  /**
   * Handles one frame under the guard every inbound frame passes: whatever
   * fails while handling it closes this socket alone (1011) and is logged;
   * nothing thrown here reaches `ws`'s listener, and so the process.
   */
  private guarded(data: Buffer, binary: boolean): number | void {
    if (this.state !== 'open') return;
    try {
      // Past its rates (PROTOCOL.md §5) a frame waits (returned: how long), or the socket is cut off.
      const verdict = this.rates.frame(data.length);
      if (verdict === 'wait') return this.rates.holdMs(data.length);
      if (verdict === 'close') return this.cutOff();
      if (binary) this.handleBinary(data);
      else this.handle(data);
    } catch (err) {
      this.host.reportError(err, `a frame from socket ${this.socketId}`);
      this.close(CLOSE.internalError, 'internal error');
    }
  }

  private handle(data: Buffer): void {
    // Checked before parsing: a large frame costs the parser, and may nest beyond its stack.
    if (data.length > this.host.limits.maxPayloadBytes) return this.answerUnparsed(data, REASONS.payloadTooLarge);
    const text = data.toString('utf8');
    const result = decode(text, this.plume, this.host.limits.maxPayloadDepth);
    if (!result.ok) return this.close(result.code, result.reason);
    const message = result.message;
    if (message.ref === null) return this.close(CLOSE.badFrame, 'malformed frame: ref must be a string');
    if (!result.payloadValid) return this.replyError(message, result.problem ?? REASONS.invalidPayload);
    if (message.topic === PHOENIX_TOPIC) {
      if (message.event === EVENTS.heartbeat) return this.reply(message, { status: 'ok', response: {} });
      return this.extension(message, 'socket');
    }
    switch (message.event) {
      case EVENTS.join: return this.join(message);
      case EVENTS.leave: return this.leave(message);
      case EVENTS.heartbeat: return this.replyError(message, REASONS.unknownEvent);
      default:
        if (isReservedEvent(message.event)) return this.extension(message, 'channel');
        return this.host.frameJson.during(text, data, message.payload, () => this.push(message));
    }
  }

  /** A `plume:*` event (or another reserved one): to its registered extension, else `unknown event`. */
  private extension(message: Message, scope: 'socket' | 'channel'): void {
    const extension = this.host.extensions.find(message.event, scope, this.plume);
    // An extension that takes bytes gets them in binary frames only.
    if (extension && !extension.binary) extension.handle(message, this);
    else if (extension) this.replyError(message, REASONS.invalidPayload);
    else this.replyError(message, REASONS.unknownEvent);
  }

  /**
   * A binary frame (PROTOCOL.md §2): a push whose payload is bytes. Its header is read without looking
   * at the payload, so the size check costs nothing; reserved events take JSON only.
   */
  private handleBinary(data: Buffer): void {
    const result = decodeClientFrame(data, this.plume);
    if (!result.ok) return this.close(result.code, result.reason);
    const message = result.message;
    if (message.ref === null) return this.close(CLOSE.badFrame, 'malformed frame: ref must be a string');
    if (data.length > this.host.limits.maxPayloadBytes) return this.replyError(message, REASONS.payloadTooLarge);
    if (message.meta && !withinDepth(message.meta, this.host.limits.maxPayloadDepth)) return this.replyError(message, REASONS.payloadTooDeep);
    if (message.topic === PHOENIX_TOPIC) return this.replyError(message, REASONS.invalidPayload);
    if (isReservedEvent(message.event)) {
      // Reserved events take JSON, but for an extension that takes bytes (`plume:doc`).
      const extension = this.host.extensions.find(message.event, 'channel', this.plume);
      return extension?.binary ? extension.handle(message, this) : this.replyError(message, REASONS.invalidPayload);
    }
    this.host.frameJson.duringBinary(message.binary!, () => this.push(message));
  }

  /**
   * Closes a flooding socket with 4420 and reads nothing more from it: the megabytes it may still
   * have in flight would hold the event loop for nothing (the transport drops the connection soon
   * after the close, `ClientTransport.cutOff`).
   */
  private cutOff(): void {
    this.close(CLOSE.flooding, 'flooding: past the rate limit for too long');
    this.share.hold();
    this.transport.cutOff();
  }

  /** Answers a frame with an error from its header alone, without parsing the payload. */
  private answerUnparsed(data: Buffer, reason: string): void {
    // The header (four short strings or nulls) lies in the first few kilobytes; a cut character at the end is harmless.
    const header = peekHeader(data.subarray(0, 8192).toString('utf8'));
    if (!header) return this.close(CLOSE.badFrame, 'malformed frame: not a frame header');
    if (header.ref === null) return this.close(CLOSE.badFrame, 'malformed frame: ref must be a string');
    this.replyError(header, reason);
  }

  private join(message: Message): void {
    const { topic } = message;
    const joinRef = message.joinRef ?? (message.ref as string);
    if (!this.rates.join()) return this.replyError(message, REASONS.rateLimited);
    const existing = this.channels.get(topic);
    if (existing) {
      // A newer join replaces the old one; its phx_close carries the old join_ref, which current clients drop.
      existing.sendControl(EVENTS.close);
      existing.end('replaced');
      this.channels.delete(topic);
    }
    if (this.channels.size >= this.host.limits.maxChannelsPerSocket) return this.replyError(message, REASONS.tooManyChannels);
    const handler = this.host.channels.route(topic);
    if (!handler) return this.replyError(message, REASONS.unmatchedTopic);
    const instance = new ChannelInstance(this, handler, topic, joinRef, this.assigns);
    instance.meshCapable = this.plume && message.meta?.mesh === true;
    this.channels.set(instance);
    instance.join(message.payload, (reply) => {
      if (reply === null) return;
      if (reply.status !== 'ok') {
        this.release(instance);
        return this.reply({ ...message, joinRef }, reply);
      }
      return this.answerJoin({ ...message, joinRef }, instance, reply).catch((err: unknown) => {
        // The engine could not answer (it is unreachable): the join is refused, and the client rejoins later.
        if (instance.joined) {
          this.host.reportError(err, `joining ${topic}`);
          this.reply({ ...message, joinRef }, { status: 'error', response: { reason: UNAVAILABLE } });
          instance.end('closed');
          this.release(instance);
        }
      });
    });
  }

  /**
   * Answers an accepted join once the topic's broadcasts reach the channel: the reply, then (Plume
   * sockets) the replay, then what was held meanwhile, so the member gets each position once, in order.
   */
  private async answerJoin(message: Message, instance: ChannelInstance, reply: Reply): Promise<void> {
    await instance.ready;
    if (!instance.joined) return;
    if (!this.plume) {
      this.reply(message, reply);
      return this.host.channels.release(instance, null, 0);
    }
    const plan = await planJoin(this.host.history, message.topic, message.meta, this.host.limits.historyLimit, this.rates.historyBytes());
    this.rates.historyServed(plan.entries.reduce((bytes, entry) => bytes + entryBytes(entry), 0), false);
    if (!instance.joined) return;
    if (message.meta?.since !== undefined) this.host.counters[plan.meta.recovered ? 'recovered' : 'notRecovered']++;
    const keys = instance.meshCapable ? this.host.meshKeys() : null;
    this.reply(message, reply, keys ? { ...plan.meta, member: this.socketId, keys } : { ...plan.meta });
    this.host.channels.replay(instance, plan.meta.epoch, plan.entries);
    this.host.channels.release(instance, plan.meta.epoch, plan.meta.seq);
  }

  private leave(message: Message): void {
    const instance = this.channels.get(message.topic);
    if (!instance || instance.joinRef !== message.joinRef) return this.reply(message, { status: 'ok', response: {} });
    this.channels.delete(message.topic);
    instance.end('leave');
    // After the replies to the channel's earlier pushes, which may still wait for their broadcasts.
    instance.afterAnswers(() => this.reply(message, { status: 'ok', response: {} }));
  }

  /** The joined channel a frame addresses, or undefined (answered with `unmatched topic`). */
  joinedChannel(message: Message): ChannelInstance | undefined {
    const instance = this.channels.get(message.topic);
    if (instance && instance.joinRef === message.joinRef) return instance;
    this.replyError(message, REASONS.unmatchedTopic);
    return undefined;
  }

  private push(message: Message): void {
    const instance = this.joinedChannel(message);
    if (!instance) return;
    const id = message.meta?.id;
    const { event, topic } = message;
    const payload = message.binary ?? message.payload;
    if (id === undefined) return instance.handleIn(event, payload, undefined, this.answerTo(message));
    const head = headOf(message);
    if (typeof id !== 'string' || id.length === 0 || id.length > MAX_ID_LENGTH) return this.replyError(message, 'invalid message id');
    // Scoped to the sender and topic, so one client cannot claim another's id.
    const user = this.assigns.userId;
    const key = `${user}\u0000${topic}\u0000${id}`;
    // Claimed at once, handled in the channel's frame order, answered in its order of answers.
    durablePush(this.host.once, instance, key, user, { event, payload, id }, (outcome, duplicate) => {
      if (duplicate) this.host.counters.dedupeHits++;
      this.answer(head, outcome, duplicate, true);
    });
  }

  /**
   * The answer to a push without a message id. Made here, not in `push`, so that it holds the frame's
   * address only: a closure made in `push` would keep the payload alive (V8 gives a function's closures
   * one shared context) while the broadcast is being applied.
   */
  private answerTo(message: Message): (outcome: Outcome) => void {
    const head = headOf(message);
    return (outcome) => this.answer(head, outcome, false, false);
  }

  /** Replies to a push according to how handling it ended (PROTOCOL.md §7, message ids). */
  private answer(message: FrameHeader, outcome: Outcome, duplicate: boolean, durable: boolean): void {
    if (outcome.kind === 'aborted') return this.replyError(message, REASONS.unmatchedTopic);
    if (outcome.kind === 'refused') return this.replyError(message, outcome.reason);
    if (outcome.kind === 'crashed') {
      // The original got phx_error with its channel; a retry learns the message is poison.
      if (duplicate) this.replyError(message, 'handler crashed');
      return;
    }
    if (!outcome.reply && !durable) return;
    const meta: Meta | undefined = this.plume && (outcome.position || duplicate) ? { ...outcome.position } : undefined;
    if (meta && duplicate) meta.dup = true;
    this.reply(message, outcome.reply ?? { status: 'ok', response: {} }, meta);
  }

  /** A refreshed token (`plume:token`): its claims, and the moment the socket must close now. */
  renew(claims: TokenClaims, expiresAt: number | null): void {
    this.claims = claims;
    this.armExpiry(expiresAt);
  }

  reply(message: FrameHeader, reply: Reply, meta?: Meta): void {
    if (message.event === EVENTS.join) this.host.counters[reply.status === 'ok' ? 'joins' : 'joinRefusals']++;
    const payload = { status: reply.status, response: reply.response };
    this.send(encode({ joinRef: message.joinRef, ref: message.ref, topic: message.topic, event: EVENTS.reply, payload, meta }), true);
  }

  replyError(message: FrameHeader, reason: string): void {
    this.reply(message, { status: 'error', response: { reason } });
  }

  private cleanup(): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    clearTimeout(this.expiryTimer);
    this.transport.discard();
    this.pending = null;
    for (const instance of this.channels.values()) instance.end('closed');
    this.channels.clear();
    this.host.removed(this);
  }
}

/** A frame's address, without its payload. */
const headOf = (message: Message): FrameHeader => ({ joinRef: message.joinRef, ref: message.ref, topic: message.topic, event: message.event });
