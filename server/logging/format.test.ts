import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { resolveLogFormat, resolveLogLevel } from './format';
import { jsonLogger } from './json';

/** A JSON logger writing into an array of parsed lines. */
async function capture(level: 'debug' | 'info' = 'info') {
  const stream = new PassThrough();
  const lines: Record<string, unknown>[] = [];
  stream.on('data', (chunk: Buffer) => chunk.toString().split('\n').filter(Boolean).forEach((l) => lines.push(JSON.parse(l) as Record<string, unknown>)));
  const log = await jsonLogger({ level, node: 'n1', destination: stream });
  const flushed = () => new Promise((resolve) => setImmediate(resolve));
  return { log, lines, flushed };
}

describe('choosing the log format', () => {
  it('is pretty in a terminal and JSON otherwise, unless --log-format or PLUME_LOG_FORMAT says', () => {
    expect(resolveLogFormat(undefined, undefined, true)).toBe('pretty');
    expect(resolveLogFormat(undefined, undefined, false)).toBe('json');
    expect(resolveLogFormat(undefined, 'json', true)).toBe('json');
    expect(resolveLogFormat('pretty', 'json', false)).toBe('pretty');
    expect(resolveLogFormat(undefined, '', false)).toBe('json');
    expect(() => resolveLogFormat('xml', undefined, true)).toThrow(/must be "pretty" or "json"/);
  });

  it('takes a level from --log-level or PLUME_LOG_LEVEL, info by default', () => {
    expect(resolveLogLevel(undefined, undefined)).toBe('info');
    expect(resolveLogLevel(undefined, 'debug')).toBe('debug');
    expect(() => resolveLogLevel('loud', undefined)).toThrow(/debug, info, warn, error/);
  });
});

describe('JSON logs', () => {
  it('write one object per line with level, msg, node, fields and the error with its stack', async () => {
    const { log, lines, flushed } = await capture();
    log.info('socket opened', { socketId: 's1', remote: '127.0.0.1' });
    log.error('error in a frame from socket s1:', new Error('boom'));
    log.debug!('not at info');
    await flushed();
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatchObject({ level: 30, msg: 'socket opened', node: 'n1', socketId: 's1', remote: '127.0.0.1' });
    expect(lines[1]).toMatchObject({ level: 50, msg: 'error in a frame from socket s1:', err: { message: 'boom', stack: expect.stringContaining('Error: boom') } });
  });

  it('never write tokens, keys, authorization headers or payloads, even when a caller passes them', async () => {
    const { log, lines, flushed } = await capture();
    log.warn('oops', { token: 'eyJhbGciOi.secret', apiKey: 'k-123', payload: { body: 'private' }, req: { headers: { authorization: 'Bearer k-123' } }, reqId: 'r1' });
    await flushed();
    const text = JSON.stringify(lines);
    expect(text).not.toMatch(/eyJhbGciOi|k-123|private/);
    expect(lines[0]).toMatchObject({ reqId: 'r1', token: '[redacted]' });
  });
});
