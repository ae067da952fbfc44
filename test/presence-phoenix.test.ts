/**
 * The official `phoenix` client's `Presence`, unmodified, against a Plume
 * server's relay channel: it lists members and sees joins and leaves.
 */
import { describe, expect, it } from 'vitest';
import { Presence as PhoenixPresence, type Channel as PhoenixChannel } from 'phoenix';
import { usePhoenixClients } from './clients';
import { useServers } from './helpers';
import { deadline, Recorder } from './waiting';

const start = useServers();
const phoenix = usePhoenixClients();

function joined(channel: PhoenixChannel): Promise<unknown> {
  return deadline(2000, 'the phoenix join', new Promise((resolve, reject) => {
    channel.join().receive('ok', resolve).receive('error', reject).receive('timeout', () => reject(new Error('join timeout')));
  }));
}

/** A phoenix client in `topic` with a Presence that records every sync as the sorted list of `key:name×metas`. */
async function member(url: string, name: string, topic: string) {
  const socket = phoenix(url, { name });
  socket.connect();
  const channel = socket.channel(topic, {});
  const presence = new PhoenixPresence(channel);
  const syncs = new Recorder<string[]>();
  const joins = new Recorder<string>();
  const leaves = new Recorder<string>();
  presence.onJoin((key, current) => joins.push(`${key}${current ? '+' : ''}`));
  presence.onLeave((key, current) => leaves.push(`${key}${current.metas.length > 0 ? '-' : ''}`));
  presence.onSync(() => syncs.push(presence.list((key, { metas }) => `${key}:${String(metas[0]?.name)}×${metas.length}`).sort()));
  await joined(channel);
  return { socket, channel, presence, syncs, joins, leaves };
}

/** Waits until a recorder's latest value is `expected`. */
async function until(syncs: Recorder<string[]>, expected: string[]): Promise<void> {
  for (;;) if (JSON.stringify(await syncs.next()) === JSON.stringify(expected)) return;
}

describe('the official phoenix Presence against a Plume server', () => {
  it('lists the members of a relay room, and sees a join and a leave', async () => {
    const { url } = await start({ presenceCoalesceMs: 0 });
    const ada = await member(url, 'Ada', 'room:presence');
    await until(ada.syncs, ['Ada:Ada×1']);
    expect(await ada.joins.next()).toBe('Ada');

    const bob = await member(url, 'Bob', 'room:presence');
    await until(bob.syncs, ['Ada:Ada×1', 'Bob:Bob×1']);
    await until(ada.syncs, ['Ada:Ada×1', 'Bob:Bob×1']);
    expect(await ada.joins.next()).toBe('Bob');

    bob.channel.leave();
    await until(ada.syncs, ['Ada:Ada×1']);
    expect(await ada.leaves.next()).toBe('Bob');
  });

  it('shows two sockets of one person as one key with two metas, and one leaving as a meta leave', async () => {
    const { url } = await start({ presenceCoalesceMs: 0 });
    const watcher = await member(url, 'Watcher', 'room:tabs');
    const first = await member(url, 'Ada', 'room:tabs');
    const second = await member(url, 'Ada', 'room:tabs');
    await until(watcher.syncs, ['Ada:Ada×2', 'Watcher:Watcher×1']);
    await until(second.syncs, ['Ada:Ada×2', 'Watcher:Watcher×1']);

    first.channel.leave();
    await until(watcher.syncs, ['Ada:Ada×1', 'Watcher:Watcher×1']);
    expect(await watcher.leaves.next()).toBe('Ada-'); // a meta left; the key stays
  });

  it('receives presence_state with the join_ref of its join and presence_diff as a broadcast, exactly the Phoenix shapes', async () => {
    const { url, connect } = await start({ presenceCoalesceMs: 0 });
    const raw = await connect({ name: 'Raw' });
    const joinRef = await raw.joinOk('room:shapes');
    const state = await raw.next((f) => f.event === 'presence_state');
    expect(state.joinRef).toBe(joinRef);
    expect(state.ref).toBeNull();
    expect(state.length).toBe(5);
    expect(state.payload).toEqual({ Raw: { metas: [{ name: 'Raw', phx_ref: expect.any(String) }] } });

    const ada = await member(url, 'Ada', 'room:shapes');
    const diff = await raw.next((f) => f.event === 'presence_diff');
    expect([diff.joinRef, diff.ref, diff.length]).toEqual([null, null, 5]);
    expect(diff.payload).toEqual({ joins: { Ada: { metas: [{ name: 'Ada', phx_ref: expect.any(String) }] } }, leaves: {} });

    ada.channel.leave();
    const leave = await raw.next((f) => f.event === 'presence_diff');
    expect(leave.payload).toEqual({ joins: {}, leaves: diff.payload.joins });
  });
});
