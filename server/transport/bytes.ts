/**
 * Buffer's per-encoding writers, typed. Every Node version has them (they
 * are what `Buffer#write` calls after parsing its arguments) but
 * `@types/node` does not declare them. On the hot path they matter: for a
 * 32-byte digest, `write(string, offset, length, encoding)` spent more on
 * its argument handling than on the copy.
 */
interface EncodingWriters {
  latin1Write(text: string, offset: number, length: number): number;
  utf8Write(text: string, offset: number, length: number): number;
}

/** Writes `text` (one byte per character, all below U+0100) at `offset`; returns the bytes written. */
export function latin1Write(buffer: Buffer, text: string, offset: number): number {
  return (buffer as unknown as EncodingWriters).latin1Write(text, offset, buffer.length - offset);
}

/** Writes `text` as UTF-8 at `offset`; returns the bytes written. */
export function utf8Write(buffer: Buffer, text: string, offset: number): number {
  return (buffer as unknown as EncodingWriters).utf8Write(text, offset, buffer.length - offset);
}
