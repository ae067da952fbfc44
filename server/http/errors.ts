/**
 * The HTTP API's errors and JSON answers: every error is
 * `{"error": {"code", "message"}}` with a stable `code` (docs/openapi.yaml
 * lists them) and a message that says the fix.
 */
import type { ServerResponse } from 'node:http';

/** Stable error codes of the HTTP API, with their HTTP status. */
export const API_ERRORS = {
  unauthorized: 401,
  not_found: 404,
  method_not_allowed: 405,
  payload_too_large: 413,
  unsupported_media_type: 415,
  invalid_json: 400,
  invalid_request: 400,
  rate_limited: 429,
  quota_exceeded: 429,
  unavailable: 503,
  internal: 500,
} as const;

export type ApiErrorCode = keyof typeof API_ERRORS;

/**
 * A request the API refuses, answered with its status and `{error: {code, message}}`.
 * @example throw new ApiError('invalid_request', '"topic" must be a non-empty string');
 */
export class ApiError extends Error {
  readonly status: number;
  constructor(readonly code: ApiErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ApiError';
    this.status = API_ERRORS[code];
  }

  /** The error as the API's JSON body. */
  toJSON(): { error: { code: ApiErrorCode; message: string } } {
    return { error: { code: this.code, message: this.message } };
  }
}

/** Writes `body` as JSON with `status`; never cached. */
export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': String(Buffer.byteLength(text)), 'cache-control': 'no-store', ...headers });
  res.end(text);
}
