/**
 * Payloads that cannot be encoded as JSON (a BigInt, a cycle, nesting deeper
 * than the stack) coming from handlers or from server code: the failure stays
 * with its author, is reported, and never costs other members a frame or a seq.
 */
import { describe, expect, it } from 'vitest';
import { ok, type Reply } from '../server/channels/channel';
import type { Logger } from '../server/log';
import type { Payload } from '../src/protocol';
import { Recorder, useServers } from './helpers';

const start = useServers();

/** A logger that records the context of each error it is given. */
function errorLog(): { logger: Logger; errors: Recorder<string> } {
  const errors = new Recorder<string>();
  return { errors, logger: { info() {}, warn() {}, error: (message) => errors.push(message) } };
}

const bigint = { n: 1n } as unknown as Payload;

describe('payloads that cannot be encoded', () => {
  it('handleOut output that cannot be encoded drops that member\'s copy only', async () => {
    const { logger, errors } = errorLog();
    const { connect } = await start({ logger }, (server) => server.channel('room:*', {
      intercept: ['msg'],
      handleIn(event, payload, socket) {
        socket.broadcast(event, payload);
        return ok();
      },
      handleOut: (_event, payload, socket) => (socket.assigns.name === 'bad' ? bigint : payload),
    }));
    // The member whose copy fails joins first, so a failure that escaped would starve the others.
    const bad = await connect({ name: 'bad' });
    const good = await connect({ name: 'good' });
    const joinRef = await bad.joinOk('room:a');
    await good.joinOk('room:a');
    await bad.request('room:a', 'msg', { body: 'hi' }, joinRef);
    expect((await good.next((f) => f.event === 'msg')).payload).toEqual({ body: 'hi' });
    expect(await bad.drain((f) => f.event === 'msg')).toEqual([]);
    expect(await errors.next()).toMatch(/handleOut msg on room:a/);
  });

  it('handleOut output that is not an object is dropped and reported', async () => {
    const { logger, errors } = errorLog();
    const { connect } = await start({ logger }, (server) => server.channel('room:*', {
      intercept: ['msg'],
      handleIn(event, payload, socket) {
        socket.broadcast(event, payload);
        return ok();
      },
      handleOut: () => 'not an object' as unknown as Payload,
    }));
    const ada = await connect();
    const joinRef = await ada.joinOk('room:a');
    await ada.request('room:a', 'msg', {}, joinRef);
    expect(await ada.drain((f) => f.event === 'msg')).toEqual([]);
    expect(await errors.next()).toMatch(/handleOut msg/);
  });

  it('a push reply that cannot be encoded is reported and answered like a throw (phx_error)', async () => {
    const { logger, errors } = errorLog();
    const { connect } = await start({ logger }, (server) => server.channel('room:*', { handleIn: () => ok(bigint) }));
    const ada = await connect();
    const joinRef = await ada.joinOk('room:a');
    ada.push('room:a', 'get', {}, joinRef);
    expect((await ada.next((f) => f.event === 'phx_error')).joinRef).toBe(joinRef);
    expect(await errors.next()).toMatch(/reply to get on room:a/);
    expect(await ada.request('room:a', 'get', {}, joinRef)).toEqual({ status: 'error', response: { reason: 'unmatched topic' } });
  });

  it('a join response that cannot be encoded is answered "join crashed", and the channel is cleaned up', async () => {
    const { logger, errors } = errorLog();
    const terminated = new Recorder<string>();
    const { connect, server } = await start({ logger }, (s) => s.channel('room:*', {
      join: (): Reply => ok(bigint),
      terminate: (reason) => terminated.push(reason),
    }));
    const ada = await connect();
    expect((await ada.join('room:a')).reply).toEqual({ status: 'error', response: { reason: 'join crashed' } });
    expect(await errors.next()).toMatch(/join reply on room:a/);
    expect(await terminated.next()).toBe('crashed');
    expect(server.stats()).toMatchObject({ channels: 0, topics: 0 });
  });

  it('server.broadcast refuses an unencodable payload at once and takes no seq', async () => {
    const { connect, server } = await start();
    const ada = await connect({ params: { plume: '1' } });
    await ada.joinOk('room:a');
    const cyclic: Payload = {};
    cyclic.self = cyclic;
    expect(() => server.broadcast('room:a', 'msg', cyclic)).toThrow(/cannot be serialized/);
    expect(() => server.broadcast('room:a', 'msg', bigint)).toThrow(TypeError);
    expect((await server.broadcast('room:a', 'msg', { ok: true })).seq).toBe(1);
    expect((await ada.next((f) => f.event === 'msg')).meta).toMatchObject({ seq: 1 });
  });
});
