/**
 * IndexedDB access for the client: idb-keyval stores whose write
 * transactions use `durability: 'strict'`, so "stored" means on disk, not
 * just handed to the browser (Chromium's default is `relaxed`).
 *
 * Not responsible for what is stored; see `outbox/` and `positions.ts`.
 */
import { promisifyRequest, type UseStore } from 'idb-keyval';
import { PlumeError } from './errors';

/** The IndexedDB factory to use; the global one unless a test injects another. */
export type IDBFactoryLike = Pick<IDBFactory, 'open'>;

/** The global IndexedDB, or null where there is none (Node without a shim). */
export function defaultIndexedDB(): IDBFactoryLike | null {
  return (globalThis as { indexedDB?: IDBFactoryLike }).indexedDB ?? null;
}

/**
 * An idb-keyval store in its own database whose read-write transactions are
 * strict-durability.
 *
 * @example const store = strictStore('plume-outbox', 'entries'); await set('k', 1, store);
 */
export function strictStore(dbName: string, storeName: string, factory: IDBFactoryLike | null = defaultIndexedDB()): UseStore {
  if (!factory) throw new PlumeError('storage', 'IndexedDB is not available here: durable sends need it (in Node, install fake-indexeddb or pass durable: false)');
  let db: Promise<IDBDatabase> | undefined;
  const open = (): Promise<IDBDatabase> => {
    const request = factory.open(dbName);
    request.onupgradeneeded = () => request.result.createObjectStore(storeName);
    return promisifyRequest(request);
  };
  return (mode, callback) =>
    (db ??= open()).then((database) => {
      const options: IDBTransactionOptions = mode === 'readwrite' ? { durability: 'strict' } : {};
      return callback(database.transaction(storeName, mode, options).objectStore(storeName));
    });
}

/** Turns a storage failure into a PlumeError with code `storage` (quota errors included). */
export function storageError(action: string, cause: unknown): PlumeError {
  const name = (cause as { name?: string } | null)?.name;
  const quota = name === 'QuotaExceededError';
  return new PlumeError('storage', `${action} failed${quota ? ': the storage quota is full' : ''}: ${String((cause as Error)?.message ?? cause)}`, { cause });
}
