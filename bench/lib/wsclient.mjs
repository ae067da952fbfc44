/**
 * A minimal WebSocket client for the load generator: the HTTP upgrade, a
 * frame parser that hands out views of complete text frames without
 * copying, and masked sends.
 *
 * Why not the `ws` package: one core has to receive millions of frames a
 * second from the fastest contender, and `ws` spends most of that core on
 * per-frame bookkeeping (events, buffer copies, UTF-8 validation). The same
 * client is used against every contender, so whatever it costs is the same
 * for all. Not a general client: no fragmentation, no extensions, no
 * validation beyond what the benchmark needs; the mask key is all zeroes
 * (legal on the wire, and it makes masking free).
 *
 * Reads land in one shared buffer (`onread`), not in a new Buffer per read
 * through the stream machinery: every read is parsed before the next one
 * happens, and the few bytes of a frame cut by a read are copied out. With
 * 2 KB frames the stream path alone kept the load generator's core busy
 * before the fastest server's was.
 */
import { randomBytes } from 'node:crypto';
import { connect as tcpConnect } from 'node:net';

const OP_TEXT = 0x1;
const OP_BINARY = 0x2;
const OP_CLOSE = 0x8;
const OP_PING = 0x9;
const ZERO_MASK = Buffer.alloc(4);
/** Where every socket's reads land (see the top of this file). */
const READ_BUFFER = Buffer.allocUnsafeSlow(256 * 1024);

/**
 * Builds one masked client frame (mask key 0000, so the payload is sent as is): a text frame for a
 * string, a binary frame for bytes.
 */
export function clientFrame(data) {
  const payload = typeof data === 'string' ? Buffer.from(data) : data;
  const length = payload.length;
  const headerLength = length < 126 ? 6 : length < 65536 ? 8 : 14;
  const frame = Buffer.allocUnsafe(headerLength + length);
  frame[0] = 0x80 | (typeof data === 'string' ? OP_TEXT : OP_BINARY);
  if (length < 126) {
    frame[1] = 0x80 | length;
  } else if (length < 65536) {
    frame[1] = 0x80 | 126;
    frame.writeUInt16BE(length, 2);
  } else {
    frame[1] = 0x80 | 127;
    frame.writeBigUInt64BE(BigInt(length), 2);
  }
  ZERO_MASK.copy(frame, headerLength - 4);
  frame.set(payload, headerLength);
  return frame;
}

/**
 * One client socket.
 *
 * `onText(buffer, start, end)` gets each text frame's payload as a range of a
 * buffer that is only valid during the call, and `onBinary` (optional) each
 * binary frame's the same way. `onClose(code)` gets the close code (1006
 * when the TCP connection ended without a close frame). `bytesIn` counts
 * the bytes read after the upgrade (frame headers included).
 */
export class RawSocket {
  constructor(socket, { onText, onBinary = () => {}, onClose }) {
    this.socket = socket;
    this.onText = onText;
    this.onBinary = onBinary;
    this.onClose = onClose;
    this.bytesIn = 0;
    this.rest = null; // unparsed bytes carried over from the previous read (a copy: the read buffer is shared)
    this.closed = false;
    this.closeCode = 1006;
    socket.on('close', () => this.finish());
    socket.on('error', () => this.finish());
  }

  /**
   * Opens `ws://host:port${path}` and resolves once the upgrade is answered 101.
   * @example const s = await RawSocket.connect({ port, path: '/', onText: (b, s, e) => {} });
   */
  static connect({ host = '127.0.0.1', port, path, onText, onBinary, onClose = () => {}, timeoutMs = 10_000 }) {
    return new Promise((resolve, reject) => {
      // Until the upgrade is answered, reads go to the handshake; then to the frame parser.
      let onRead = (chunk) => onData(chunk);
      const socket = tcpConnect({ host, port, noDelay: true, onread: { buffer: READ_BUFFER, callback: (n, buf) => onRead(buf.subarray(0, n)) } });
      let head = Buffer.alloc(0);
      const timer = setTimeout(() => fail(new Error(`upgrade to ${path} timed out after ${timeoutMs} ms`)), timeoutMs);
      const fail = (error) => {
        clearTimeout(timer);
        socket.destroy();
        reject(error);
      };
      const onData = (chunk) => {
        head = Buffer.concat([head, chunk]);
        const end = head.indexOf('\r\n\r\n');
        if (end === -1) return;
        clearTimeout(timer);
        socket.off('error', fail);
        const status = head.subarray(0, head.indexOf('\r\n')).toString();
        if (!/^HTTP\/1\.1 101/.test(status)) return fail(new Error(`upgrade refused: ${status}`));
        const client = new RawSocket(socket, { onText, onBinary, onClose });
        onRead = (chunk) => client.receive(chunk);
        resolve(client);
        if (end + 4 < head.length) client.receive(head.subarray(end + 4));
      };
      socket.on('error', fail);
      socket.write(
        `GET ${path} HTTP/1.1\r\nHost: ${host}:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
      );
    });
  }

  /** Sends one frame: text for a string, binary for bytes. */
  send(data) {
    this.socket.write(clientFrame(data));
  }

  /** Sends prebuilt frames (from {@link clientFrame}) in one write. */
  sendFrames(frames) {
    this.socket.write(frames.length === 1 ? frames[0] : Buffer.concat(frames));
  }

  /** Stops reading (the kernel buffers fill, then the server's). */
  pause() {
    this.socket.pause();
  }

  /** Drops the connection without a close handshake. */
  destroy() {
    this.socket.destroy();
  }

  receive(chunk) {
    this.bytesIn += chunk.length;
    let buf = chunk;
    if (this.rest !== null) {
      buf = Buffer.concat([this.rest, chunk]);
      this.rest = null;
    }
    let offset = 0;
    const length = buf.length;
    while (offset + 2 <= length) {
      const opcode = buf[offset] & 0x0f;
      let size = buf[offset + 1] & 0x7f;
      let start = offset + 2;
      if (size === 126) {
        if (start + 2 > length) break;
        size = buf.readUInt16BE(offset + 2);
        start += 2;
      } else if (size === 127) {
        if (start + 8 > length) break;
        size = Number(buf.readBigUInt64BE(offset + 2));
        start += 8;
      }
      const end = start + size;
      if (end > length) break;
      if (opcode === OP_TEXT) this.onText(buf, start, end);
      else if (opcode === OP_BINARY) this.onBinary(buf, start, end);
      else if (opcode === OP_CLOSE) this.closeCode = size >= 2 ? buf.readUInt16BE(start) : 1005;
      else if (opcode === OP_PING) this.pong(buf.subarray(start, end));
      offset = end;
    }
    if (offset < length) this.rest = Buffer.from(buf.subarray(offset));
  }

  pong(data) {
    const frame = Buffer.alloc(6 + data.length);
    frame[0] = 0x8a;
    frame[1] = 0x80 | data.length;
    data.copy(frame, 6);
    this.socket.write(frame);
  }

  finish() {
    if (this.closed) return;
    this.closed = true;
    this.onClose(this.closeCode);
  }
}
