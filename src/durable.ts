/**
 * Plume's durable storage, a separate entry point (`plume/durable`) so the
 * core client stays small: the IndexedDB outbox behind `channel.send()`,
 * the last delivered position per topic (a reload resumes without
 * duplicates or gaps), and cross-tab coordination.
 *
 * @example
 * import { Socket } from 'plume';
 * import { durable } from 'plume/durable';
 * const socket = new Socket('/socket', { params: { name: 'Ada' }, durable: durable({ name: 'chat' }) });
 * const room = socket.channel('room:lobby');
 * room.join();
 * await room.send('new_msg', { body: 'stored first, delivered once' });
 */
import type { PlumeError } from './errors';
import { Listeners, type Unsubscribe } from './listeners';
import { Flusher, type FlusherOptions, type FlushTarget } from './outbox/flusher';
import { Outbox } from './outbox/outbox';
import { webLocks } from './outbox/tabs';
import { Positions } from './positions';
import { strictStore, type IDBFactoryLike } from './storage';

/** Options for {@link durable}. */
export interface DurableOptions {
  /** Storage name; the tabs of an origin using the same name share one outbox. Default `"plume"`. */
  name?: string;
  /** The IndexedDB factory. Default: the global `indexedDB` (in Node, pass fake-indexeddb's). */
  indexedDB?: IDBFactoryLike;
}

/** Durable storage for one socket; pass it as `new Socket(url, { durable })`. */
export interface Durable {
  readonly outbox: Outbox;
  readonly positions: Positions;
  /** @internal Starts flushing one topic's outbox through a channel. */
  flusher(target: FlushTarget, options: FlusherOptions): Flusher;
  /** Observes storage failures (a full quota included). */
  onError(callback: (error: PlumeError) => void): Unsubscribe;
}

/**
 * Opens durable storage in IndexedDB. Throws a `storage` PlumeError where
 * IndexedDB is missing.
 */
export function durable(options: DurableOptions = {}): Durable {
  const name = options.name ?? 'plume';
  const errors = new Listeners<[PlumeError]>();
  const report = (error: PlumeError) => errors.emit(error);
  const outbox = new Outbox({ name, indexedDB: options.indexedDB });
  outbox.onError(report);
  const positions = new Positions(strictStore(`${name}-positions`, 'positions', options.indexedDB), report);
  const locks = webLocks();
  return {
    outbox,
    positions,
    flusher: (target, flusherOptions) => new Flusher(target, outbox, locks, flusherOptions),
    onError: (callback) => errors.on(callback),
  };
}

export { Outbox, type OutboxEntry, type OutboxStatus, type OutboxOptions } from './outbox/outbox';
export { Positions } from './positions';
