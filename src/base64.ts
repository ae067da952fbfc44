/**
 * Base64 in the browser and in Node without Buffer: bytes to text and back,
 * in the standard and the URL-safe alphabet (padding optional when reading).
 */

/**
 * Bytes as standard base64 (with padding).
 * @example toBase64(new Uint8Array([1, 2, 3])) // "AQID"
 */
export function toBase64(bytes: Uint8Array): string {
  let binary = '';
  // In slices: String.fromCharCode's arguments are bounded by the stack.
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary);
}

/**
 * Bytes from base64 in either alphabet; throws on characters of neither.
 * @example fromBase64('AQID') // Uint8Array [1, 2, 3]
 */
export function fromBase64(text: string): Uint8Array<ArrayBuffer> {
  const binary = atob(text.replace(/-/g, '+').replace(/_/g, '/'));
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

/**
 * Text as unpadded base64url of its UTF-8 bytes.
 * @example base64url('a?b') // "YT9i"
 */
export function base64url(text: string): string {
  return toBase64(new TextEncoder().encode(text)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/**
 * The UTF-8 text of base64 (either alphabet).
 * @example textOfBase64('YT9i') // "a?b"
 */
export function textOfBase64(text: string): string {
  return new TextDecoder().decode(fromBase64(text));
}
