/**
 * Errors the client reports. Network outcomes are never thrown: they arrive
 * as results or through `socket.onError`. Only misuse throws.
 */

/** Stable error codes. */
export type PlumeErrorCode =
  | 'unauthorized' // close 4401: token missing, invalid or expired
  | 'forbidden' // close 4403: the server's connect hook refused the socket
  | 'protocol' // close 4400/1003/1007/1009: the server says we broke the protocol
  | 'transport' // the connection failed or dropped
  | 'rate_limited' // close 4420: this client sent faster than the server's rate limits allow, long enough to be cut off
  | 'storage'; // IndexedDB is missing or refused a write (a full quota included)

/** An error with a stable `code`, and the close code / reason when a close caused it. */
export class PlumeError extends Error {
  readonly code: PlumeErrorCode;
  readonly closeCode: number | undefined;

  constructor(code: PlumeErrorCode, message: string, options: { closeCode?: number; cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.name = 'PlumeError';
    this.code = code;
    this.closeCode = options.closeCode;
  }
}
