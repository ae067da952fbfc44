/**
 * The Redis engine's node registry: each node keeps a key with a TTL
 * alive; a node killed without a word is gone when its key expires.
 */
import type { NodeRegistry } from '../engine';
import type { RedisLink } from './connection';
import { nodeKey } from './keys';

/** @example await nodes.beat('node-a', 6_000); await nodes.alive('node-a') // true */
export class RedisNodes implements NodeRegistry {
  constructor(private readonly link: RedisLink, private readonly prefix: string) {}

  async beat(node: string, ttlMs: number): Promise<void> {
    await this.link.command((redis) => redis.set(nodeKey(this.prefix, node), String(Date.now()), 'PX', ttlMs));
  }

  async alive(node: string): Promise<boolean> {
    return (await this.link.command((redis) => redis.exists(nodeKey(this.prefix, node)))) === 1;
  }

  async leave(node: string): Promise<void> {
    await this.link.command((redis) => redis.del(nodeKey(this.prefix, node)));
  }
}
