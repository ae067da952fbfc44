/**
 * Integration-test harness: a real PlumeServer on port 0 and raw `ws`
 * clients that speak the wire protocol frame by frame.
 *
 * Responsible for starting servers and clients per test and disposing of
 * every one of them afterwards (no leaked sockets, timers or ports), and for
 * waiting on frames and closes with a deadline instead of sleeping. Not a
 * protocol client: it sends exactly what a test tells it to, valid or not.
 */
import { afterEach } from 'vitest';
import WebSocket from 'ws';
import { decodeServerFrame } from '../src/protocol';
import { PlumeServer } from '../server/server';
import type { ServerOptions } from '../server/options';
import type { Envelope } from '../server/pubsub/adapter';
import { MemoryEngine, MemoryStore, memoryEngine } from '../server/engine/memory/engine';
import { MemoryAdapter } from '../server/pubsub/memory';
import type { Address } from '../server/transport/http';
import { DEADLINE_MS, deadline } from './waiting';

export { DEADLINE_MS, Recorder, deferred } from './waiting';

/** A decoded frame as a client received it, with its exact text. */
export interface Frame {
  joinRef: string | null;
  ref: string | null;
  topic: string;
  event: string;
  payload: Record<string, unknown>;
  /** The sixth element, when the server sent one. */
  meta?: Record<string, unknown>;
  /** Number of elements in the frame. */
  length: number;
  /** The frame's text, byte for byte (`""` for a binary frame). */
  raw: string;
  /** A binary frame's payload (PROTOCOL.md §2); `payload` is then `{}` (or `{status, response: {}}` for a reply). */
  binary?: Buffer;
  /** A binary frame's kind byte. */
  kind?: number;
}

/** How the server closed a socket. */
export interface Closed {
  code: number;
  reason: string;
}

/** A reply frame's payload. */
export interface ReplyPayload {
  status: 'ok' | 'error';
  response: Record<string, unknown>;
}

/** Options for {@link RawClient.connect}. */
export interface ConnectOptions {
  /** The `name` connect param (dev-mode identity); omitted when null. Default `"tester"`. */
  name?: string | null;
  /** More query params (`plume`, `token`, `vsn`, app params). */
  params?: Record<string, string>;
  /** Subprotocols to offer. */
  protocols?: string[];
  /** A token, offered in `Sec-WebSocket-Protocol` as clients do (`phoenix` + `base64url.bearer.phx.…`), after `protocols`. */
  token?: string;
  /** Extra upgrade headers, such as `Origin`. */
  headers?: Record<string, string>;
}

function parseFrame(raw: string): Frame {
  const value = JSON.parse(raw) as unknown[];
  const [joinRef, ref, topic, event, payload, meta] = value as [string | null, string | null, string, string, Record<string, unknown>, Record<string, unknown> | undefined];
  const frame: Frame = { joinRef, ref, topic, event, payload, length: value.length, raw };
  if (value.length > 5) frame.meta = meta;
  return frame;
}

function parseBinaryFrame(data: Buffer): Frame {
  const message = decodeServerFrame(data);
  if (!message) throw new Error(`the server sent a malformed binary frame: ${data.subarray(0, 16).toString('hex')}`);
  const frame: Frame = { joinRef: message.joinRef, ref: message.ref, topic: message.topic, event: message.event, payload: message.payload, length: -1, raw: '', binary: Buffer.from(message.binary!), kind: data[0] };
  if (message.meta) frame.meta = message.meta;
  return frame;
}

interface Waiter {
  predicate: (frame: Frame) => boolean;
  resolve: (frame: Frame) => void;
  reject: (error: Error) => void;
}

/**
 * A WebSocket client that sends raw frames and awaits what comes back.
 * Frames are kept in an inbox until a test takes them with {@link next}.
 *
 * @example
 * const c = await RawClient.connect(socketUrl, { name: 'ada' });
 * const reply = await c.join('room:lobby');
 */
export class RawClient {
  /** Frames received and not yet taken, oldest first. */
  readonly inbox: Frame[] = [];
  /** Resolves when the socket closes, with the server's code and reason. */
  readonly closed: Promise<Closed>;
  private readonly ws: WebSocket;
  private readonly waiters: Waiter[] = [];
  private nextRef = 0;
  private isClosed = false;

  private constructor(ws: WebSocket) {
    this.ws = ws;
    this.closed = new Promise((resolve) => {
      ws.on('close', (code, reason) => {
        this.isClosed = true;
        for (const waiter of this.waiters.splice(0)) waiter.reject(new Error(`socket closed (${code} ${reason.toString()}) while waiting for a frame`));
        resolve({ code, reason: reason.toString() });
      });
    });
    ws.on('message', (data, isBinary) => this.receive(data as Buffer, isBinary));
    // A socket the server drops mid-write reports an error before its close event; the close is what tests assert.
    ws.on('error', (error) => (this.error = error));
  }

  /** The last transport error, if any (for example ECONNRESET when the server dropped the socket). */
  error: Error | undefined;

  /** Opens a socket on `socketUrl?vsn=2.0.0&name=…` and resolves once it is open. */
  static connect(socketUrl: string, options: ConnectOptions = {}): Promise<RawClient> {
    const ws = RawClient.open(socketUrl, options);
    const client = new RawClient(ws);
    return deadline(DEADLINE_MS, 'the socket to open', new Promise<RawClient>((resolve, reject) => {
      ws.once('open', () => resolve(client));
      ws.once('error', reject);
    }));
  }

  /** Creates the underlying `ws` socket without waiting (for upgrade-refusal tests). */
  static open(socketUrl: string, options: ConnectOptions = {}): WebSocket {
    const params = new URLSearchParams({ vsn: '2.0.0' });
    const name = options.name === undefined ? 'tester' : options.name;
    if (name !== null) params.set('name', name);
    for (const [key, value] of Object.entries(options.params ?? {})) params.set(key, value);
    const protocols = options.token === undefined ? options.protocols ?? [] : [...(options.protocols ?? ['phoenix']), `base64url.bearer.phx.${Buffer.from(options.token).toString('base64url')}`];
    return new WebSocket(`${socketUrl}?${params}`, protocols, { headers: options.headers ?? {} });
  }

  /** The subprotocol the server selected. */
  get protocol(): string {
    return this.ws.protocol;
  }

  /** A fresh message ref. */
  ref(): string {
    return String(++this.nextRef);
  }

  /** Sends anything: a frame array (JSON-encoded), text as is, or bytes. */
  send(data: unknown[] | string | Buffer, options: { binary?: boolean } = {}): void {
    const payload = Array.isArray(data) ? JSON.stringify(data) : data;
    this.ws.send(payload, { binary: options.binary ?? false });
  }

  /** Sends `[joinRef, ref, topic, event, payload]` with a fresh ref; returns the ref. */
  push(topic: string, event: string, payload: unknown = {}, joinRef: string | null = null): string {
    const ref = this.ref();
    this.send([joinRef, ref, topic, event, payload]);
    return ref;
  }

  /** Joins `topic` and resolves with the join's ref (its join_ref) and reply. */
  async join(topic: string, params: Record<string, unknown> = {}): Promise<{ joinRef: string; reply: ReplyPayload }> {
    const ref = this.ref();
    this.send([ref, ref, topic, 'phx_join', params]);
    return { joinRef: ref, reply: await this.replyTo(ref) };
  }

  /** Joins `topic` and fails unless the reply is `ok`; returns the join_ref. */
  async joinOk(topic: string, params: Record<string, unknown> = {}): Promise<string> {
    const { joinRef, reply } = await this.join(topic, params);
    if (reply.status !== 'ok') throw new Error(`join of ${topic} refused: ${JSON.stringify(reply.response)}`);
    return joinRef;
  }

  /** Pushes an event on a joined topic and resolves with its reply. */
  request(topic: string, event: string, payload: unknown, joinRef: string): Promise<ReplyPayload> {
    return this.replyTo(this.push(topic, event, payload, joinRef));
  }

  /** Resolves with the payload of the `phx_reply` answering `ref`. */
  async replyTo(ref: string, timeoutMs = DEADLINE_MS): Promise<ReplyPayload> {
    const frame = await this.next((f) => f.event === 'phx_reply' && f.ref === ref, timeoutMs);
    return frame.payload as unknown as ReplyPayload;
  }

  /** Sends a heartbeat and resolves with its reply frame. */
  heartbeat(timeoutMs = DEADLINE_MS): Promise<Frame> {
    const ref = this.push('phoenix', 'heartbeat', {});
    return this.next((f) => f.topic === 'phoenix' && f.event === 'phx_reply' && f.ref === ref, timeoutMs);
  }

  /** Takes the oldest frame (received or yet to come) matching `predicate`. */
  next(predicate: (frame: Frame) => boolean = () => true, timeoutMs = DEADLINE_MS): Promise<Frame> {
    const index = this.inbox.findIndex(predicate);
    if (index !== -1) return Promise.resolve(this.inbox.splice(index, 1)[0] as Frame);
    if (this.isClosed) return Promise.reject(new Error('socket is closed'));
    let waiter: Waiter | undefined;
    const waiting = new Promise<Frame>((resolve, reject) => this.waiters.push((waiter = { predicate, resolve, reject })));
    return deadline(timeoutMs, 'a matching frame', waiting).catch((error: unknown) => {
      const index = this.waiters.indexOf(waiter as Waiter);
      if (index !== -1) this.waiters.splice(index, 1);
      throw error;
    });
  }

  /** Takes `count` frames matching `predicate`, in arrival order. */
  async take(count: number, predicate: (frame: Frame) => boolean, timeoutMs = DEADLINE_MS): Promise<Frame[]> {
    const frames: Frame[] = [];
    for (let i = 0; i < count; i++) frames.push(await this.next(predicate, timeoutMs));
    return frames;
  }

  /**
   * Proves that no frame matching `predicate` was sent before now: the
   * server answers a heartbeat after everything it sent this socket earlier,
   * so once the reply is here, anything that was coming has come.
   * Returns the matching frames (expected: none), leaving the inbox empty.
   */
  async drain(predicate: (frame: Frame) => boolean = () => true): Promise<Frame[]> {
    await this.heartbeat();
    return this.inbox.splice(0).filter(predicate);
  }

  /** Resolves with the close code and reason, failing after the deadline. */
  closeEvent(timeoutMs = DEADLINE_MS): Promise<Closed> {
    return deadline(timeoutMs, 'the socket to close', this.closed);
  }

  /** Whether the socket is open. */
  get isOpen(): boolean {
    return this.ws.readyState === WebSocket.OPEN;
  }

  /** Closes the socket (if not yet closed) and waits until it is. */
  async dispose(): Promise<void> {
    if (this.ws.readyState === WebSocket.CLOSED) return;
    if (this.ws.readyState !== WebSocket.CLOSING) this.ws.close(1000);
    try {
      await deadline(DEADLINE_MS, 'the socket to close on dispose', this.closed);
    } catch {
      // The server did not answer the close handshake: drop the TCP socket, nothing is left to wait for.
      this.ws.terminate();
    }
  }

  private receive(data: Buffer, isBinary: boolean): void {
    const frame = isBinary ? parseBinaryFrame(data) : parseFrame(data.toString('utf8'));
    const index = this.waiters.findIndex((w) => w.predicate(frame));
    if (index === -1) {
      this.inbox.push(frame);
      return;
    }
    const [waiter] = this.waiters.splice(index, 1);
    waiter?.resolve(frame);
  }
}

/** Resolves with the HTTP status of an upgrade the server refused, or 101 if it opened. */
export function upgradeStatus(socketUrl: string, options: ConnectOptions = {}): Promise<number> {
  const ws = RawClient.open(socketUrl, options);
  return deadline(DEADLINE_MS, 'the upgrade to be answered', new Promise<number>((resolve, reject) => {
    ws.once('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0);
      res.resume();
      ws.terminate();
    });
    ws.once('open', () => {
      resolve(101);
      ws.close();
    });
    ws.once('error', reject);
  }).then(async (status) => {
    if (ws.readyState !== WebSocket.CLOSED) await new Promise((resolve) => ws.once('close', resolve));
    return status;
  }));
}

/** A running server and ways to reach it. */
export interface TestServer extends Address {
  server: PlumeServer;
  /** Connects a raw client that is disposed after the test. */
  connect(options?: ConnectOptions): Promise<RawClient>;
}

/**
 * Registers an `afterEach` that closes every client and server the test
 * started, and returns a function that starts one.
 *
 * @example
 * const start = useServers();
 * it('...', async () => { const { connect } = await start({ heartbeatTimeoutMs: 300 }); });
 */
export function useServers(): (options?: ServerOptions, configure?: (server: PlumeServer) => void) => Promise<TestServer> {
  const servers: PlumeServer[] = [];
  const clients: RawClient[] = [];
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.dispose()));
    await Promise.all(servers.splice(0).map((s) => s.close()));
  });
  return async (options = {}, configure) => {
    const server = new PlumeServer({ logger: false, ...options });
    configure?.(server);
    servers.push(server);
    const address = await server.listen(0, '127.0.0.1');
    const connect = async (connectOptions?: ConnectOptions): Promise<RawClient> => {
      const client = await RawClient.connect(address.socketUrl, connectOptions);
      clients.push(client);
      return client;
    };
    return { ...address, server, connect };
  };
}

/** What a network adapter does to a message: JSON out, JSON in (a Buffer in it arrives as `{type, data}`). */
export class JsonAdapter extends MemoryAdapter {
  override publish(envelope: Envelope): void {
    super.publish(JSON.parse(JSON.stringify(envelope)) as Envelope);
  }
}

/**
 * Returns a function that starts two servers, nodes `a` and `b`, sharing one
 * memory engine store (one order per topic, one dedupe table, one bus), with
 * PubSub messages carried by `Adapter` (the in-memory one unless given).
 *
 * @example
 * const twoNodes = useTwoNodes(useServers());
 * it('...', async () => { const [a, b] = await twoNodes(JsonAdapter); });
 */
export function useTwoNodes(start: ReturnType<typeof useServers>): (Adapter?: typeof MemoryAdapter) => Promise<readonly [TestServer, TestServer]> {
  return async (Adapter = MemoryAdapter) => {
    const store = new MemoryStore();
    const engine = memoryEngine({ store, adapter: (bus, nodeName) => new Adapter({ bus, nodeName }) });
    return [await start({ engine, nodeId: 'a' }), await start({ engine, nodeId: 'b' })] as const;
  };
}

/** The topic's window in a server's memory engine, read synchronously (tests only). */
export function windowOf(server: PlumeServer, topic: string): { epoch: string; head: number; oldest: number } {
  if (!(server.engine instanceof MemoryEngine)) throw new Error('windowOf reads the memory engine only');
  return server.engine.history.window(topic);
}

/** Fetches `GET /health` and returns its status and JSON body. */
export async function health(url: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${url}/health`);
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}
