import { beforeEach, describe, expect, it } from 'vitest';
import { FakeClock, FakeEnvironment, FakeTransport, flushMicrotasks, type FakeWebSocket } from '../test/fakes';
import { Presence, syncDiff, syncState, type PresenceEntry, type Presences } from './presence';
import type { PresenceMeta } from './protocol';
import { Socket } from './socket';
import type { Channel } from './channel';

const m = (ref: string, fields: object = {}): PresenceMeta => ({ phx_ref: ref, ...fields });
const entry = (...metas: PresenceMeta[]): PresenceEntry => ({ metas });
const refsOf = (state: Presences): Record<string, string[]> =>
  Object.fromEntries([...state].map(([key, e]) => [key, e.metas.map((meta) => meta.phx_ref)]));

describe('syncDiff', () => {
  it('adds joins, removes leaves by phx_ref, and drops a key with no metas left', () => {
    const state: Presences = new Map([['ada', entry(m('a1'))], ['bob', entry(m('b1'))]]);
    syncDiff(state, { joins: { ada: entry(m('a2')), cy: entry(m('c1')) }, leaves: { bob: entry(m('b1')) } });
    expect(refsOf(state)).toEqual({ ada: ['a1', 'a2'], cy: ['c1'] });
  });

  it('keeps a key with several metas when one of them leaves, and says so in onLeave', () => {
    const state: Presences = new Map([['ada', entry(m('a1'), m('a2'))]]);
    const leaves: Array<[string, string[], string[]]> = [];
    syncDiff(state, { joins: {}, leaves: { ada: entry(m('a1')) } }, undefined, (key, current, left) =>
      leaves.push([key, current.metas.map((x) => x.phx_ref), left.metas.map((x) => x.phx_ref)]));
    expect(leaves).toEqual([['ada', ['a2'], ['a1']]]);
    expect(refsOf(state)).toEqual({ ada: ['a2'] });
  });

  it('applies an update (old ref leaves, new ref joins with phx_ref_prev) without the key ever disappearing', () => {
    const state: Presences = new Map([['ada', entry(m('a1', { typing: false }))]]);
    const events: string[] = [];
    syncDiff(state, { joins: { ada: entry(m('a2', { typing: true, phx_ref_prev: 'a1' })) }, leaves: { ada: entry(m('a1')) } },
      (key, current) => events.push(`join ${key} ${current ? 'existing' : 'new'}`),
      (key, current) => events.push(`leave ${key} ${current.metas.length} left`));
    expect(events).toEqual(['join ada existing', 'leave ada 1 left']);
    expect(state.get('ada')?.metas).toEqual([m('a2', { typing: true, phx_ref_prev: 'a1' })]);
  });

  it('ignores a leave for a key it does not know and a join of a meta it already has', () => {
    const state: Presences = new Map([['ada', entry(m('a1'))]]);
    syncDiff(state, { joins: { ada: entry(m('a1')) }, leaves: { ghost: entry(m('g1')) } });
    expect(refsOf(state)).toEqual({ ada: ['a1'] });
  });
});

describe('syncState', () => {
  it('reports only what differs from the state it had: new keys and metas join, vanished ones leave', () => {
    const state: Presences = new Map([['ada', entry(m('a1'), m('a2'))], ['bob', entry(m('b1'))]]);
    const events: string[] = [];
    syncState(state, { ada: entry(m('a2'), m('a3')), cy: entry(m('c1')) },
      (key, _c, joined) => events.push(`+${key}:${joined.metas.map((x) => x.phx_ref).join()}`),
      (key, _c, left) => events.push(`-${key}:${left.metas.map((x) => x.phx_ref).join()}`));
    expect(events).toEqual(['+ada:a3', '+cy:c1', '-ada:a1', '-bob:b1']);
    expect(refsOf(state)).toEqual({ ada: ['a2', 'a3'], cy: ['c1'] });
  });

  it('takes keys that are Object.prototype names as data', () => {
    const state: Presences = new Map();
    syncState(state, JSON.parse('{"__proto__":{"metas":[{"phx_ref":"p1"}]},"constructor":{"metas":[{"phx_ref":"c1"}]}}'));
    expect([...state.keys()]).toEqual(['__proto__', 'constructor']);
    expect(state.get('__proto__')?.metas).toEqual([m('p1')]);
  });
});

describe('Presence on a channel', () => {
  let clock: FakeClock;
  let transport: FakeTransport;
  let socket: Socket;
  let ws: FakeWebSocket;
  let room: Channel;
  let presence: Presence;
  let syncs: string[][];

  /** The connection drops and comes back after the reconnect backoff. */
  async function reconnect(): Promise<void> {
    ws.drop();
    clock.advance(1_000);
    await flushMicrotasks();
    ws = transport.last;
    ws.open();
  }

  /** Joins the room and answers the join; returns the join ref. */
  function joinOk(): string {
    const join = ws.lastSent('phx_join');
    ws.deliver([join?.[0], join?.[1], 'room:a', 'phx_reply', { status: 'ok', response: {} }]);
    return String(join?.[0]);
  }

  beforeEach(async () => {
    clock = new FakeClock();
    transport = new FakeTransport();
    socket = new Socket('ws://example.test/socket', { clock, transport: transport.factory, environment: new FakeEnvironment(), random: () => 1 });
    socket.connect();
    await flushMicrotasks();
    ws = transport.last;
    ws.open();
    room = socket.channel('room:a');
    presence = new Presence(room);
    syncs = [];
    presence.onSync(() => syncs.push(presence.list((key, e) => `${key}×${e.metas.length}`)));
    room.join();
  });

  it('holds diffs that arrive before the state, and applies them after it', () => {
    const joinRef = joinOk();
    ws.deliver([null, null, 'room:a', 'presence_diff', { joins: { bob: entry(m('b1')) }, leaves: {} }]);
    expect(syncs).toEqual([]);
    ws.deliver([joinRef, null, 'room:a', 'presence_state', { ada: entry(m('a1')) }]);
    expect(syncs).toEqual([['ada×1', 'bob×1']]);
    ws.deliver([null, null, 'room:a', 'presence_diff', { joins: {}, leaves: { ada: entry(m('a1')) } }]);
    expect(syncs.at(-1)).toEqual(['bob×1']);
  });

  it('after a rejoin, holds diffs until the new join\'s state, and reports only what changed meanwhile', async () => {
    const first = joinOk();
    ws.deliver([first, null, 'room:a', 'presence_state', { ada: entry(m('a1')), bob: entry(m('b1')) }]);
    const events: string[] = [];
    presence.onJoin((key) => events.push(`+${key}`));
    presence.onLeave((key) => events.push(`-${key}`));

    await reconnect();
    const second = joinOk();
    expect(second).not.toBe(first);
    ws.deliver([null, null, 'room:a', 'presence_diff', { joins: { dee: entry(m('d1')) }, leaves: {} }]);
    expect(presence.list()).toHaveLength(2); // held: the state of this join has not come yet
    ws.deliver([second, null, 'room:a', 'presence_state', { ada: entry(m('a1')), cy: entry(m('c1')) }]);
    expect(events).toEqual(['+cy', '-bob', '+dee']); // ada stayed: no leave, no join
    expect(presence.list((key) => key)).toEqual(['ada', 'cy', 'dee']);
  });

  it('sends its fields on join, throttles updates, and sends them again after a rejoin', async () => {
    presence = new Presence(room, { throttleMs: 250 });
    presence.update({ typing: false });
    expect(ws.lastSent('plume:presence')).toBeUndefined(); // not joined yet
    joinOk();
    expect(ws.lastSent('plume:presence')?.[4]).toEqual({ typing: false });

    presence.update({ typing: true });
    presence.update({ typing: false, status: 'away' });
    expect(ws.sent.filter((f) => f[3] === 'plume:presence')).toHaveLength(1); // within the throttle window
    clock.advance(250);
    expect(ws.sent.filter((f) => f[3] === 'plume:presence').map((f) => f[4])).toEqual([{ typing: false }, { typing: false, status: 'away' }]);

    clock.advance(1_000);
    presence.update({ status: 'away' }); // no change: nothing to send
    expect(ws.sent.filter((f) => f[3] === 'plume:presence')).toHaveLength(2);

    await reconnect();
    joinOk();
    expect(ws.lastSent('plume:presence')?.[4]).toEqual({ typing: false, status: 'away' });
  });

  it('is live once the state of the current join has arrived, and not live from a drop until the next state', async () => {
    const changes: boolean[] = [];
    presence.onLiveChange((live) => changes.push(live));
    expect(presence.live).toBe(false);
    const first = joinOk();
    expect(presence.live).toBe(false); // joined, but the list is not known yet
    ws.deliver([first, null, 'room:a', 'presence_state', { ada: entry(m('a1')), bob: entry(m('b1')) }]);
    expect(presence.live).toBe(true);

    ws.drop();
    expect(presence.live).toBe(false);
    expect(presence.list((key) => key)).toEqual(['ada', 'bob']); // the last list seen, kept until a new state replaces it
    clock.advance(1_000);
    await flushMicrotasks();
    ws = transport.last;
    ws.open();
    const second = joinOk();
    expect(presence.live).toBe(false);
    ws.deliver([second, null, 'room:a', 'presence_state', { ada: entry(m('a1')) }]);
    expect(presence.live).toBe(true);
    expect(presence.list((key) => key)).toEqual(['ada']);
    expect(changes).toEqual([true, false, true]);
  });

  it('sees itself live in onSync of the state that makes it live', () => {
    const seen: boolean[] = [];
    presence.onSync(() => seen.push(presence.live));
    const joinRef = joinOk();
    ws.deliver([joinRef, null, 'room:a', 'presence_state', {}]);
    expect(seen).toEqual([true]);
  });

  it('sends its fields again after the throttle interval when the server answers "rate limited"', () => {
    presence = new Presence(room, { throttleMs: 250 });
    joinOk();
    presence.update({ typing: true });
    const refused = ws.lastSent('plume:presence');
    expect(refused?.[4]).toEqual({ typing: true });
    ws.deliver([refused?.[0], refused?.[1], 'room:a', 'phx_reply', { status: 'error', response: { reason: 'rate limited' } }]);
    const sends = () => ws.sent.filter((f) => f[3] === 'plume:presence').map((f) => f[4]);
    expect(sends()).toEqual([{ typing: true }]);
    clock.advance(250);
    expect(sends()).toEqual([{ typing: true }, { typing: true }]);
  });

  it('an exception in a callback does not stop the others or the merge', () => {
    presence.onJoin(() => {
      throw new Error('app bug');
    });
    const joined: string[] = [];
    presence.onJoin((key) => joined.push(key));
    const joinRef = joinOk();
    const reportError = globalThis.reportError;
    globalThis.reportError = () => {};
    try {
      ws.deliver([joinRef, null, 'room:a', 'presence_state', { ada: entry(m('a1')) }]);
    } finally {
      globalThis.reportError = reportError;
    }
    expect(joined).toEqual(['ada']);
    expect(syncs).toEqual([['ada×1']]);
  });
});
