/**
 * Shared documents (PROTOCOL.md §11) with the real client (`plume/yjs`) and
 * a real server: sync by state vector, live updates in order, offline
 * edits that merge, a late joiner, compaction, a server that forgot the
 * document (memory engine restart), read-only members, bad updates.
 */
import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import type { Socket } from '../src/index';
import { bindDoc, type DocBinding } from '../src/yjs/index';
import { DOC_OPS, withOp, withPart } from '../src/yjs/sync';
import { encodePush } from '../src/protocol';
import { useDurableClients } from './durable-clients';
import { useServers, type RawClient } from './helpers';
import { PLUME, joinOkWith, requestWith } from './plume-frames';
import { deadline } from './waiting';

const start = useServers();
const { client, restart } = useDurableClients();

/** Polls until `check` holds. */
async function until(what: string, check: () => boolean | Promise<boolean>, ms = 5000): Promise<void> {
  await deadline(ms, what, (async () => {
    while (!(await check())) await new Promise((r) => setTimeout(r, 10));
  })());
}

/** A member of `topic` with its document bound (in memory: IndexedDB is the browser's part). */
async function member(url: string, name: string, topic = 'room:doc'): Promise<{ socket: Socket; notes: DocBinding; text: Y.Text }> {
  const socket = client(url, name);
  const room = socket.channel(topic);
  const notes = bindDoc(room, new Y.Doc(), { persist: false, awareness: false });
  await room.join();
  await notes.synced;
  return { socket, notes, text: notes.doc.getText('body') };
}

/** Sends a raw `plume:doc` binary push and resolves with its reply frame. */
async function rawDoc(client: RawClient, topic: string, joinRef: string, bytes: Uint8Array) {
  const ref = client.ref();
  client.send(Buffer.from(encodePush(joinRef, ref, topic, 'plume:doc', bytes)), { binary: true });
  return client.next((f) => f.event === 'phx_reply' && f.ref === ref);
}

describe('document updates in history (folded entries, PROTOCOL.md §7)', () => {
  it('replays and pages them as skips naming plume:doc, between the topic\'s messages in full', async () => {
    const { url, server, connect } = await start();
    const ada = await member(url, 'ada');
    const head = async (seq: number) => {
      await deadline(5000, `broadcast ${seq}`, (async () => {
        while ((await server.history.window('room:doc')).head < seq) await new Promise((r) => setTimeout(r, 10));
      })());
    };
    ada.text.insert(0, 'a');
    await head(1);
    await server.broadcast('room:doc', 'msg', { body: 'hi' });
    ada.text.insert(1, 'b');
    await head(3);
    const raw = await connect({ name: 'bob', params: PLUME });
    const replayed = raw.take(3, (f) => f.topic === 'room:doc' && f.event !== 'phx_reply' && f.event !== 'presence_state' && f.event !== 'presence_diff');
    const { joinRef, reply } = await joinOkWith(raw, 'room:doc', { history: 10 });
    expect(reply.meta).toMatchObject({ seq: 3, from: 1, recovered: true });
    expect((await replayed).map((f) => [f.event, f.payload, f.meta?.seq])).toEqual([
      ['plume:skip', { folded: 'plume:doc' }, 1], ['msg', { body: 'hi' }, 2], ['plume:skip', { folded: 'plume:doc' }, 3],
    ]);
    const page = await requestWith(raw, 'room:doc', joinRef, 'plume:history', { epoch: reply.meta!.epoch, from: 1, to: 3 });
    expect(page.payload).toMatchObject({ status: 'ok', response: { complete: true, entries: [{ seq: 1, skip: true, folded: 'plume:doc' }, { seq: 2, event: 'msg', payload: { body: 'hi' } }, { seq: 3, skip: true, folded: 'plume:doc' }] } });
  });

  it('brings a member that was away level by a sync: the edits it missed, and its own made meanwhile, on both sides', async () => {
    const { url } = await start();
    const ada = await member(url, 'ada');
    const bob = await member(url, 'bob');
    ada.text.insert(0, 'one ');
    await until('bob to hear it', () => bob.text.toString() === 'one ');
    bob.socket.disconnect();
    ada.text.insert(4, 'two ');
    bob.text.insert(4, 'three');
    bob.socket.connect();
    await until('both to converge', () => ada.text.length === 13 && ada.text.toString() === bob.text.toString());
    // Both inserted at 4: Yjs orders the two by client, the same way on both sides.
    expect(['one two three', 'one threetwo ']).toContain(ada.text.toString());
  });
});

describe('updates larger than a frame (parts, PROTOCOL.md §11)', () => {
  const storedText = async (server: { engine: { documents: { load(t: string): Promise<{ state: Uint8Array | null; updates: Uint8Array[] }> } } }) => {
    const stored = new Y.Doc();
    const { state, updates } = await server.engine.documents.load('room:doc');
    for (const update of state ? [state, ...updates] : updates) Y.applyUpdate(stored, update);
    return stored.getText('body').toString();
  };

  it('brings a 200 KB paste made offline to the others and to the store, in parts, and restores a forgotten document from a member\'s copy', async () => {
    const { url, server } = await start();
    const ada = await member(url, 'ada');
    const bob = await member(url, 'bob');
    bob.socket.disconnect();
    const paste = 'lorem ipsum '.repeat(17_000);
    bob.text.insert(0, paste);
    bob.socket.connect();
    await until('ada to get the paste', () => ada.text.length === paste.length, 10_000);
    expect(ada.text.toString()).toBe(paste);
    expect(await storedText(server)).toBe(paste);
    expect(bob.notes.refused).toBeNull();
  });

  it('cuts smaller parts while the server says payload too large', async () => {
    const { url, server } = await start({ maxPayloadBytes: 12 * 1024 });
    const ada = await member(url, 'ada');
    ada.text.insert(0, 'x'.repeat(40_000));
    await until('the document to be stored', async () => (await storedText(server)).length === 40_000, 10_000);
    expect(ada.notes.refused).toBeNull();
  });

  it('refuses parts out of order, a total over documents.maxBytes and a read-only member\'s parts, holding nothing', async () => {
    const { connect, server } = await start({ documents: { maxBytes: 100_000, authorize: (_topic, socket) => (socket.assigns.name === 'viewer' ? 'read' : 'write') } });
    const update = (() => {
      const doc = new Y.Doc();
      doc.getText('body').insert(0, 'p'.repeat(3000));
      return Y.encodeStateAsUpdate(doc);
    })();
    const raw = await connect({ name: 'mallory', params: PLUME });
    const { joinRef } = await joinOkWith(raw, 'room:doc');
    const reason = async (bytes: Uint8Array) => ((await rawDoc(raw, 'room:doc', joinRef, bytes)).payload as { status: string; response: { reason?: string } });
    expect(await reason(withPart(update.length, 0, update.subarray(0, 1000)))).toEqual({ status: 'ok', response: {} });
    expect(await reason(withPart(update.length, 2000, update.subarray(2000)))).toEqual({ status: 'error', response: { reason: 'invalid update' } });
    // What was held went with the refusal: the next part has nothing to continue.
    expect(await reason(withPart(update.length, 1000, update.subarray(1000, 2000)))).toEqual({ status: 'error', response: { reason: 'invalid update' } });
    expect(await reason(withPart(200_000, 0, update.subarray(0, 1000)))).toEqual({ status: 'error', response: { reason: 'document too large' } });
    expect(await reason(withPart(update.length, 0, update.subarray(0, 1500)))).toEqual({ status: 'ok', response: {} });
    expect(await reason(withPart(update.length, 1500, update.subarray(1500)))).toMatchObject({ status: 'ok' });
    expect((await server.engine.documents.load('room:doc')).updates).toHaveLength(1);
    const viewer = await connect({ name: 'viewer', params: PLUME });
    const joined = await joinOkWith(viewer, 'room:doc');
    expect((await rawDoc(viewer, 'room:doc', joined.joinRef, withPart(update.length, 0, update.subarray(0, 1000)))).payload).toEqual({ status: 'error', response: { reason: 'read only' } });
  });
});

describe('a document bound to a channel', () => {
  it('syncs edits made at once by two members, in the same order for both, and gives a late joiner the whole document', async () => {
    const { url } = await start();
    const ada = await member(url, 'ada');
    const bob = await member(url, 'bob');
    ada.text.insert(0, 'Hello');
    bob.text.insert(0, 'World');
    await until('both to converge', () => ada.text.toString().length === 10 && ada.text.toString() === bob.text.toString());
    ada.text.insert(5, ', ');
    bob.text.delete(0, 1);
    await until('the second round', () => ada.text.toString() === bob.text.toString() && ada.text.length === 11);
    const late = await member(url, 'carl');
    expect(late.text.toString()).toBe(ada.text.toString());
  });

  it('merges edits a member made while disconnected with everyone else\'s when it comes back', async () => {
    const { url, server } = await start();
    const ada = await member(url, 'ada');
    const bob = await member(url, 'bob');
    ada.text.insert(0, 'shared ');
    await until('bob to see it', () => bob.text.toString() === 'shared ');
    server.disconnect((s) => s.assigns.name === 'ada');
    await until('ada to be offline', () => ada.notes.status === 'offline');
    ada.text.insert(7, 'offline-ada ');
    bob.text.insert(0, 'online-bob ');
    await until('ada to be back and synced', () => ada.notes.status === 'synced', 10_000);
    await until('both to hold every edit', () => ada.text.toString() === bob.text.toString() && ada.text.toString().includes('offline-ada') && bob.text.toString().includes('online-bob'));
  });

  it('folds its log into a state every compactEvery updates, and a late joiner still gets everything', async () => {
    const { url, server } = await start({ documents: { compactEvery: 5 } });
    const ada = await member(url, 'ada');
    for (let i = 0; i < 23; i++) ada.text.insert(ada.text.length, `${i};`);
    const expected = Array.from({ length: 23 }, (_, i) => `${i};`).join('');
    const bob = await member(url, 'bob');
    await until('bob to hold all 23 edits', () => bob.text.toString() === expected);
    const stored = await server.engine.documents.load('room:doc');
    expect(stored.state).not.toBeNull();
    expect(stored.updates.length).toBeLessThan(5);
  });

  it('after a server restart that lost the document (memory engine), resyncs: the members\' copies bring it back, nothing diverges', async () => {
    const first = await start();
    const ada = await member(first.url, 'ada');
    const bob = await member(first.url, 'bob');
    ada.text.insert(0, 'kept by its members');
    await until('bob to see it', () => bob.text.toString() === 'kept by its members');
    const port = first.port;
    await first.server.close();
    const second = await restart(port);
    await until('both to sync with the new server', () => ada.notes.status === 'synced' && bob.notes.status === 'synced', 10_000);
    bob.text.insert(0, 'after restart: ');
    await until('ada to see it', () => ada.text.toString() === 'after restart: kept by its members', 10_000);
    const fresh = await member(`http://127.0.0.1:${port}`, 'carl');
    expect(fresh.text.toString()).toBe('after restart: kept by its members');
    void second;
  });
});

describe('who may edit, and what is refused', () => {
  it('answers a read-only member\'s update "read only" and keeps it from the others, while it still syncs', async () => {
    const { url, connect } = await start({ documents: { authorize: (_topic, socket) => (socket.assigns.name === 'viewer' ? 'read' : 'write') } });
    const ada = await member(url, 'ada');
    ada.text.insert(0, 'written by ada');
    const viewer = await member(url, 'viewer');
    expect(viewer.text.toString()).toBe('written by ada');
    const raw = await connect({ name: 'viewer', params: PLUME });
    const { joinRef } = await joinOkWith(raw, 'room:doc');
    const doc = new Y.Doc();
    doc.getText('body').insert(0, 'forged');
    const reply = await rawDoc(raw, 'room:doc', joinRef, withOp(DOC_OPS.update, Y.encodeStateAsUpdate(doc)));
    expect(reply.payload).toEqual({ status: 'error', response: { reason: 'read only' } });
    await new Promise((r) => setTimeout(r, 100));
    expect(ada.text.toString()).toBe('written by ada');
  });

  it('keeps a read-only member\'s own edits to itself: refused once, reported, not sent again in a loop, while it still receives', async () => {
    const { url } = await start({ documents: { authorize: (_topic, socket) => (socket.assigns.name === 'viewer' ? 'read' : 'write') } });
    const ada = await member(url, 'ada');
    ada.text.insert(0, 'by ada');
    const socket = client(url, 'viewer');
    const room = socket.channel('room:doc');
    let docPushes = 0;
    const push = room.push.bind(room);
    room.push = ((event: string, payload: never, ...rest: never[]) => {
      if (event === 'plume:doc') docPushes++;
      return push(event, payload, ...rest);
    }) as typeof room.push;
    const viewer = bindDoc(room, new Y.Doc(), { persist: false, awareness: false });
    const reasons: string[] = [];
    viewer.onRefused((reason) => reasons.push(reason));
    await room.join();
    await viewer.synced;
    viewer.doc.getText('body').insert(0, 'viewer was here ');
    await until('the refusal', () => viewer.refused === 'read only');
    // Long enough for a refuse-and-resync loop to push hundreds of times.
    await new Promise((r) => setTimeout(r, 1500));
    expect(docPushes).toBeLessThanOrEqual(3);
    expect(reasons).toEqual(['read only']);
    ada.text.insert(ada.text.length, ', then more');
    await until('the viewer to still receive', () => viewer.doc.getText('body').toString().includes(', then more'));
    expect(ada.text.toString()).toBe('by ada, then more');
  });

  it('stores no update its sender had no history quota to broadcast: the document holds what every member heard', async () => {
    // History keeps a document's updates folded, at 25 bytes each (PROTOCOL.md §7): 20 of them fill this share.
    const { url, server } = await start({ historyMaxBytesPerUser: 500 });
    const ada = await member(url, 'ada');
    const bob = await member(url, 'bob');
    for (let i = 0; i < 60 && ada.notes.refused === null; i++) {
      ada.text.insert(ada.text.length, `${'x'.repeat(180)}${i};`);
      await new Promise((r) => setTimeout(r, 20));
    }
    await until('the quota refusal', () => ada.notes.refused === 'history quota exceeded');
    const storedText = async () => {
      const stored = new Y.Doc();
      const { state, updates } = await server.engine.documents.load('room:doc');
      for (const update of state ? [state, ...updates] : updates) Y.applyUpdate(stored, update);
      return stored.getText('body').toString();
    };
    // Bob holds exactly what is stored once the broadcasts in flight have reached him.
    let stored = '';
    await deadline(5000, 'bob to hold what is stored', (async () => {
      while (bob.text.toString() !== (stored = await storedText())) await new Promise((r) => setTimeout(r, 10));
    })());
    expect(stored.length).toBeGreaterThan(0);
    expect(ada.text.toString().startsWith(stored)).toBe(true);
    expect(ada.text.toString().length).toBeGreaterThan(stored.length);
  });

  it('refuses bytes that are not a Yjs update, and a document over maxBytes, storing nothing', async () => {
    const { connect, server } = await start({ documents: { maxBytes: 2000 } });
    const raw = await connect({ name: 'mallory', params: PLUME });
    const { joinRef } = await joinOkWith(raw, 'room:doc');
    expect((await rawDoc(raw, 'room:doc', joinRef, withOp(DOC_OPS.update, new Uint8Array([1, 2, 3])))).payload).toEqual({ status: 'error', response: { reason: 'invalid update' } });
    expect((await rawDoc(raw, 'room:doc', joinRef, new Uint8Array([9, 9]))).payload).toEqual({ status: 'error', response: { reason: 'invalid payload' } });
    const big = new Y.Doc();
    big.getText('body').insert(0, 'x'.repeat(1500));
    expect((await rawDoc(raw, 'room:doc', joinRef, withOp(DOC_OPS.update, Y.encodeStateAsUpdate(big)))).payload).toEqual({ status: 'ok', response: {} });
    big.getText('body').insert(0, 'y'.repeat(1500));
    const more = Y.encodeStateAsUpdate(big, Y.encodeStateVectorFromUpdate((await server.engine.documents.load('room:doc')).updates[0]!));
    expect((await rawDoc(raw, 'room:doc', joinRef, withOp(DOC_OPS.update, more))).payload).toEqual({ status: 'error', response: { reason: 'document too large' } });
    expect((await server.engine.documents.load('room:doc')).updates).toHaveLength(1);
  });

  it('does not let plain Phoenix sockets see document updates', async () => {
    const { url, connect } = await start();
    const phoenix = await connect({ name: 'phoebe' });
    await phoenix.joinOk('room:doc');
    const ada = await member(url, 'ada');
    ada.text.insert(0, 'plume only');
    await new Promise((r) => setTimeout(r, 100));
    expect(await phoenix.drain((f) => f.event === 'plume:doc')).toEqual([]);
  });
});
