/**
 * The last delivered `(epoch, seq)` and recent message ids per topic, kept
 * in IndexedDB so that a reload resumes without duplicates or gaps.
 *
 * Writes are coalesced: while one write is in flight, later states of any
 * topic wait and go out together in the next transaction. Not responsible
 * for what the position means (`delivery.ts`).
 */
import { get, setMany, type UseStore } from 'idb-keyval';
import type { DeliveryState } from './delivery';
import type { PlumeError } from './errors';
import { storageError } from './storage';

export class Positions {
  private readonly store: UseStore | null;
  private readonly onError: (error: PlumeError) => void;
  private dirty = new Map<string, DeliveryState>();
  private writing: Promise<void> | null = null;

  /** With a null store, positions live in memory only (nothing survives a reload). */
  constructor(store: UseStore | null, onError: (error: PlumeError) => void) {
    this.store = store;
    this.onError = onError;
  }

  /** The stored state of `topic`, if any. A read failure is reported and treated as none. */
  async load(topic: string): Promise<DeliveryState | undefined> {
    if (!this.store) return undefined;
    try {
      return await get<DeliveryState>(topic, this.store);
    } catch (cause) {
      this.onError(storageError(`reading the position of ${topic}`, cause));
      return undefined;
    }
  }

  /** Records `state` for `topic`; written soon, together with other pending states. */
  save(topic: string, state: DeliveryState): void {
    if (!this.store) return;
    this.dirty.set(topic, state);
    this.writing ??= this.flush();
  }

  /** Resolves when every saved state is written. */
  async settled(): Promise<void> {
    while (this.writing) await this.writing;
  }

  private async flush(): Promise<void> {
    // Let a burst of deliveries in the same task land in one transaction.
    await Promise.resolve();
    while (this.dirty.size > 0) {
      const batch = [...this.dirty];
      this.dirty = new Map();
      try {
        await setMany(batch, this.store!);
      } catch (cause) {
        this.onError(storageError('saving delivery positions', cause));
      }
    }
    this.writing = null;
  }
}
