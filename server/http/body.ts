/**
 * Reads a request's JSON body within a byte bound: a larger body is refused
 * (413) as soon as it passes the bound, before it is all read or parsed.
 */
import type { IncomingMessage } from 'node:http';
import { ApiError } from './errors';

/**
 * Resolves with the parsed body; rejects with an {@link ApiError} for a body over `maxBytes`
 * (`payload_too_large`), a content type other than JSON, or text that is not JSON.
 * @example const body = await readJson(req, 1024 * 1024);
 */
export function readJson(req: IncomingMessage, maxBytes: number): Promise<unknown> {
  const type = req.headers['content-type'] ?? '';
  if (!/^application\/json\b/i.test(type)) {
    req.resume();
    return Promise.reject(new ApiError('unsupported_media_type', `send the body as JSON with "content-type: application/json" (got "${type.slice(0, 60)}")`));
  }
  const declared = Number(req.headers['content-length']);
  if (declared > maxBytes) {
    req.resume();
    return Promise.reject(tooLarge(maxBytes));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) {
        // Stop buffering; the rest is read and dropped so the answer can be written on a healthy connection.
        req.removeAllListeners('data');
        req.resume();
        reject(tooLarge(maxBytes));
        return;
      }
      chunks.push(chunk);
    });
    req.once('end', () => {
      if (size > maxBytes) return;
      try {
        resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')));
      } catch (cause) {
        reject(new ApiError('invalid_json', `the body is not valid JSON: ${(cause as Error).message}`, { cause }));
      }
    });
    req.once('error', reject);
  });
}

function tooLarge(maxBytes: number): ApiError {
  return new ApiError('payload_too_large', `the body is larger than ${maxBytes} bytes (apiMaxBodyBytes): send fewer messages per request`);
}
