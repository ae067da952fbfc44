/**
 * RFC 6455 on the way out: a server frame's header (FIN, text or binary,
 * unmasked, the length) written into the headroom every `WireFrame` has in
 * front of its bytes, once per frame however many sockets get it.
 *
 * Responsible for the WebSocket framing of data frames; `ws` still writes
 * control frames (pongs, close) itself.
 */
import type { WireFrame } from '../wire/frame';

/**
 * The frame as WebSocket bytes: its header, then its data, in one buffer.
 * @example socket.write(webSocketBytes(textFrame('[null,"1","phoenix","phx_reply",{}]')))
 */
export function webSocketBytes(frame: WireFrame): Buffer {
  if (frame.encoded) return frame.encoded;
  const { data } = frame;
  const length = data.length;
  const head = length < 126 ? 2 : length < 65536 ? 4 : 10;
  let bytes: Buffer;
  if (data.byteOffset >= head) {
    bytes = Buffer.from(data.buffer, data.byteOffset - head, head + length);
  } else {
    // Not made by the frame builders (no headroom): copied once.
    bytes = Buffer.allocUnsafe(head + length);
    data.copy(bytes, head);
  }
  bytes[0] = frame.binary ? 0x82 : 0x81;
  if (head === 2) {
    bytes[1] = length;
  } else if (head === 4) {
    bytes[1] = 126;
    bytes.writeUInt16BE(length, 2);
  } else {
    bytes[1] = 127;
    bytes.writeUInt32BE(Math.floor(length / 2 ** 32), 2);
    bytes.writeUInt32BE(length >>> 0, 6);
  }
  frame.encoded = bytes;
  return bytes;
}
