/**
 * Awareness over a channel (PROTOCOL.md §11) with real clients: someone who
 * joins a room late sees the others' states (names, cursors) at once, not
 * at their next renewal 15 s later (they answer its query), and the
 * answers stay few.
 */
import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { bindDoc, AWARENESS_EVENT } from '../src/yjs/index';
import { useDurableClients } from './durable-clients';
import { useServers } from './helpers';
import { deadline } from './waiting';

const start = useServers();
const { client } = useDurableClients();

async function member(url: string, name: string) {
  const socket = client(url, name);
  const room = socket.channel('room:aware');
  const sent: unknown[] = [];
  const ephemeral = room.ephemeral.bind(room);
  room.ephemeral = (event, payload) => {
    if (event === AWARENESS_EVENT) sent.push(payload);
    return ephemeral(event, payload);
  };
  const notes = bindDoc(room, new Y.Doc(), { persist: false });
  notes.awareness!.setLocalStateField('user', { id: name, name });
  await room.join();
  await notes.synced;
  return { notes, sent, names: () => [...notes.awareness!.getStates().values()].map((s) => (s as { user?: { name?: string } }).user?.name).sort() };
}

async function until(what: string, check: () => boolean, ms = 3000): Promise<void> {
  await deadline(ms, what, (async () => {
    while (!check()) await new Promise((r) => setTimeout(r, 10));
  })());
}

describe('awareness', () => {
  it('shows a latecomer everyone already there at once, with one answer from each', async () => {
    const { url } = await start();
    const ada = await member(url, 'ada');
    const bob = await member(url, 'bob');
    await until('ada and bob to see each other', () => ada.names().join() === 'ada,bob' && bob.names().join() === 'ada,bob');
    const before = [ada.sent.length, bob.sent.length];
    const cy = await member(url, 'cy');
    await until('cy to see ada and bob', () => cy.names().join() === 'ada,bob,cy');
    await new Promise((r) => setTimeout(r, 300)); // any further answers would have gone out by now
    expect([ada.sent.length - before[0]!, bob.sent.length - before[1]!]).toEqual([1, 1]);
    // Its state set before the join, again once joined, and its query.
    expect(cy.sent.length).toBe(3);
  });
});
