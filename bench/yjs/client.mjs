/**
 * One editor's socket to one document, in a contender's own protocol, over
 * the bench's raw WebSocket client (`bench/lib/wsclient.mjs`): opens it,
 * syncs from an empty document (`hello`), then hands every update it
 * receives to `onUpdate` as a range of a buffer valid only during the call.
 *
 * Not a Yjs provider: it applies nothing. Whoever needs the document applies
 * the bytes itself (the late-join part does).
 */
import { RawSocket, clientFrame } from '../lib/wsclient.mjs';

/**
 * @example
 * const editor = await DocClient.open(CONTENDERS.plume, port, 'a', { onUpdate: (buf, s, e) => {} });
 * editor.sendFrame(editor.frame(update));
 */
export class DocClient {
  /**
   * Connects and syncs; resolves once the server's answer to the sync arrived (`state` holds its bytes).
   * @param {object} contender from `protocols.mjs`
   */
  static async open(contender, port, doc, { onUpdate = () => {}, timeoutMs = 30_000 } = {}) {
    const client = new DocClient(contender, doc, onUpdate);
    client.startedAt = performance.now();
    const sink = client.sink();
    client.socket = await RawSocket.connect({
      port,
      path: contender.path(doc),
      timeoutMs,
      onText: (buf, start, end) => client.text(buf.toString('latin1', start, end)),
      onBinary: (buf, start, end) => contender.receive(buf, start, end, sink),
    });
    client.upgradedAt = performance.now();
    for (const step of contender.hello(doc)) {
      if (typeof step === 'string') {
        const joined = client.waitText((text) => text.includes('"phx_reply"') && text.includes('"status":"ok"'), timeoutMs);
        client.socket.send(step);
        await joined;
        client.joinedAt = performance.now();
      } else {
        client.socket.send(step);
      }
    }
    await client.ready(timeoutMs);
    if (contender.heartbeat) client.beat = setInterval(() => client.socket.send(contender.heartbeat), 20_000);
    return client;
  }

  constructor(contender, doc, onUpdate) {
    this.contender = contender;
    this.doc = doc;
    this.onUpdate = onUpdate;
    /** The sync's answer: the update that brings an empty document level with the server's. */
    this.state = null;
    /** When `open` started and when the answer arrived (performance.now()). */
    this.startedAt = 0;
    this.syncedAt = 0;
    /** When the upgrade was answered, and (Plume) when the join was. */
    this.upgradedAt = 0;
    this.joinedAt = 0;
    this.textWaiters = [];
    this.stateWaiter = null;
    this.beat = null;
  }

  sink() {
    return {
      onUpdate: (buf, start, end) => this.onUpdate(buf, start, end),
      onState: (buf, start, end) => {
        if (this.state !== null) return;
        this.syncedAt = performance.now();
        this.state = Uint8Array.from(buf.subarray(start, end));
        this.stateWaiter?.();
      },
    };
  }

  /** The client frame that sends `update` to this document (build once, send many times). */
  frame(update) {
    return clientFrame(this.contender.update(this.doc, update));
  }

  /** Sends prebuilt frames in one write. */
  sendFrames(frames) {
    this.socket.sendFrames(frames);
  }

  /** Bytes received after the upgrade, frame headers included. */
  get bytesIn() {
    return this.socket.bytesIn;
  }

  close() {
    clearInterval(this.beat);
    this.socket.destroy();
  }

  text(text) {
    for (const waiter of this.textWaiters.splice(0)) if (!waiter(text)) this.textWaiters.push(waiter);
  }

  waitText(match, timeoutMs) {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${this.contender.name}: no join reply for ${this.doc} within ${timeoutMs} ms`)), timeoutMs);
      this.textWaiters.push((text) => {
        if (!match(text)) return false;
        clearTimeout(timer);
        resolve(text);
        return true;
      });
    });
  }

  ready(timeoutMs) {
    if (this.state !== null) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${this.contender.name}: no sync answer for ${this.doc} within ${timeoutMs} ms`)), timeoutMs);
      this.stateWaiter = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }
}
