/**
 * The Redis engine's dedupe store: one record per message id, with the
 * window as its TTL, so a retry that lands on another node, or after a
 * restart, is answered with the original outcome; and one sorted set per
 * user for its share. A claim is one script (`CLAIM`), atomic on the
 * user's slot.
 *
 * Responsible for claims, outcomes and shares in Redis. Not responsible
 * for running anything (`socket/at-most-once.ts`).
 */
import type { Claim, DedupeStore, EngineLimits, StoredOutcome } from '../engine';
import type { RedisLink } from './connection';
import { dedupeKeys } from './keys';
import { CLAIM, RELEASE } from './scripts';

interface Scripted {
  plumeClaim(record: string, index: string, ...args: Array<string | number>): Promise<[string, string | number] | [string]>;
  plumeRelease(record: string, index: string, member: string): Promise<number>;
}

/**
 * @example
 * const store = new RedisDedupeStore(link, 'plume', limits, (evicted, user) => log.warn(...));
 * await store.claim('ada\0room:a\0m1', 'ada', 30_000); // { state: 'claimed' }
 */
export class RedisDedupeStore implements DedupeStore {
  constructor(
    private readonly link: RedisLink,
    private readonly prefix: string,
    private readonly limits: EngineLimits,
    /** Called when a user's share made it forget ids younger than the window. */
    private readonly onEarlyEviction: (count: number, user: string) => void = () => {},
  ) {
    if (!(link.client as unknown as Partial<Scripted>).plumeClaim) link.client.defineCommand('plumeClaim', { numberOfKeys: 2, lua: CLAIM });
    if (!(link.client as unknown as Partial<Scripted>).plumeRelease) link.client.defineCommand('plumeRelease', { numberOfKeys: 2, lua: RELEASE });
  }

  async claim(key: string, user: string, leaseMs: number): Promise<Claim> {
    const { record, index, recordPrefix } = dedupeKeys(this.prefix, user, key);
    const reply = await this.link.command((redis) => (redis as unknown as Scripted).plumeClaim(
      record, index, Date.now(), leaseMs, this.limits.dedupeWindowMs, this.limits.dedupeMaxPerUser, record.slice(recordPrefix.length), recordPrefix,
    ));
    if (reply[0] === 'pending') return { state: 'pending' };
    if (reply[0] === 'done') return { state: 'done', outcome: JSON.parse(String(reply[1])) as StoredOutcome };
    const evicted = Number(reply[1] ?? 0);
    if (evicted > 0) this.onEarlyEviction(evicted, user);
    return { state: 'claimed' };
  }

  async settle(key: string, user: string, outcome: StoredOutcome): Promise<void> {
    const { record } = dedupeKeys(this.prefix, user, key);
    await this.link.command((redis) => redis.set(record, `d${JSON.stringify(outcome)}`, 'PX', this.limits.dedupeWindowMs));
  }

  async release(key: string, user: string): Promise<void> {
    const { record, index, recordPrefix } = dedupeKeys(this.prefix, user, key);
    // Only while still pending: a settled record (another attempt applied it after this one's lease lapsed) stays.
    await this.link.command((redis) => (redis as unknown as Scripted).plumeRelease(record, index, record.slice(recordPrefix.length)));
  }
}
