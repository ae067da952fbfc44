/**
 * A Redis command encoded as RESP in one buffer, with one allocation: the
 * publish script's call carries seven arguments per broadcast, and building
 * it through ioredis's generic path (a string per argument, measured twice,
 * then copied) cost the node about as much as fanning the broadcast out.
 *
 * Responsible for the bytes of a command and for sending them through an
 * ioredis client (replies, errors, reconnects stay ioredis's). Not
 * responsible for which command.
 */
import { Command, type Redis } from 'ioredis';

const CRLF_LENGTH = 2;

/** Decimal digits of a non-negative integer. */
function digits(n: number): number {
  let count = 1;
  while (n >= 10) {
    n = Math.floor(n / 10);
    count++;
  }
  return count;
}

/** Writes `n` in decimal at `at`; returns the offset after it. */
function writeDecimal(out: Buffer, at: number, n: number): number {
  const end = at + digits(n);
  for (let i = end - 1; i >= at; i--) {
    out[i] = 0x30 + (n % 10);
    n = Math.floor(n / 10);
  }
  return end;
}

/**
 * `*<count>\r\n` then `$<length>\r\n<bytes>\r\n` per part (strings as UTF-8).
 * @example encodeCommand(['GET', 'k']).toString() // '*2\r\n$3\r\nGET\r\n$1\r\nk\r\n'
 */
export function encodeCommand(parts: ReadonlyArray<string | Buffer>): Buffer {
  const lengths = new Array<number>(parts.length);
  let size = 1 + digits(parts.length) + CRLF_LENGTH;
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i]!;
    const length = typeof part === 'string' ? Buffer.byteLength(part) : part.length;
    lengths[i] = length;
    size += 1 + digits(length) + CRLF_LENGTH + length + CRLF_LENGTH;
  }
  const out = Buffer.allocUnsafe(size);
  out[0] = 0x2a; // *
  let at = writeDecimal(out, 1, parts.length);
  out[at++] = 13;
  out[at++] = 10;
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i]!;
    const length = lengths[i]!;
    out[at++] = 0x24; // $
    at = writeDecimal(out, at, length);
    out[at++] = 13;
    out[at++] = 10;
    if (typeof part === 'string') at += out.write(part, at, length, 'utf8');
    else {
      out.set(part, at);
      at += length;
    }
    out[at++] = 13;
    out[at++] = 10;
  }
  return out;
}

/** A command ioredis sends as the given bytes (`name` is what it is: it decides nothing but logs). */
class EncodedCommand extends Command {
  constructor(name: string, private readonly bytes: Buffer) {
    super(name, [], { replyEncoding: 'utf8' });
  }

  override toWritable(): Buffer {
    return this.bytes;
  }
}

/**
 * Sends an encoded command on `redis` (written at once, not auto-pipelined); resolves with its reply,
 * strings as UTF-8.
 * @example await sendEncoded(redis, 'get', encodeCommand(['GET', 'k']))
 */
export function sendEncoded(redis: Redis, name: string, bytes: Buffer): Promise<unknown> {
  return redis.sendCommand(new EncodedCommand(name, bytes)) as Promise<unknown>;
}
