/**
 * lib0's variable-length unsigned integers (the encoding of every length in
 * y-protocols' messages), read from a range of a buffer without copying.
 * Written here rather than with lib0's decoder so the load generator makes
 * no object per received frame.
 */

/** Reads one varUint at `pos`; returns it and the position after it in `out` (out[0], out[1]). */
export function readVarUint(buf, pos, out) {
  let value = 0;
  let shift = 0;
  for (;;) {
    const byte = buf[pos++];
    value += (byte & 0x7f) * 2 ** shift;
    shift += 7;
    if (byte < 0x80) break;
  }
  out[0] = value;
  out[1] = pos;
  return out;
}

/** The bytes of a varUint. */
export function varUint(value) {
  const bytes = [];
  while (value > 0x7f) {
    bytes.push(0x80 | (value & 0x7f));
    value = Math.floor(value / 128);
  }
  bytes.push(value);
  return bytes;
}

/** A varString: its UTF-8 length as a varUint, then the bytes. */
export function varString(text) {
  const bytes = Buffer.from(text);
  return Buffer.concat([Buffer.from(varUint(bytes.length)), bytes]);
}

/** A varUint8Array: its length as a varUint, then the bytes. */
export function varBytes(bytes) {
  return Buffer.concat([Buffer.from(varUint(bytes.length)), bytes]);
}
