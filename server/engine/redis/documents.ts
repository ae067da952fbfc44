/**
 * The Redis engine's document store: per document (hash-tagged with its
 * topic), the merged state, the log of updates since, and a version that
 * every compaction moves on (`COMPACT`, atomic), so two nodes compacting at
 * once cannot lose an update. Documents do not expire: they outlive
 * restarts as long as Redis keeps its data.
 */
import type { DocumentStore, StoredDocument } from '../engine';
import type { RedisLink } from './connection';
import { documentKeys } from './keys';
import { COMPACT } from './scripts';

interface Scripted {
  plumeCompact(state: string, log: string, version: string, merged: Buffer, count: number, version_: number): Promise<number>;
}

/** @example const store = new RedisDocuments(link, 'plume'); await store.append('room:a', update); */
export class RedisDocuments implements DocumentStore {
  constructor(private readonly link: RedisLink, private readonly prefix: string) {
    if (!(link.client as unknown as Partial<Scripted>).plumeCompact) link.client.defineCommand('plumeCompact', { numberOfKeys: 3, lua: COMPACT });
  }

  async load(name: string): Promise<StoredDocument> {
    const keys = documentKeys(this.prefix, name);
    const [state, updates, version] = await this.link.command(async (redis) => {
      const results = await redis.multi().getBuffer(keys.state).lrangeBuffer(keys.log, 0, -1).get(keys.version).exec();
      if (!results) throw new Error('the document read was aborted');
      return results.map(([error, value]) => {
        if (error) throw error;
        return value;
      }) as [Buffer | null, Buffer[], string | null];
    });
    return { state, updates, version: Number(version ?? 0) };
  }

  async append(name: string, update: Uint8Array): Promise<number> {
    const keys = documentKeys(this.prefix, name);
    return this.link.command((redis) => redis.rpush(keys.log, Buffer.from(update)));
  }

  async compact(name: string, merged: Uint8Array, count: number, version: number): Promise<boolean> {
    const keys = documentKeys(this.prefix, name);
    const done = await this.link.command((redis) => (redis as unknown as Scripted).plumeCompact(keys.state, keys.log, keys.version, Buffer.from(merged), count, version));
    return done === 1;
  }
}
