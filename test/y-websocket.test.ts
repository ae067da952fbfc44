/**
 * The y-websocket endpoint (PROTOCOL.md §11, y-websocket clients) with a real
 * y-websocket `WebsocketProvider` (in Node, over `ws`), real Plume clients
 * with `bindDoc`, and a real server: edits and awareness both ways, the
 * document stored in the engine, tokens, read-only members, bad input.
 */
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import * as Y from 'yjs';
import { WebsocketProvider } from 'y-websocket';
import { signToken } from '../server/index';
import { Y_SYNC, awarenessMessage, readMessage, syncMessage } from '../server/docs/y-messages';
import { bindDoc, tokenProtocols, type DocBinding } from '../src/yjs/index';
import { Presence, type Socket } from '../src/index';
import { useDurableClients } from './durable-clients';
import { JsonAdapter, upgradeStatus, useServers, useTwoNodes } from './helpers';
import { deadline } from './waiting';

const start = useServers();
const { client, restart } = useDurableClients();
const SECRET = 'a-test-secret-that-is-long-enough-for-hs256';

const providers: WebsocketProvider[] = [];
const raws: WebSocket[] = [];
afterEach(() => {
  for (const p of providers.splice(0)) p.destroy();
  for (const ws of raws.splice(0)) ws.terminate();
});

/** Runs `body` while collecting what y-websocket warns (it reports a refused update with console.warn). */
async function collectingWarnings(body: (warned: string[]) => Promise<void>): Promise<string[]> {
  const warned: string[] = [];
  const warn = console.warn;
  console.warn = (message: string) => warned.push(message);
  try {
    await body(warned);
  } finally {
    console.warn = warn;
  }
  return warned;
}

async function until(what: string, check: () => boolean | Promise<boolean>, ms = 5000): Promise<void> {
  await deadline(ms, what, (async () => {
    while (!(await check())) await new Promise((r) => setTimeout(r, 10));
  })());
}

/** The text of the document the engine holds for `topic`. */
async function storedText(server: { engine: { documents: { load(topic: string): Promise<{ state: Uint8Array | null; updates: Uint8Array[] }> } } }, topic: string): Promise<string> {
  const stored = await server.engine.documents.load(topic);
  const parts = stored.state ? [stored.state, ...stored.updates] : stored.updates;
  const doc = new Y.Doc();
  if (parts.length > 0) Y.applyUpdate(doc, Y.mergeUpdates(parts));
  return doc.getText('body').toString();
}

/** A y-websocket client of `room` on the server at `url` (http://host:port). */
function provider(url: string, room: string, options: { params?: Record<string, string>; protocols?: string[]; doc?: Y.Doc } = {}): WebsocketProvider {
  const doc = options.doc ?? new Y.Doc();
  const p = new WebsocketProvider(`${url.replace(/^http/, 'ws')}/yjs`, room, doc, {
    WebSocketPolyfill: WebSocket as unknown as typeof globalThis.WebSocket, disableBc: true, maxBackoffTime: 200,
    params: options.params ?? { name: 'yuki' }, protocols: options.protocols ?? [],
  });
  providers.push(p);
  return p;
}

/** A Plume member of `topic` with its document (and awareness) bound. */
async function member(url: string, name: string, topic = 'room:notes'): Promise<{ socket: Socket; notes: DocBinding; text: Y.Text }> {
  const socket = client(url, name);
  const room = socket.channel(topic);
  const notes = bindDoc(room, new Y.Doc(), { persist: false, presence: new Presence(room) });
  await room.join();
  await notes.synced;
  return { socket, notes, text: notes.doc.getText('body') };
}

/** How the server closed a provider's socket (the provider stops on 4400–4499 and says so). */
function closedWith(p: WebsocketProvider): Promise<{ code: number; reason: string }> {
  return new Promise((resolve) => p.on('closed', (event) => resolve(event)));
}

/** A raw y-websocket connection, and the messages it receives, decoded. */
async function raw(url: string, room: string, options: { protocols?: string[] } = {}) {
  const ws = new WebSocket(`${url.replace(/^http/, 'ws')}/yjs/${room}`, options.protocols ?? []);
  raws.push(ws);
  const received: Uint8Array[] = [];
  ws.on('message', (data) => received.push(new Uint8Array(data as Buffer)));
  const closed = new Promise<{ code: number; reason: string }>((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
  return { ws, received, closed };
}

describe('a y-websocket client and Plume members of the same room', () => {
  it('edit one document: text typed on either side reaches the other', async () => {
    const { url } = await start();
    const ada = await member(url, 'ada');
    ada.text.insert(0, 'from plume. ');
    const yuki = provider(url, 'notes');
    const ytext = yuki.doc.getText('body');
    await until('the provider to sync and get the Plume edit', () => yuki.synced && ytext.toString() === 'from plume. ');
    ytext.insert(ytext.length, 'from y-websocket.');
    await until('ada to see the y-websocket edit', () => ada.text.toString() === 'from plume. from y-websocket.');
    ada.text.insert(0, '> ');
    ytext.insert(0, '# ');
    await until('both to converge', () => ada.text.toString() === ytext.toString() && ytext.length === 33);
  });

  it('brings offline y-websocket edits in when it connects, and a late Plume member gets them', async () => {
    const { url, server } = await start();
    const doc = new Y.Doc();
    doc.getText('body').insert(0, 'written before connecting');
    const yuki = provider(url, 'notes', { doc });
    await until('the provider to sync', () => yuki.synced);
    const ada = await member(url, 'ada');
    await until('ada to hold it', () => ada.text.toString() === 'written before connecting');
    expect(await storedText(server, 'room:notes')).toBe('written before connecting');
  });

  it('shares awareness both ways, at once for newcomers on either side, and the y-websocket client\'s states leave when it disconnects', async () => {
    const { url } = await start();
    const ada = await member(url, 'ada');
    const adaId = ada.notes.awareness!.clientID;
    ada.notes.awareness!.setLocalStateField('user', { id: 'ada', name: 'Ada' });
    // Within 5 s, so not from ada's renewal (every 15 s): the endpoint asked the room on joining.
    const yuki = provider(url, 'notes');
    await until('yuki to see ada\'s cursor', () => yuki.awareness.getStates().get(adaId)?.user?.name === 'Ada');
    yuki.awareness.setLocalStateField('user', { name: 'Yuki', color: '#0af' });
    await until('ada to see yuki\'s cursor', () => ada.notes.awareness!.getStates().get(yuki.awareness.clientID)?.user?.name === 'Yuki');
    // A member who joins later asks, and the endpoint answers for its client.
    const bob = await member(url, 'bob');
    await until('bob to see yuki', () => bob.notes.awareness!.getStates().get(yuki.awareness.clientID)?.user?.name === 'Yuki');
    ada.notes.awareness!.setLocalStateField('user', { id: 'ada', name: 'Ada', at: 1 });
    await until('yuki to have passed ada\'s change on back (y-websocket sends every change)', () => yuki.awareness.getStates().get(adaId)?.user?.at === 1);
    const removedAtBob: number[] = [];
    bob.notes.awareness!.on('change', ({ removed }: { removed: number[] }) => removedAtBob.push(...removed));
    yuki.disconnect();
    await until('yuki\'s state to leave ada\'s and bob\'s awareness', () => !ada.notes.awareness!.getStates().has(yuki.awareness.clientID) && !bob.notes.awareness!.getStates().has(yuki.awareness.clientID));
    // Only the y-websocket client's own state leaves: ada's cursor stays where bob sees it.
    await new Promise((r) => setTimeout(r, 100));
    expect(bob.notes.awareness!.getStates().get(adaId)?.user?.at).toBe(1);
    expect(removedAtBob).toEqual([yuki.awareness.clientID]);
  });

  it('drops a Plume member\'s cursor from the y-websocket client when the member\'s presence leaves, not 30 s later', async () => {
    const { url } = await start({ presenceGraceMs: 200 });
    const ada = await member(url, 'ada');
    const bob = await member(url, 'bob');
    const adaId = ada.notes.awareness!.clientID;
    ada.notes.awareness!.setLocalStateField('user', { id: 'ada', name: 'Ada' });
    bob.notes.awareness!.setLocalStateField('user', { id: 'bob', name: 'Bob' });
    const yuki = provider(url, 'notes');
    await until('yuki to see both cursors', () => yuki.awareness.getStates().get(adaId)?.user?.name === 'Ada' && yuki.awareness.getStates().get(bob.notes.awareness!.clientID)?.user?.name === 'Bob');
    // Gone without a goodbye: its socket drops; only its presence says so.
    ada.socket.disconnect();
    await until('ada\'s cursor to leave yuki\'s awareness', () => !yuki.awareness.getStates().has(adaId), 5000);
    expect(yuki.awareness.getStates().get(bob.notes.awareness!.clientID)?.user?.name).toBe('Bob');
  });

  it('is a member of the room: in presence while connected, gone after', async () => {
    const { url, server } = await start();
    const yuki = provider(url, 'notes', { params: { name: 'yuki' } });
    await until('the provider to sync', () => yuki.synced);
    expect(server.presence.list('room:notes')).toHaveProperty('yuki');
    expect(server.sockets().map((s) => s.assigns.name)).toContain('yuki');
    expect(server.counters).toMatchObject({ connections: 1, yWebsocketConnections: 1 });
    yuki.disconnect();
    await until('its socket to be gone', () => server.sockets().length === 0);
  });

  it('keeps the document through a server restart: the engine holds it while up, the clients\' copies bring it back (memory engine)', async () => {
    const first = await start();
    const yuki = provider(first.url, 'notes');
    const ytext = yuki.doc.getText('body');
    await until('the provider to sync', () => yuki.synced);
    ytext.insert(0, 'survives a restart');
    await until('the engine to store it', async () => (await storedText(first.server, 'room:notes')) === 'survives a restart');
    const port = first.port;
    await first.server.close();
    await restart(port);
    await until('the provider to reconnect and sync', () => yuki.wsconnected && yuki.synced, 10_000);
    const carl = await member(`http://127.0.0.1:${port}`, 'carl');
    await until('a new member to get the whole document', () => carl.text.toString() === 'survives a restart');
  });

  it('is stored like any document: the app\'s store hook gets it at compaction, and a fresh server loads it for the next client', async () => {
    const saved = new Map<string, Uint8Array>();
    const documents = { compactEvery: 1, store: (topic: string, state: Uint8Array) => void saved.set(topic, state), load: (topic: string) => saved.get(topic) ?? null };
    const first = await start({ documents });
    const yuki = provider(first.url, 'notes');
    await until('the provider to sync', () => yuki.synced);
    yuki.doc.getText('body').insert(0, 'kept by the app');
    await until('the store hook to hold it', () => {
      const state = saved.get('room:notes');
      if (!state) return false;
      const doc = new Y.Doc();
      Y.applyUpdate(doc, state);
      return doc.getText('body').toString() === 'kept by the app';
    });
    yuki.destroy();
    await first.server.close();
    const second = await start({ documents });
    const late = provider(second.url, 'notes');
    await until('a new client of a new server to get it', () => late.synced && late.doc.getText('body').toString() === 'kept by the app');
  });

  it('works across nodes: a y-websocket client on one and a Plume member on another edit and see each other', async () => {
    const [a, b] = await useTwoNodes(start)(JsonAdapter);
    const ada = await member(b!.url, 'ada');
    const yuki = provider(a!.url, 'notes');
    const ytext = yuki.doc.getText('body');
    await until('the provider to sync', () => yuki.synced);
    ytext.insert(0, 'node a. ');
    ada.text.insert(0, 'node b. ');
    await until('both to converge', () => ada.text.toString() === ytext.toString() && ytext.length === 16);
    yuki.awareness.setLocalStateField('user', { name: 'Yuki' });
    await until('ada to see yuki', () => ada.notes.awareness!.getStates().get(yuki.awareness.clientID)?.user?.name === 'Yuki');
    yuki.disconnect();
    await until('yuki to leave ada\'s awareness', () => !ada.notes.awareness!.getStates().has(yuki.awareness.clientID));
  });
});

describe('liveness and closes', () => {
  it('keeps a quiet client open with pings (its pongs count as heartbeats)', async () => {
    const { url, server } = await start({ heartbeatTimeoutMs: 400 });
    const quiet = await raw(url, 'notes');
    await new Promise((r) => setTimeout(r, 1200));
    expect(quiet.ws.readyState).toBe(WebSocket.OPEN);
    expect(server.sockets()).toHaveLength(1);
  });

  it('sends Plume\'s "come back later" closes as 45xx, which y-websocket reconnects after', async () => {
    const { url, server } = await start();
    const slow = await raw(url, 'notes');
    await until('the socket to be there', () => server.sockets().length === 1);
    server.disconnect(() => true, 4429, 'slow consumer');
    expect(await slow.closed).toEqual({ code: 4529, reason: 'slow consumer' });
    const yuki = provider(url, 'notes');
    await until('the provider to sync', () => yuki.synced);
    server.disconnect(() => true, 4408, 'heartbeat timeout');
    await until('the provider to come back', () => server.sockets().length === 1 && yuki.synced && yuki.wsconnected, 5000);
  });
});

describe('authorization', () => {
  const token = (sub: string, rooms = ['room:*']) => signToken({ sub, rooms }, SECRET);
  const bearer = (t: string) => tokenProtocols(t);

  it('with a secret, refuses a client without a token (4401) and one whose token does not allow the room (4403)', async () => {
    const { url } = await start({ secret: SECRET });
    const anonymous = provider(url, 'notes');
    expect(await closedWith(anonymous)).toEqual({ code: 4401, reason: 'token required' });
    const outsider = provider(url, 'notes', { protocols: bearer(token('olga', ['room:other'])) });
    expect(await closedWith(outsider)).toEqual({ code: 4403, reason: 'not allowed to join this room' });
  });

  it('takes a token in Sec-WebSocket-Protocol (tokenProtocols); in the URL only with allowQueryToken', async () => {
    expect(tokenProtocols('a.b.c')).toEqual(['phoenix', `base64url.bearer.phx.${Buffer.from('a.b.c').toString('base64url')}`]);
    expect(() => tokenProtocols('')).toThrow(/token is empty/);
    const { url } = await start({ secret: SECRET });
    const yuki = provider(url, 'notes', { protocols: bearer(token('yuki')) });
    await until('the provider to sync with its token', () => yuki.synced);
    const inUrl = provider(url, 'notes', { params: { token: token('yuki') } });
    expect((await closedWith(inUrl)).code).toBe(4401);
    const lax = await start({ secret: SECRET, allowQueryToken: true });
    const queried = provider(lax.url, 'notes', { params: { token: token('yuki') } });
    await until('the provider to sync with a query token', () => queried.synced);
  });

  it('refuses an Origin that is not allowed (403) and a bad room name (400) before upgrading', async () => {
    const { url } = await start({ secret: SECRET, allowedOrigins: ['https://app.example'] });
    const ws = url.replace(/^http/, 'ws');
    expect(await upgradeStatus(`${ws}/yjs/notes`, { name: null, headers: { Origin: 'https://evil.example' } })).toBe(403);
    expect(await upgradeStatus(`${ws}/yjs/%E0%A4%A`, { name: null })).toBe(400);
  });

  it('refuses a read-only member\'s edits with "read only"; the others never see them, and it still syncs', async () => {
    const { url } = await start({ documents: { authorize: (_topic, socket) => (socket.assigns.name === 'viewer' ? 'read' : 'write') } });
    const ada = await member(url, 'ada');
    ada.text.insert(0, 'by ada');
    const denied: string[] = [];
    const viewer = await raw(url, 'notes?name=viewer');
    viewer.ws.send(syncMessage(Y_SYNC.step1, Y.encodeStateVector(new Y.Doc())));
    await until('the viewer to get the document', () => viewer.received.some((m) => { const r = readMessage(m); return typeof r !== 'string' && r.type === 'update' && r.step2; }));
    const forged = new Y.Doc();
    forged.getText('body').insert(0, 'forged ');
    viewer.ws.send(syncMessage(Y_SYNC.update, Y.encodeStateAsUpdate(forged)));
    await until('the refusal', () => viewer.received.some((m) => m[0] === 2 && (denied.push(Buffer.from(m.subarray(3)).toString()), true)));
    expect(denied).toEqual(['read only']);
    await new Promise((r) => setTimeout(r, 100));
    expect(ada.text.toString()).toBe('by ada');
  });
});

describe('bad input', () => {
  it('closes a client the documents.authorize hook keeps out (4403), and takes an update over maxPayloadBytes in parts', async () => {
    const { url, server } = await start({ maxPayloadBytes: 1024, documents: { authorize: (_topic, socket) => socket.assigns.name !== 'outsider' && 'write' } });
    const outsider = provider(url, 'notes', { params: { name: 'outsider' } });
    expect(await closedWith(outsider)).toEqual({ code: 4403, reason: 'not allowed to read this document' });
    const yuki = provider(url, 'notes');
    await until('the provider to sync', () => yuki.synced);
    const ada = await member(url, 'ada');
    const warned = await collectingWarnings(async () => {
      yuki.doc.getText('body').insert(0, 'z'.repeat(5000));
      await until('ada to get it', () => ada.text.length === 5000);
    });
    expect(warned).toEqual([]);
    expect(await storedText(server, 'room:notes')).toBe('z'.repeat(5000));
  });

  it('closes a socket that sends a malformed message with 4400, and one that sends bytes that are not a Yjs update with 4400 "invalid update", storing nothing', async () => {
    const { url, server } = await start();
    const garbage = await raw(url, 'notes');
    garbage.ws.send(new Uint8Array([0, 0, 200]));
    expect(await garbage.closed).toEqual({ code: 4400, reason: 'malformed message: cut short' });
    const text = await raw(url, 'notes');
    text.ws.send('hello');
    expect((await text.closed).code).toBe(4400);
    const forged = await raw(url, 'notes');
    forged.ws.send(syncMessage(Y_SYNC.update, new Uint8Array([1, 2, 3, 4])));
    expect(await forged.closed).toEqual({ code: 4400, reason: 'invalid update' });
    const awareness = await raw(url, 'notes');
    awareness.ws.send(awarenessMessage(new Uint8Array([1, 5, 1, 3, 0x7b, 0x7b, 0x7b])));
    expect(await awareness.closed).toEqual({ code: 4400, reason: 'malformed message: invalid awareness update' });
    expect((await server.engine.documents.load('room:notes')).updates).toEqual([]);
  });

  it('random bytes never change the stored document nor stop the server serving it', async () => {
    const { url, server } = await start();
    const ada = await member(url, 'ada');
    ada.text.insert(0, 'intact');
    await until('it to be stored', async () => (await storedText(server, 'room:notes')) === 'intact');
    const samples = fc.sample(fc.uint8Array({ minLength: 1, maxLength: 48 }), { numRuns: 25, seed: 19 });
    for (const bytes of samples) {
      const fuzz = await raw(url, 'notes');
      fuzz.ws.send(bytes);
      fuzz.ws.send(syncMessage(Y_SYNC.update, bytes));
      await Promise.race([fuzz.closed, new Promise((r) => setTimeout(r, 50))]);
      fuzz.ws.terminate();
    }
    expect(await storedText(server, 'room:notes')).toBe('intact');
    const yuki = provider(url, 'notes');
    await until('a provider to still sync it', () => yuki.synced && yuki.doc.getText('body').toString() === 'intact');
  });

  it('closes a socket whose message passes maxFrameBytes (1009) and refuses updates past documents.maxBytes with "document too large"', async () => {
    const { url, server } = await start({ maxFrameBytes: 64 * 1024, documents: { maxBytes: 2000 } });
    const big = await raw(url, 'notes');
    big.ws.send(syncMessage(Y_SYNC.update, new Uint8Array(70 * 1024)));
    expect((await big.closed).code).toBe(1009);
    const yuki = provider(url, 'notes');
    await until('the provider to sync', () => yuki.synced);
    const warned = await collectingWarnings(async (seen) => {
      yuki.doc.getText('body').insert(0, 'x'.repeat(1500));
      await until('it to be stored', async () => (await storedText(server, 'room:notes')).length === 1500);
      yuki.doc.getText('body').insert(0, 'y'.repeat(1500));
      await until('the provider to be told', () => seen.some((w) => w.includes('document too large')));
    });
    expect(await storedText(server, 'room:notes')).toBe('x'.repeat(1500));
    const ada = await member(url, 'ada');
    expect(ada.text.toString()).toBe('x'.repeat(1500));
    expect(yuki.wsconnected).toBe(true);
    expect(warned).toHaveLength(1);
  });
});
