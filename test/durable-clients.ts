/**
 * Plume clients with durable storage for integration tests: a fake
 * IndexedDB per test, "reloads" (a page goes, a new one opens the same
 * storage), server restarts on the same port, and recorders for what a
 * channel delivers. Everything is disposed after each test.
 */
import type { IDBFactory } from 'fake-indexeddb';
import { afterEach } from 'vitest';
import { PlumeServer } from '../server/server';
import type { Recovery } from '../src/delivery';
import { durable, type Durable } from '../src/durable';
import type { Socket, SocketOptions } from '../src/index';
import { nextState, usePlumeClients } from './clients';
import { Recorder } from './waiting';

/** Short backoffs and gap wait, so that tests run fast. */
export const FAST = { reconnect: { baseMs: 50, maxMs: 200 }, rejoin: { baseMs: 50, maxMs: 200 }, gapWaitMs: 50 };

export interface DurableClients {
  /** Durable storage `name` over `idb` (a page's view of IndexedDB). */
  storage(idb: IDBFactory, name: string): Durable;
  /** A connected Plume client whose dev-mode identity is `name`. */
  client(url: string, name: string, options?: SocketOptions): Socket;
  /** The page holding `socket` goes away: its socket stops and its storage closes. */
  unload(socket: Socket): void;
  /** Starts a new server (a new epoch) on the port a closed one used. */
  restart(port: number): Promise<PlumeServer>;
}

/**
 * Registers the cleanup and returns the factories; call once at the top of a test file.
 * @example const { client, storage } = useDurableClients();
 */
export function useDurableClients(): DurableClients {
  const connect = usePlumeClients();
  const opened = new Set<Durable>();
  const servers: PlumeServer[] = [];
  afterEach(async () => {
    for (const d of opened) d.outbox.close();
    opened.clear();
    await Promise.all(servers.splice(0).map((s) => s.close()));
  });
  return {
    storage(idb, name) {
      const d = durable({ name, indexedDB: idb });
      opened.add(d);
      return d;
    },
    client(url, name, options = {}) {
      const socket = connect(url, { params: { name }, ...FAST, ...options });
      socket.connect();
      return socket;
    },
    unload(socket) {
      socket.disconnect('unload');
      const d = socket.options.durable;
      if (d && opened.delete(d)) d.outbox.close();
    },
    async restart(port) {
      const server = new PlumeServer({ logger: false });
      servers.push(server);
      await server.listen(port, '127.0.0.1');
      return server;
    },
  };
}

/** What a channel delivered: `msg` bodies (awaitable), with their seq and id, and its recovery reports. */
export function record(socket: Socket, topic: string, options: { history?: number } = {}) {
  const room = socket.channel(topic, {}, options);
  const bodies = new Recorder<string>();
  const seen: Array<{ body: string; seq: unknown; id: unknown }> = [];
  room.on('msg', (payload, { meta }) => {
    seen.push({ body: String(payload.body), seq: meta?.seq, id: meta?.id });
    bodies.push(String(payload.body));
  });
  const recoveries = new Recorder<Recovery>();
  room.onRecover((report) => recoveries.push(report));
  return { room, bodies, seen, recoveries };
}

/** Takes `count` recorded values, in order. */
export async function take<T>(recorder: Recorder<T>, count: number, ms?: number): Promise<T[]> {
  const values: T[] = [];
  for (let i = 0; i < count; i++) values.push(await recorder.next(ms));
  return values;
}

/** Cuts a client off and keeps it off: the server drops it, and it stops retrying (the page is about to go). */
export async function goOffline(socket: Socket, server: PlumeServer, name: string): Promise<void> {
  const down = nextState(socket, (c) => c.to === 'reconnecting');
  server.disconnect((s) => s.assigns.name === name);
  await down;
  socket.disconnect('offline');
}
