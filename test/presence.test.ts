/**
 * Presence on a real server with raw clients, frame by frame: the grace
 * period (no leave-then-join on reconnect, a leave once it is over),
 * coalescing, the opt-in for app channels, and meta updates.
 */
import { describe, expect, it } from 'vitest';
import { ok, refuse } from '../server/channels/channel';
import { MemoryStore, memoryEngine } from '../server/engine/memory/engine';
import type { Frame, RawClient } from './helpers';
import { useServers } from './helpers';

const start = useServers();

const isDiff = (f: Frame): boolean => f.event === 'presence_diff';
const isState = (f: Frame): boolean => f.event === 'presence_state';

/** Connects `name` (with a tab id unless null), joins `topic` and waits for its presence_state. */
async function present(connect: (o: object) => Promise<RawClient>, name: string, topic: string, tab: string | null = `tab-${name}`) {
  const client = await connect({ name, params: tab ? { plume: '1', plume_tab: tab } : {} });
  const joinRef = await client.joinOk(topic);
  const state = await client.next(isState);
  return { client, joinRef, state: state.payload };
}

/** The metas of `key` in a state or diff half. */
function metas(state: Record<string, unknown>, key: string): Array<Record<string, unknown>> {
  return ((state[key] as { metas?: Array<Record<string, unknown>> } | undefined)?.metas) ?? [];
}

describe('the grace period', () => {
  it('a reconnect of the same tab within the grace period shows the others nothing at all', async () => {
    const { connect, server } = await start({ presenceCoalesceMs: 0, presenceGraceMs: 60_000 });
    const watcher = await present(connect, 'Watcher', 'room:g1');
    const ada = await present(connect, 'Ada', 'room:g1', 'tab-1');
    const [joined] = await watcher.client.take(1, isDiff);
    const ref = metas(joined!.payload.joins as Record<string, unknown>, 'Ada')[0]?.phx_ref;

    await ada.client.dispose();
    expect(await watcher.client.drain(isDiff)).toEqual([]); // the server has seen the close: no leave
    expect(metas(server.presence.list('room:g1'), 'Ada')).toEqual([{ name: 'Ada', phx_ref: ref }]);

    const again = await present(connect, 'Ada', 'room:g1', 'tab-1');
    expect(metas(again.state, 'Ada')).toEqual([{ name: 'Ada', phx_ref: ref }]); // its own presence, taken over
    expect(await watcher.client.drain(isDiff)).toEqual([]); // and still nothing for the others
    expect(metas(server.presence.list('room:g1'), 'Ada')).toHaveLength(1);
  });

  it('a closed socket leaves once the grace period is over, not before', async () => {
    const graceMs = 300;
    const { connect } = await start({ presenceCoalesceMs: 0, presenceGraceMs: graceMs });
    const watcher = await present(connect, 'Watcher', 'room:g2');
    const ada = await present(connect, 'Ada', 'room:g2');
    await watcher.client.take(1, isDiff);

    await ada.client.dispose();
    const closedAt = performance.now();
    expect(await watcher.client.drain(isDiff)).toEqual([]);
    const leave = await watcher.client.next(isDiff);
    expect(performance.now() - closedAt).toBeGreaterThanOrEqual(graceMs - 20);
    expect(Object.keys(leave.payload.leaves as object)).toEqual(['Ada']);
    expect(leave.payload.joins).toEqual({});
  });

  it('a deliberate leave is shown at once, whatever the grace period', async () => {
    const { connect } = await start({ presenceCoalesceMs: 0, presenceGraceMs: 60_000 });
    const watcher = await present(connect, 'Watcher', 'room:g3');
    const ada = await present(connect, 'Ada', 'room:g3');
    await watcher.client.take(1, isDiff);
    await ada.client.request('room:g3', 'phx_leave', {}, ada.joinRef);
    const leave = await watcher.client.next(isDiff);
    expect(Object.keys(leave.payload.leaves as object)).toEqual(['Ada']);
  });

  it('a reconnect from another tab is a new meta; the old one leaves after the grace period and the key never does', async () => {
    const { connect } = await start({ presenceCoalesceMs: 0, presenceGraceMs: 200 });
    const watcher = await present(connect, 'Watcher', 'room:g4');
    const ada = await present(connect, 'Ada', 'room:g4', 'tab-1');
    await watcher.client.take(1, isDiff);
    await ada.client.dispose();
    await present(connect, 'Ada', 'room:g4', 'tab-2');
    const [join, leave] = await watcher.client.take(2, isDiff);
    expect(metas(join!.payload.joins as Record<string, unknown>, 'Ada')).toHaveLength(1);
    expect(metas(leave!.payload.leaves as Record<string, unknown>, 'Ada')).toHaveLength(1);
  });

  it('a client without a tab id (a plain Phoenix client) takes over a lingering meta that has none either', async () => {
    const { connect, server } = await start({ presenceCoalesceMs: 0, presenceGraceMs: 60_000 });
    const watcher = await present(connect, 'Watcher', 'room:g5');
    const ada = await present(connect, 'Ada', 'room:g5', null);
    await watcher.client.take(1, isDiff);
    await ada.client.dispose();
    await present(connect, 'Ada', 'room:g5', null);
    expect(await watcher.client.drain(isDiff)).toEqual([]);
    expect(metas(server.presence.list('room:g5'), 'Ada')).toHaveLength(1);
  });
});

describe('a tab that comes back under another key (a rename)', () => {
  it('takes its lingering meta away at once: the others see the new key join and the old one leave', async () => {
    const { connect, server } = await start({ presenceCoalesceMs: 0, presenceGraceMs: 60_000 });
    const watcher = await present(connect, 'Watcher', 'room:r1');
    const ada = await present(connect, 'Ada', 'room:r1', 'tab-1');
    await watcher.client.take(1, isDiff);
    await ada.client.dispose();
    expect(await watcher.client.drain(isDiff)).toEqual([]); // lingering, as any dropped socket

    const adele = await present(connect, 'Adele', 'room:r1', 'tab-1');
    expect(Object.keys(adele.state)).toEqual(['Watcher', 'Adele']); // not in its own first state either
    const [diff] = await watcher.client.take(1, isDiff);
    expect(Object.keys(diff!.payload.joins as object)).toEqual(['Adele']);
    expect(Object.keys(diff!.payload.leaves as object)).toEqual(['Ada']);
    expect(Object.keys(server.presence.list('room:r1'))).toEqual(['Watcher', 'Adele']);
  });

  it('when the new socket joins before the old one is seen closing, the old meta leaves as soon as it closes', async () => {
    const { connect, server } = await start({ presenceCoalesceMs: 0, presenceGraceMs: 60_000 });
    const watcher = await present(connect, 'Watcher', 'room:r2');
    const ada = await present(connect, 'Ada', 'room:r2', 'tab-1');
    await watcher.client.take(1, isDiff);

    await present(connect, 'Adele', 'room:r2', 'tab-1');
    await watcher.client.take(1, isDiff); // Adele joins; Ada's socket is still open
    await ada.client.dispose();
    const [leave] = await watcher.client.take(1, isDiff); // long before the grace period is over
    expect(Object.keys(leave!.payload.leaves as object)).toEqual(['Ada']);
    expect(Object.keys(server.presence.list('room:r2'))).toEqual(['Watcher', 'Adele']);
  });

  it('leaves other tabs of the old key alone', async () => {
    const { connect, server } = await start({ presenceCoalesceMs: 0, presenceGraceMs: 60_000 });
    await present(connect, 'Watcher', 'room:r3');
    const ada = await present(connect, 'Ada', 'room:r3', 'tab-1');
    await present(connect, 'Ada', 'room:r3', 'tab-2');
    await ada.client.dispose();
    await present(connect, 'Adele', 'room:r3', 'tab-1');
    expect(metas(server.presence.list('room:r3'), 'Ada')).toHaveLength(1); // tab-2's
    expect(metas(server.presence.list('room:r3'), 'Adele')).toHaveLength(1);
  });
});

describe('coalescing', () => {
  it('joins within one interval reach a member as one diff, and joiners get one state that holds them all', async () => {
    const { connect } = await start({ presenceCoalesceMs: 400 });
    const watcher = await present(connect, 'Watcher', 'room:c1');
    const joiners = await Promise.all(['A', 'B', 'C', 'D', 'E'].map((name) => connect({ name })));
    await Promise.all(joiners.map((c) => c.joinOk('room:c1')));

    const [diff] = await watcher.client.take(1, isDiff);
    expect(Object.keys(diff!.payload.joins as object).sort()).toEqual(['A', 'B', 'C', 'D', 'E']);
    expect(await watcher.client.drain(isDiff)).toEqual([]);
    for (const joiner of joiners) {
      const state = await joiner.next(isState);
      expect(Object.keys(state.payload).sort()).toEqual(['A', 'B', 'C', 'D', 'E', 'Watcher']);
      expect(await joiner.drain((f) => isDiff(f) || isState(f))).toEqual([]);
    }
  });

  it('a meta that joins and leaves within one interval is never sent', async () => {
    const { connect } = await start({ presenceCoalesceMs: 400, presenceGraceMs: 0 });
    const watcher = await present(connect, 'Watcher', 'room:c2');
    const brief = await connect({ name: 'Brief' });
    await brief.joinOk('room:c2');
    await brief.dispose();
    const later = await connect({ name: 'Later' });
    await later.joinOk('room:c2');
    const [diff] = await watcher.client.take(1, isDiff);
    expect(diff!.payload).toEqual({ joins: { Later: { metas: [expect.objectContaining({ name: 'Later' })] } }, leaves: {} });
  });
});

describe('presence in app channels', () => {
  it('tracks only channels that opt in, with the app\'s fields, and lists them with server.presence.list', async () => {
    const { connect, server } = await start({ presenceCoalesceMs: 0 }, (s) => {
      s.channel('doc:*', {
        join(topic, params, socket) {
          if (params.observer !== true) s.presence.track(socket, { role: String(params.role) });
          else s.presence.watch(socket);
          return ok();
        },
      });
      s.channel('plain:*', { join: () => ok() });
    });
    const editor = await connect({ name: 'Ada' });
    await editor.joinOk('doc:1', { role: 'editor' });
    expect((await editor.next(isState)).payload).toEqual({ Ada: { metas: [{ role: 'editor', phx_ref: expect.any(String) }] } });
    const observer = await connect({ name: 'Eve' });
    await observer.joinOk('doc:1', { observer: true });
    expect(Object.keys((await observer.next(isState)).payload)).toEqual(['Ada']); // watching, not listed
    expect(Object.keys(server.presence.list('doc:1'))).toEqual(['Ada']);

    const plain = await connect({ name: 'Bob' });
    await plain.joinOk('plain:1');
    expect(await plain.drain((f) => isDiff(f) || isState(f))).toEqual([]);
    expect(server.presence.list('plain:1')).toEqual({});
  });

  it('a join refused after track leaves no trace', async () => {
    const { connect, server } = await start({ presenceCoalesceMs: 0 }, (s) => {
      s.channel('doc:*', {
        join(topic, params, socket) {
          s.presence.track(socket, {});
          return params.ok ? ok() : refuse('no');
        },
      });
    });
    const watcher = await connect({ name: 'Watcher' });
    await watcher.joinOk('doc:2', { ok: true });
    await watcher.next(isState);
    const refused = await connect({ name: 'Mallory' });
    expect((await refused.join('doc:2')).reply.status).toBe('error');
    expect(await watcher.drain(isDiff)).toEqual([]);
    expect(Object.keys(server.presence.list('doc:2'))).toEqual(['Watcher']);
  });

  it('sends presence_state after the join reply, even when the join handler is async', async () => {
    const { connect } = await start({ presenceCoalesceMs: 0 }, (s) => {
      s.channel('doc:*', {
        async join(topic, params, socket) {
          s.presence.track(socket, {});
          await new Promise((resolve) => setImmediate(resolve));
          return ok();
        },
      });
    });
    const client = await connect({ name: 'Ada' });
    const ref = client.push('doc:3', 'phx_join', {}, null);
    const [first, second] = await client.take(2, () => true);
    expect([first!.event, first!.ref, second!.event]).toEqual(['phx_reply', ref, 'presence_state']);
  });

  it('server code updates a meta: one diff with the old meta leaving and the new one joining with phx_ref_prev', async () => {
    const { connect } = await start({ presenceCoalesceMs: 0 }, (s) => {
      s.channel('doc:*', {
        join: (topic, params, socket) => (s.presence.track(socket, { status: 'online' }), ok()),
        handleIn: (event, payload, socket) => (s.presence.update(socket, (meta) => ({ ...meta, status: payload.status })), ok()),
      });
    });
    const ada = await present(connect, 'Ada', 'doc:4');
    const old = metas(ada.state, 'Ada')[0]!;
    expect((await ada.client.request('doc:4', 'set_status', { status: 'away' }, ada.joinRef)).status).toBe('ok');
    const diff = await ada.client.next(isDiff);
    expect(diff.payload).toEqual({
      joins: { Ada: { metas: [{ status: 'away', phx_ref: expect.any(String), phx_ref_prev: old.phx_ref }] } },
      leaves: { Ada: { metas: [old] } },
    });
  });
});

describe('untrack', () => {
  it('removes a presence at once, and the channel keeps receiving diffs', async () => {
    const { connect } = await start({ presenceCoalesceMs: 0, presenceGraceMs: 60_000 }, (s) => {
      s.channel('doc:*', {
        join: (topic, params, socket) => (s.presence.track(socket, {}), ok()),
        handleIn: (event, payload, socket) => (s.presence.untrack(socket), ok()),
      });
    });
    const ada = await present(connect, 'Ada', 'doc:5');
    await ada.client.request('doc:5', 'hide', {}, ada.joinRef);
    expect((await ada.client.next(isDiff)).payload).toEqual({ joins: {}, leaves: { Ada: { metas: [expect.any(Object)] } } });
    await present(connect, 'Bob', 'doc:5');
    expect(Object.keys((await ada.client.next(isDiff)).payload.joins as object)).toEqual(['Bob']);
  });
});

describe('plume:presence, a client setting its own fields', () => {
  it('merges the client\'s fields under the server\'s, which it cannot override', async () => {
    const { connect } = await start({ presenceCoalesceMs: 0 });
    const watcher = await present(connect, 'Watcher', 'room:u1');
    const ada = await present(connect, 'Ada', 'room:u1');
    await watcher.client.take(1, isDiff);
    const reply = await ada.client.request('room:u1', 'plume:presence', { typing: true, name: 'Mallory', phx_ref: 'forged' }, ada.joinRef);
    expect(reply).toEqual({ status: 'ok', response: {} });
    const diff = await watcher.client.next(isDiff);
    expect(metas(diff.payload.joins as Record<string, unknown>, 'Ada')).toEqual([
      { typing: true, name: 'Ada', phx_ref: expect.not.stringMatching(/^forged$/), phx_ref_prev: expect.any(String) },
    ]);
  });

  it('an update that changes nothing sends nothing', async () => {
    const { connect } = await start({ presenceCoalesceMs: 0 });
    const watcher = await present(connect, 'Watcher', 'room:u2');
    const ada = await present(connect, 'Ada', 'room:u2');
    await watcher.client.take(1, isDiff);
    await ada.client.request('room:u2', 'plume:presence', { typing: true }, ada.joinRef);
    await watcher.client.next(isDiff);
    await ada.client.request('room:u2', 'plume:presence', { typing: true }, ada.joinRef);
    expect(await watcher.client.drain(isDiff)).toEqual([]);
  });

  it('is refused on a channel that is not tracked, on a topic that is not joined, and over 2 KB', async () => {
    const { connect, server } = await start({}, (s) => s.channel('plain:*', { join: () => ok() }));
    const client = await connect({ name: 'Ada' });
    const joinRef = await client.joinOk('plain:1');
    expect(await client.request('plain:1', 'plume:presence', { typing: true }, joinRef)).toEqual({ status: 'error', response: { reason: 'not tracked' } });
    expect(await client.request('room:nope', 'plume:presence', {}, '99')).toEqual({ status: 'error', response: { reason: 'unmatched topic' } });
    const room = await client.joinOk('room:u3');
    const big = { status: 'x'.repeat(2100) };
    expect(await client.request('room:u3', 'plume:presence', big, room)).toEqual({ status: 'error', response: { reason: 'presence fields too large' } });
    expect(server.presence.list('room:u3').Ada?.metas[0]).not.toHaveProperty('status');
  });
});

describe('across two nodes sharing a memory engine store', () => {
  it('members on either node see each other, and a node that shuts down takes its members with it', async () => {
    const engine = memoryEngine({ store: new MemoryStore() });
    const nodeA = await start({ presenceCoalesceMs: 0, engine, nodeId: 'a' });
    const nodeB = await start({ presenceCoalesceMs: 0, engine, nodeId: 'b' });
    const ada = await present(nodeA.connect, 'Ada', 'room:n1');
    const bob = await present(nodeB.connect, 'Bob', 'room:n1');
    expect(Object.keys(bob.state).sort()).toEqual(['Ada', 'Bob']); // B had A's presences when Bob joined
    const [join] = await ada.client.take(1, isDiff);
    expect(Object.keys(join!.payload.joins as object)).toEqual(['Bob']);

    await nodeB.server.close(); // graceful: node b says it is down
    const [leave] = await ada.client.take(1, isDiff);
    expect(Object.keys(leave!.payload.leaves as object)).toEqual(['Bob']);
    expect(Object.keys(nodeA.server.presence.list('room:n1'))).toEqual(['Ada']);
  });
});
