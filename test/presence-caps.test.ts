/**
 * Presence is bounded (issue 20, finding 8): metas per key and per topic,
 * and the size of a meta's fields, so that one user cannot make every
 * newcomer's `presence_state` huge (PROTOCOL.md, Presence).
 */
import { describe, expect, it } from 'vitest';
import { ok } from '../server/channels/channel';
import { PresenceLimitError } from '../server/presence/limits';
import { deferred, Recorder, useServers, type RawClient } from './helpers';

const start = useServers();

/** Connects `count` sockets as `name` (a tab each, 25 at a time) and joins `topic` on each; resolves with the joins. */
async function joinMany(connect: (o: object) => Promise<RawClient>, name: string, topic: string, count: number, from = 0) {
  const joined: Array<{ client: RawClient; joinRef: string; reply: { status: string; response: Record<string, unknown> } }> = [];
  for (let at = 0; at < count; at += 25) {
    joined.push(...await Promise.all(Array.from({ length: Math.min(25, count - at) }, async (_, i) => {
      const client = await connect({ name, params: { plume: '1', plume_tab: `tab-${from + at + i}` } });
      return { client, ...(await client.join(topic)) };
    })));
  }
  return joined;
}

describe('presence caps', () => {
  it('refuses a join past presenceMaxMetasPerKey with "presence limit", so one user cannot swell a newcomer\'s state', async () => {
    const { connect, server } = await start({ presenceCoalesceMs: 0 });
    // The reproduction: 300 sockets of one user, each with 2 KB of its own fields.
    const joined = await joinMany(connect, 'mallory', 'room:caps', 300);
    const accepted = joined.filter((j) => j.reply.status === 'ok');
    expect(accepted).toHaveLength(128);
    for (const j of joined.filter((j) => j.reply.status !== 'ok')) expect(j.reply.response).toEqual({ reason: 'presence limit' });
    const fields = { status: 'x'.repeat(2000) };
    await Promise.all(accepted.map(async (j) => expect((await j.client.request('room:caps', 'plume:presence', fields, j.joinRef)).status).toBe('ok')));
    expect(server.presence.list('room:caps').mallory?.metas).toHaveLength(128);
    const newcomer = await connect({ name: 'newcomer' });
    await newcomer.joinOk('room:caps');
    const state = await newcomer.next((f) => f.event === 'presence_state');
    expect(state.raw.length).toBeLessThan(300 * 1024);
  });

  it('a refused socket leaves no trace, and once a meta leaves another socket of the key may join', async () => {
    const { connect, server } = await start({ presenceCoalesceMs: 0, presenceMaxMetasPerKey: 2 });
    const [first, second] = await joinMany(connect, 'ada', 'room:k', 2);
    const [third] = await joinMany(connect, 'ada', 'room:k', 1, 2);
    expect(third!.reply).toEqual({ status: 'error', response: { reason: 'presence limit' } });
    expect(server.presence.list('room:k').ada?.metas).toHaveLength(2);
    await first!.client.request('room:k', 'phx_leave', {}, first!.joinRef);
    expect((await third!.client.join('room:k')).reply.status).toBe('ok');
    expect(server.presence.list('room:k').ada?.metas).toHaveLength(2);
    expect(second!.reply.status).toBe('ok');
  });

  it('counts tracks whose async joins are still running, so joins in flight together cannot pass the cap', async () => {
    const gate = deferred();
    const waiting = new Recorder<string>();
    const { connect, server } = await start({ presenceCoalesceMs: 0, presenceMaxMetasPerKey: 2 }, (s) => {
      s.channel('doc:*', {
        async join(topic, params, socket) {
          waiting.push(socket.socketId);
          await gate.promise;
          s.presence.track(socket, {});
          await Promise.resolve(); // still joining when the next join tracks
          return ok();
        },
      });
    });
    const clients = await Promise.all([0, 1, 2].map(() => connect({ name: 'ada' })));
    const joins = clients.map((c) => c.join('doc:1'));
    for (let i = 0; i < 3; i++) await waiting.next(); // all three joins wait at the gate
    gate.resolve();
    const replies = (await Promise.all(joins)).map((j) => j.reply);
    expect(replies.filter((r) => r.status === 'ok')).toHaveLength(2);
    expect(replies.filter((r) => r.status === 'error')).toEqual([{ status: 'error', response: { reason: 'presence limit' } }]);
    expect(server.presence.list('doc:1').ada?.metas).toHaveLength(2);
  });

  it('refuses a join past presenceMaxPerTopic, whoever joins', async () => {
    const { connect } = await start({ presenceCoalesceMs: 0, presenceMaxPerTopic: 3 });
    for (const name of ['a', 'b', 'c']) expect((await (await connect({ name })).join('room:t')).reply.status).toBe('ok');
    expect((await (await connect({ name: 'd' })).join('room:t')).reply).toEqual({ status: 'error', response: { reason: 'presence limit' } });
    // Other topics are counted apart.
    expect((await (await connect({ name: 'd' })).join('room:other')).reply.status).toBe('ok');
  });

  it('bounds a meta\'s fields by presenceMaxMetaBytes: the client\'s (plume:presence) and the server\'s (track)', async () => {
    const { connect, server } = await start({ presenceCoalesceMs: 0, presenceMaxMetaBytes: 256 }, (s) => {
      s.channel('doc:*', { join: (topic, params, socket) => (s.presence.track(socket, { bio: String(params.bio ?? '') }), ok()) });
    });
    const ada = await connect({ name: 'ada' });
    const joinRef = await ada.joinOk('room:m');
    expect(await ada.request('room:m', 'plume:presence', { status: 'x'.repeat(300) }, joinRef)).toEqual({ status: 'error', response: { reason: 'presence fields too large' } });
    expect((await ada.request('room:m', 'plume:presence', { status: 'x'.repeat(200) }, joinRef)).status).toBe('ok');
    // Server fields that would be too large refuse the join, whatever the handler: they are often made of join params.
    expect((await ada.join('doc:1', { bio: 'y'.repeat(300) })).reply).toEqual({ status: 'error', response: { reason: 'presence fields too large' } });
    expect(server.presence.list('doc:1')).toEqual({});
    expect((await ada.join('doc:2', { bio: 'short' })).reply.status).toBe('ok');
  });

  it('server code sees a PresenceLimitError, with the reason, when it tracks past a cap outside a join', async () => {
    const errors: unknown[] = [];
    const { connect } = await start({ presenceCoalesceMs: 0, presenceMaxMetasPerKey: 1 }, (s) => {
      s.channel('doc:*', {
        join: () => ok(),
        handleIn(event, payload, socket) {
          try {
            s.presence.track(socket, {});
          } catch (error) {
            errors.push(error);
            return { status: 'error', response: { reason: (error as PresenceLimitError).reason } };
          }
          return ok();
        },
      });
    });
    const [one, two] = [await connect({ name: 'ada' }), await connect({ name: 'ada' })];
    const [r1, r2] = [await one.joinOk('doc:x'), await two.joinOk('doc:x')];
    expect((await one.request('doc:x', 'track_me', {}, r1)).status).toBe('ok');
    expect(await two.request('doc:x', 'track_me', {}, r2)).toEqual({ status: 'error', response: { reason: 'presence limit' } });
    expect(errors[0]).toBeInstanceOf(PresenceLimitError);
    expect((errors[0] as PresenceLimitError).code).toBe('presence_limit');
  });
});
