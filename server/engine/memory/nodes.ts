/**
 * The memory engine's node registry: which in-process nodes of one
 * `MemoryStore` are alive. Responsible for beat times and nothing else.
 */
import type { NodeRegistry } from '../engine';

/** @example const nodes = new MemoryNodes(); await nodes.beat('a', 10_000); await nodes.alive('a') // true */
export class MemoryNodes implements NodeRegistry {
  private readonly until = new Map<string, number>();

  constructor(private readonly now: () => number = Date.now) {}

  beat(node: string, ttlMs: number): Promise<void> {
    this.until.set(node, this.now() + ttlMs);
    return Promise.resolve();
  }

  alive(node: string): Promise<boolean> {
    return Promise.resolve((this.until.get(node) ?? -Infinity) > this.now());
  }

  leave(node: string): Promise<void> {
    this.until.delete(node);
    return Promise.resolve();
  }
}
