/**
 * Structured JSON logs with pino: one JSON object per line on stdout, with
 * `level`, `time`, `msg`, the node's name, and the fields a call passed
 * (`socketId`, `reqId`, an error as `err` with its stack).
 *
 * Responsible for turning the `Logger` seam's calls into pino's, and for
 * keeping secrets out: fields named like tokens, keys, authorization
 * headers or payloads are censored wherever they appear (the server never
 * passes them, and this is the second line). Not responsible for choosing
 * the format (`format.ts`).
 */
import type { Logger as Pino } from 'pino';
import type { Logger } from '../log';

/** Log levels, most detailed first. */
export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** Field names never written, at any depth pino checks (top level and one below). */
const REDACTED = ['token', 'apiKey', 'authorization', 'secret', 'payload', 'password'].flatMap((k) => [k, `*.${k}`]).concat(['headers.authorization', 'headers["sec-websocket-protocol"]', 'req.headers.authorization']);

/** Makes pino log through the `Logger` seam. */
export function pinoLogger(pino: Pino): Logger {
  const call = (level: LogLevel) => (message: string, ...details: unknown[]) => {
    if (!pino.isLevelEnabled(level)) return;
    const fields: Record<string, unknown> = {};
    for (const detail of details) {
      if (detail instanceof Error) fields.err = detail;
      else if (detail !== null && typeof detail === 'object' && !Array.isArray(detail)) Object.assign(fields, detail);
      else if (detail !== undefined) ((fields.details ??= []) as unknown[]).push(detail);
    }
    pino[level](fields, message);
  };
  return { debug: call('debug'), info: call('info'), warn: call('warn'), error: call('error') };
}

/**
 * A JSON logger on stdout (or `destination`), loading pino on first use.
 * @example const log = await jsonLogger({ level: 'info', node: 'a' });
 */
export async function jsonLogger(options: { level?: LogLevel; node?: string; destination?: NodeJS.WritableStream } = {}): Promise<Logger> {
  const { default: pino } = await import('pino');
  const base = options.node ? { node: options.node } : {};
  const instance = pino({ level: options.level ?? 'info', base, redact: { paths: REDACTED, censor: '[redacted]' } }, (options.destination ?? process.stdout) as never);
  return pinoLogger(instance);
}
